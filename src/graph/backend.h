// The backend interface (in the spirit of ggml-backend): a backend has a name, says which ops it
// supports (kind, dtypes, precision, shapes) and why not, reports the scratch an op needs for a
// pass shape so that the engine takes it from the MemoryBudget's activation arena, and runs one
// op from an OpCall. Executors and the engine dispatch through it and know no kernel, so another
// backend (oneDNN, CUDA) plugs in by implementing this class in its own module and being
// registered; executors, planner and models stay as they are.
// Buffers: a backend allocates nothing outside the budget. Per-pass scratch is what
// scratch_bytes() reports; anything it keeps across passes (packed weights) it must take from
// the MemoryBudget given to prepare(), which the engine calls before any pass.
// Registration is explicit (register_backend, called by the runtime): a static initializer in a
// static library is dropped by the linker when nothing else references its object file.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "graph/op_schema.h"

namespace edgerun {

class MemoryBudget;

// Rows of an embedding table read on demand (the table is never resident whole): the runtime's
// weight loader implements it; tests implement it over a table in memory.
class RowGather {
 public:
  virtual ~RowGather() = default;
  // Staging bytes gather_rows needs for slot s (part of the op's scratch).
  virtual uint64_t row_staging_bytes(SlotId s) const = 0;
  // Rows `ids` (n) of gather_rows slot s (V, D) into out (n, D) as fp32; ids are checked.
  virtual void gather_rows(SlotId s, const int64_t* ids, int64_t n, float* out, void* staging) = 0;
};

// Whether a backend runs an op, and if not, why (in words, for the error message).
struct Support {
  bool ok = true;
  std::string reason;
  static Support yes() { return {}; }
  static Support no(std::string why) { return {false, std::move(why)}; }
};

// Everything one op's execution needs. Built by the engine per op; pointers are into the
// activation arena, the KV cache and the bound weight slots (Graph::slots[...].data).
struct OpCall {
  const Graph* g = nullptr;
  const Op* op = nullptr;
  PassShape shape;
  static constexpr int kMaxInputs = 3;
  const float* in[kMaxInputs] = {nullptr, nullptr, nullptr};  // op.inputs, fp32 row blocks
  int64_t in_rows[kMaxInputs] = {0, 0, 0};
  float* out = nullptr;
  int64_t rows = 0;                  // of the output
  const int64_t* ids = nullptr;      // (B, T) token ids
  const int64_t* tt = nullptr;       // (B, T) token types or null
  const int64_t* mask = nullptr;     // (B, past + T) attention mask or null
  const float* pixels = nullptr;     // (B, C, H, W)
  // KV cache of this op's kv_layer: (B, H, cache_cap, hd) each; null without a cache.
  float* k_cache = nullptr;
  float* v_cache = nullptr;
  int64_t cache_cap = 0;
  void* scratch = nullptr;           // scratch_bytes() bytes
  RowGather* gather = nullptr;       // embedding rows
  // Calibration (models/quantize.cpp): max |x| of this op's {input, intermediate, output}, to
  // be raised by the backend's fp32 pass; null when not calibrating.
  std::array<double, 3>* q16_amax = nullptr;
  // N-D kinds: every input (an absent optional one has null data) and every output, with the
  // dims and dtypes the bind gave them (in[], out and rows are unused).
  const Tensor* t_in = nullptr;
  int n_in = 0;
  const Tensor* t_out = nullptr;
  int n_out = 0;
};

// The call of an N-D op over its input and output Tensors (no scratch, no row gather).
inline OpCall nd_call(const Graph& g, const Op& op, const std::vector<Tensor>& in, const std::vector<Tensor>& out) {
  OpCall c;
  c.g = &g;
  c.op = &op;
  c.t_in = in.data();
  c.n_in = static_cast<int>(in.size());
  c.t_out = out.data();
  c.n_out = static_cast<int>(out.size());
  return c;
}

class Backend {
 public:
  virtual ~Backend() = default;
  virtual const char* name() const = 0;
  // Whether this backend runs op (its kind, weights' dtypes, precision and shapes).
  virtual Support supports(const Graph& g, const Op& op) const = 0;
  // Scratch bytes op needs for a pass of shape s (0: none). The engine carves them from the
  // budgeted activation arena, in the dry run that sizes it as in the pass itself.
  virtual uint64_t scratch_bytes(const Graph& g, const Op& op, const PassShape& s,
                                 const RowGather& gather) const = 0;
  // Once before the passes of a graph: buffers it keeps across passes come from `budget`.
  virtual void prepare(const Graph& g, MemoryBudget& budget) { (void)g, (void)budget; }
  virtual void set_threads(int n) { (void)n; }
  // Weights kept in this backend's own layout: the bytes op's input k (a weight) takes packed,
  // 0 to keep it as stored (the default). A packed weight is packed by pack() as its layer is
  // loaded, by every executor alike, and the op then reads it packed (WeightSlot::packer).
  virtual uint64_t packed_bytes(const Graph& g, const Op& op, size_t k) const { (void)g, (void)op, (void)k; return 0; }
  // Writes op's input k into dst (packed_bytes long) from its plain fp32 values w, which it may
  // overwrite (the loader's read buffer); the op's other weight inputs are bound.
  virtual void pack(const Graph& g, const Op& op, size_t k, float* w, void* dst) { (void)g, (void)op, (void)k, (void)w, (void)dst; }
  // The input that this backend reads channels-last as well as row-major, with output 0 (it
  // reads Value::channels_last of both when it runs): a conv's x; -1 when none (the default).
  virtual int channels_last_input(const Graph& g, const Op& op) const { (void)g, (void)op; return -1; }
  // Runs one op. Must not allocate outside call.scratch (or what prepare() took).
  virtual void run(const OpCall& call) = 0;
};

// The registry: backends in order of preference (the first that supports an op runs it).
// Register before building engines: registration locks, reading the list does not.
void register_backend(Backend* b);  // idempotent for the same pointer
void unregister_backend(Backend* b);  // tests
const std::vector<Backend*>& backends();
Backend* find_backend(const std::string& name);

// For each op of g, the first registered backend that supports it. UnsupportedError naming the
// op kind, the node and every backend's reason when one is supported by none.
std::vector<Backend*> assign_backends(const Graph& g);

// Sets Value::channels_last on the activations that connect only ops which run channels-last
// (Backend::channels_last_input) and elementwise ops whose inputs and output have one shape (which
// read and write the same positions in any layout), so that a chain of convolutions converts
// its activations once, at the chain's ends, not per op. Graph inputs and outputs, weights and
// constants stay row-major. A fixed rule of the graph and its backends: the same for every
// executor and budget.
void assign_layouts(Graph& g, const std::vector<Backend*>& backends);

// Sets WeightSlot::packer on the fp32 weights whose one consumer's backend packs them
// (Backend::packed_bytes), and clears it elsewhere. True when that changed any slot (weights
// loaded before must then be loaded again).
bool assign_packing(Graph& g, const std::vector<Backend*>& backends);

}  // namespace edgerun
