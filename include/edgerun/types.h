// Implemented in src/core/
//
// The option values of edgerun as types: executor, attention variant, precision, I/O engine.
// Each has a name, to_string() (the spelling of the CLI, config.json and the JSON report) and a parser that
// throws InputError naming the accepted values.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace edgerun {

// Who runs the layers (docs/ARCHITECTURE.md "Executors"): everything resident, SwapNet's block
// swapping, or Hermes' pipelined loading; auto lets the planner choose.
enum class Executor : uint8_t { Auto, Resident, Swap, Pipeload };

// Attention variants (DESIGN.md "Numerics"): softmax is exact; taylor (ViTALiTy, keys
// mean-centred) and sima (L1-normalized Q, K) are linear in the token count; shiftmax is the
// divider-free base-2 softmax. Only softmax is causal.
enum class AttnVariant : uint8_t { Softmax, Taylor, Sima, Shiftmax };

// What the weights and GEMMs compute in: fp32; bf16 (weights rounded to bf16 as they load);
// q16 (int16 operands with power-of-two scales from a calibration sidecar, docs/q16.md).
enum class Precision : uint8_t { Fp32, Bf16, Q16 };

// How direct weight reads are issued: io_uring where the kernel allows it, else a pread pool.
enum class IoEngine : uint8_t { Auto, Uring, Threads };

// Whether the variant can mask future keys, as causal (decoder) attention needs: softmax only.
inline bool supports_causal(AttnVariant v) { return v == AttnVariant::Softmax; }

const char* to_string(Executor v);
const char* to_string(AttnVariant v);
const char* to_string(Precision v);
const char* to_string(IoEngine v);

// "auto" | "resident" | "swap" | "pipeload"
Executor parse_executor(std::string_view s);
// "softmax" | "taylor" | "sima" | "shiftmax"
AttnVariant parse_attn_variant(std::string_view s);
// "fp32" | "bf16" | "q16"
Precision parse_precision(std::string_view s);
// "auto" | "uring" (or "io_uring") | "threads"
IoEngine parse_io_engine(std::string_view s);

// The same without throwing: false (and *out untouched) for a name that is not a value.
bool parse(std::string_view s, Executor* out);
bool parse(std::string_view s, AttnVariant* out);
bool parse(std::string_view s, Precision* out);
bool parse(std::string_view s, IoEngine* out);

// The accepted names, comma-separated, for help texts and error messages.
std::string names_of_executor();
std::string names_of_attn_variant();
std::string names_of_precision();
std::string names_of_io_engine();
// The same as lists, for option parsers' choices.
std::vector<std::string> executor_names();
std::vector<std::string> attn_variant_names();
std::vector<std::string> precision_names();
std::vector<std::string> io_engine_names();

}  // namespace edgerun
