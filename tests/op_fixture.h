// The op harness's fixture (tests/test_ops.cpp): one op in a graph of its own, its inputs and
// weights in memory, the plain reference it is held against, and what each precision changes.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "edgerun/types.h"
#include "graph/backend.h"
#include "graph/op_schema.h"

namespace edgerun::op_test {

// One case. Fields not used by an op kind are left at their defaults.
struct Dims {
  int64_t B = 1, T = 1, past = 0;
  int64_t K = 0, N = 0;      // Linear: in, out; LayerNorm / Activation / Add / Select / Embeddings: N = cols
  int64_t H = 0, hd = 0;     // Attention
  int64_t C = 0, S = 0, P = 0;  // PatchEmbed: channels, image side, patch
  bool bias = true, in_out = false, chunk = false;  // Linear (chunk: columns [3, 3 + N) of N + 7)
  bool fused = false, causal = false, mask = false, last_only = false;
  int64_t pad = -1;           // SelectLastNonPad: the pad id (-1: none)
  AttnVariant attn = AttnVariant::Softmax;
  ActKind act = ActKind::GeluErf;
};

struct Case {
  OpKind kind;
  Precision precision;
  Dims d;
};

// n normal values of standard deviation `scale`, reproducible from `seed`.
std::vector<float> rnd(size_t n, uint32_t seed, float scale = 1.0f);
// max |x| of n values.
double amax(const float* x, size_t n);

// A graph of one op with its inputs, weights and pass inputs in memory, and the RowGather the
// Embeddings op reads its word rows through.
struct Fixture : RowGather {
  Graph g;
  Dims d;
  PassShape shape;
  std::vector<std::vector<float>> value_data, slot_data;  // by ValueId, by SlotId
  std::vector<int64_t> ids, tt, mask;
  std::vector<float> pixels, k_cache, v_cache;
  int64_t cache_cap = 0;

  ValueId input(const std::string& name, Rows rows, int64_t cols, uint32_t seed, float scale = 1.0f) {
    ValueId v = g.add_value(name, rows, cols);
    value_data.resize(g.values.size());
    value_data[v] = rnd(static_cast<size_t>(Graph::row_count(rows, shape.B, shape.T, shape.last_only) * cols), seed, scale);
    return v;
  }
  SlotId weight(const std::string& name, Shape s, uint32_t seed, bool gather = false, float scale = 1.0f) {
    WeightSlot w;
    w.name = name;
    w.shape = s;
    w.end = static_cast<uint64_t>(shape_numel(s)) * 4;
    w.gather_rows = gather;
    SlotId id = g.add_slot(w);
    slot_data.resize(g.slots.size());
    slot_data[id] = rnd(static_cast<size_t>(shape_numel(s)), seed, scale);
    return id;
  }
  const Op& op() const { return g.ops.back(); }
  // Binds every slot to its data, as the weight loader does for a resident layer.
  void bind() {
    for (size_t s = 0; s < g.slots.size(); ++s) g.slots[s].data = slot_data[s].data();
  }
  const float* in(size_t i) const { return value_data[op().inputs[i]].data(); }
  const float* w(size_t i) const { return op().slots[i] == kNone ? nullptr : slot_data[op().slots[i]].data(); }
  size_t out_size() const { return static_cast<size_t>(op_rows(g, op(), shape) * g.values[op().output].cols); }

  uint64_t row_staging_bytes(SlotId) const override { return 0; }
  void gather_rows(SlotId s, const int64_t* rows, int64_t n, float* out, void*) override {
    const int64_t D = g.slots[s].shape[1];
    for (int64_t i = 0; i < n; ++i)
      std::memcpy(out + i * D, slot_data[s].data() + rows[i] * D, static_cast<size_t>(D) * 4);
  }
};

// The op of a case, with its inputs (f.d and f.shape set).
void build(Fixture& f, OpKind k);

struct Expected {
  std::vector<float> out, k_cache, v_cache;  // the caches after the op (attention with a KV cache)
};
// The op's result by plain loops, in fp32 as the op defines it.
Expected reference(const Fixture& f);

// bf16: weights rounded as the loader rounds them (reference and backend see the same values).
void round_weights(Fixture& f);
// q16: exponents calibrated on this case's own ranges, as models/quantize.cpp does on its data.
void calibrate_q16(Fixture& f, const std::vector<float>& ref);

}  // namespace edgerun::op_test
