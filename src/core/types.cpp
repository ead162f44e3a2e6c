// Names and parsers of the option enums (edgerun/types.h).
#include "edgerun/types.h"

#include <array>

#include "core/error.h"

namespace edgerun {

namespace {

template <typename E, size_t N>
struct NameTable {
  std::array<std::pair<E, const char*>, N> rows;
  const char* what;

  const char* name(E v) const {
    for (const auto& [e, n] : rows)
      if (e == v) return n;
    return "?";
  }
  std::vector<std::string> list() const {
    std::vector<std::string> v;
    for (const auto& [e, n] : rows) v.emplace_back(n);
    return v;
  }
  std::string names() const {
    std::string s;
    for (const auto& [e, n] : rows) s += (s.empty() ? "" : ", ") + std::string(n);
    return s;
  }
  bool find(std::string_view s, E* out) const {
    for (const auto& [e, n] : rows)
      if (s == n) {
        *out = e;
        return true;
      }
    return false;
  }
  E parse(std::string_view s) const {
    E e{};
    if (!find(s, &e)) ER_THROW(InputError, "unknown ", what, " \"", s, "\" (", names(), ")");
    return e;
  }
};

constexpr NameTable<Executor, 4> kExecutors{
    {{{Executor::Auto, "auto"}, {Executor::Resident, "resident"}, {Executor::Swap, "swap"},
      {Executor::Pipeload, "pipeload"}}},
    "executor"};
constexpr NameTable<AttnVariant, 4> kAttn{
    {{{AttnVariant::Softmax, "softmax"}, {AttnVariant::Taylor, "taylor"}, {AttnVariant::Sima, "sima"},
      {AttnVariant::Shiftmax, "shiftmax"}}},
    "attention variant"};
constexpr NameTable<Precision, 3> kPrecisions{
    {{{Precision::Fp32, "fp32"}, {Precision::Bf16, "bf16"}, {Precision::Q16, "q16"}}}, "precision"};
constexpr NameTable<IoEngine, 3> kIoEngines{
    {{{IoEngine::Auto, "auto"}, {IoEngine::Uring, "uring"}, {IoEngine::Threads, "threads"}}},
    "I/O engine"};

}  // namespace

const char* to_string(Executor v) { return kExecutors.name(v); }
const char* to_string(AttnVariant v) { return kAttn.name(v); }
const char* to_string(Precision v) { return kPrecisions.name(v); }
const char* to_string(IoEngine v) { return kIoEngines.name(v); }

Executor parse_executor(std::string_view s) { return kExecutors.parse(s); }
AttnVariant parse_attn_variant(std::string_view s) { return kAttn.parse(s); }
Precision parse_precision(std::string_view s) { return kPrecisions.parse(s); }
IoEngine parse_io_engine(std::string_view s) {
  return s == "io_uring" ? IoEngine::Uring : kIoEngines.parse(s);
}

bool parse(std::string_view s, Executor* out) { return kExecutors.find(s, out); }
bool parse(std::string_view s, AttnVariant* out) { return kAttn.find(s, out); }
bool parse(std::string_view s, Precision* out) { return kPrecisions.find(s, out); }
bool parse(std::string_view s, IoEngine* out) {
  return kIoEngines.find(s == "io_uring" ? std::string_view("uring") : s, out);
}

std::string names_of_executor() { return kExecutors.names(); }
std::string names_of_attn_variant() { return kAttn.names(); }
std::string names_of_precision() { return kPrecisions.names(); }
std::string names_of_io_engine() { return kIoEngines.names(); }

std::vector<std::string> executor_names() { return kExecutors.list(); }
std::vector<std::string> attn_variant_names() { return kAttn.list(); }
std::vector<std::string> precision_names() { return kPrecisions.list(); }
std::vector<std::string> io_engine_names() { return kIoEngines.list(); }

}  // namespace edgerun
