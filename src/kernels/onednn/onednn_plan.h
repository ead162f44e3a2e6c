// Internals of the oneDNN backend: a Plan is the primitives of one op shape class (created once,
// cached by the backend) and the layout of the scratch they run in.
#pragma once
#include <dnnl.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "graph/backend.h"
#include "kernels/onednn/onednn_backend.h"

namespace edgerun::onednn {

inline uint64_t round64(uint64_t n) { return (n + 63) / 64 * 64; }

dnnl::engine& cpu_engine();

// The scratch one execution has: 64-byte aligned, `bytes` long.
struct Scratch {
  char* base = nullptr;
  uint64_t bytes = 0;
  char* at(uint64_t off) const { return base + off; }
};

class Plan {
 public:
  virtual ~Plan() = default;
  // Scratch bytes of one execution (64-byte aligned offsets from the aligned base).
  uint64_t scratch = 0;
  std::string impl;  // oneDNN's implementation name of the main primitive
  virtual void run(const OpCall& c, dnnl::stream& s, const Scratch& scratch) const = 0;
  // Weights packed once per load instead of reordered per call (Backend::pack): their bytes
  // (0: the plan reads its weights as stored), and the packing of w (plain fp32, overwritten).
  virtual uint64_t packed_bytes() const { return 0; }
  virtual void pack(const Graph& g, const Op& op, float* w, void* dst, dnnl::stream& s) const {
    (void)g, (void)op, (void)w, (void)dst, (void)s;
  }
};

// Why an op is not claimed ("" when it is); data-independent: kind, dtypes, ranks, attributes.
std::string conv_refusal(const Graph& g, const Op& op);
std::string pool_refusal(const Graph& g, const Op& op);
std::string binary_refusal(const Graph& g, const Op& op);
// For a claimed Binary of a full (N, C, spatial...) operand and one constant along every
// spatial axis ((C, 1, 1), (N, C, 1, 1), ...): the full one's index; else -1.
int per_channel_binary(const Graph& g, const Op& op);

// The primitives of an op whose dims are bound (throws dnnl::error when oneDNN has none).
// prepacked: the weights arrive packed (Plan::pack of the plan made without it).
std::unique_ptr<Plan> make_conv_plan(const Graph& g, const Op& op, ConvLayout layout, bool prepacked);
std::unique_ptr<Plan> make_pool_plan(const Graph& g, const Op& op);
std::unique_ptr<Plan> make_binary_plan(const Graph& g, const Op& op);

// Helpers shared by the op families.
// An epilogue as eltwise post-ops appended to po; false when oneDNN has no exact match.
bool epilogue_post_ops(const Epilogue& e, dnnl::post_ops& po);
dnnl::memory::dims to_dims(const Shape& s);
// ncw / nchw / ncdhw for rank 3 / 4 / 5.
dnnl::memory::format_tag plain_tag(size_t rank);
// The layout value v has (Value::channels_last): nwc / nhwc / ndhwc, or plain_tag.
dnnl::memory::format_tag value_tag(const Graph& g, ValueId v);
// The attributes every primitive of this backend carries: a user scratchpad.
dnnl::primitive_attr user_scratchpad_attr();
// A reorder from `from` to `to` (user scratchpad).
dnnl::reorder make_reorder(const dnnl::memory::desc& from, const dnnl::memory::desc& to);
uint64_t scratchpad_bytes(const dnnl::reorder& r);
// Runs r from `from` to `to`, with the user scratchpad `pad` when r has one (else pad may be null).
void run_reorder(const dnnl::reorder& r, const dnnl::memory& from, const dnnl::memory& to, dnnl::stream& s,
                 const dnnl::memory* pad);
// Whether the dims of value v are bound (known and non-negative).
bool bound_dims(const Graph& g, ValueId v);
dnnl::memory wrap(const dnnl::memory::desc& md, const void* p);

}  // namespace edgerun::onednn
