// The op harness (in the spirit of llama.cpp's test-backend-ops): every row of cases() is one op
// on one odd shape and precision; each registered backend that claims it (graph/backend.h)
// runs it through its OpCall, and the result is held against the op's plain reference (the
// kernels' *_ref functions, or the definition written out below for ops that are copies and
// sums). One line per case: op, backend, precision, shape, error and the op's threshold.
// Error: max |got - want| / max |want| (0 when both are 0; NaN where the reference has none
// fails). EDGERUN_OPS_PERF=1 also prints each case's GFLOP/s (op_flops over the median of a few
// runs); nothing asserts on time.
// Adding a case: a row in cases(). Adding an op kind: a build_* and a reference_* below and its
// rows (OpsTable.EveryOpKindHasARow fails until it has them).
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "edgerun/edgerun.h"
#include "graph/backend.h"
#include "graph/op_schema.h"
#include "kernels/cpu/kernels.h"
#include "kernels/cpu/q16.h"
#include "models/model.h"
#include "runtime/backends.h"
#include "runtime/engine.h"
#include "runtime/weight_loader.h"
#include "test_models.h"
#include "test_util.h"

using namespace edgerun;

namespace {

// One case. Fields not used by an op kind are left at their defaults.
struct Dims {
  int64_t B = 1, T = 1, past = 0;
  int64_t K = 0, N = 0;      // Linear: in, out; LayerNorm / Activation / Add / Select / Embeddings: N = cols
  int64_t H = 0, hd = 0;     // Attention
  int64_t C = 0, S = 0, P = 0;  // PatchEmbed: channels, image side, patch
  bool bias = true, in_out = false, chunk = false;  // Linear (chunk: columns [3, 3 + N) of N + 7)
  bool fused = false, causal = false, mask = false, last_only = false;
  AttnVariant attn = AttnVariant::Softmax;
  ActKind act = ActKind::GeluErf;
};

struct Case {
  OpKind kind;
  Precision precision;
  Dims d;
};

// The error an op may show against its reference. fp32 and bf16 (the same arithmetic on rounded
// weights) allow float rounding, none where the op only copies or adds once; q16 is held against
// the fp32 reference, so its bound is the format's (15-bit mantissas, one rounding per rescale).
double threshold(OpKind k, Precision p) {
  if (p == Precision::Q16) return k == OpKind::Attention ? 2e-3 : 1e-3;
  switch (k) {
    case OpKind::Embeddings:
    case OpKind::Add:
    case OpKind::SelectFirst:
    case OpKind::SelectLast: return 0;
    case OpKind::Activation: return 1e-6;
    case OpKind::Attention: return 2e-5;
    default: return 1e-5;
  }
}

std::vector<float> rnd(size_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 g(seed);
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(g);
  return v;
}

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

// ---- builders: the op of a case, with its inputs ----

void build_embeddings(Fixture& f) {
  const Dims& d = f.d;
  const int64_t V = 11, D = d.N, n = d.B * d.T;
  ValueId ids = f.g.add_value("input_ids", Rows::Tokens, 1, DType::I64);
  ValueId tt = f.g.add_value("token_type_ids", Rows::Tokens, 1, DType::I64);
  f.value_data.resize(f.g.values.size());
  f.g.input_ids = ids;
  f.g.token_type_ids = tt;
  for (int64_t i = 0; i < n; ++i) f.ids.push_back((i * 7 + 3) % V), f.tt.push_back(i % 2);
  SlotId word = f.weight("word", {V, D}, 1, true), pos = f.weight("pos", {d.past + d.T, D}, 2),
         type = d.bias ? f.weight("type", {2, D}, 3) : kNone;
  f.g.add_op(OpKind::Embeddings, "emb", d.bias ? std::vector<ValueId>{ids, tt} : std::vector<ValueId>{ids},
             {word, pos, type}, {}, Rows::Tokens, D);
}

void build_patch_embed(Fixture& f) {
  const Dims& d = f.d;
  const int64_t Np = (d.S / d.P) * (d.S / d.P), D = d.N;
  ValueId px = f.g.add_value("pixel_values", Rows::Batch, d.C * d.S * d.S);
  f.value_data.resize(f.g.values.size());
  f.g.pixel_values = px;
  f.pixels = rnd(static_cast<size_t>(d.B * d.C * d.S * d.S), 4);
  OpParams p;
  p.channels = static_cast<int32_t>(d.C);
  p.image_h = p.image_w = static_cast<int32_t>(d.S);
  p.patch = static_cast<int32_t>(d.P);
  f.g.add_op(OpKind::PatchEmbed, "patch", {px},
             {f.weight("w", {D, d.C, d.P, d.P}, 5, false, 0.2f), f.weight("b", {D}, 6), f.weight("cls", {1, 1, D}, 7),
              f.weight("pos", {1 + Np, D}, 8)},
             p, Rows::Tokens, D);
}

void build_layernorm(Fixture& f) {
  ValueId x = f.input("x", Rows::Tokens, f.d.N, 9, 3.0f);
  OpParams p;
  p.eps = 1e-5f;
  f.g.add_op(OpKind::LayerNorm, "ln", {x}, {f.weight("g", {f.d.N}, 10), f.weight("b", {f.d.N}, 11)}, p, Rows::Tokens, f.d.N);
}

void build_linear(Fixture& f) {
  const Dims& d = f.d;
  const Rows rows = d.last_only ? Rows::TokensOrLast : Rows::Tokens;
  ValueId x = f.input("x", rows, d.K, 12);
  const float ws = 1.0f / std::sqrt(static_cast<float>(d.K));
  OpParams p;
  if (d.chunk) {  // a later chunk: columns [3, 3 + N) of an output N + 7 wide, written in place
    ValueId running = f.input("running", rows, d.N + 7, 13);
    p.chunk_begin = 3;
    f.g.add_op(OpKind::Linear, "linear", {x, running}, {f.weight("w", {d.N, d.K}, 14, false, ws), kNone}, p, rows, d.N + 7);
    return;
  }
  p.w_in_out = d.in_out;
  SlotId b = d.bias ? f.weight("b", {d.N}, 15) : kNone;
  f.g.add_op(OpKind::Linear, "linear", {x}, {f.weight("w", d.in_out ? Shape{d.K, d.N} : Shape{d.N, d.K}, 16, false, ws), b},
             p, rows, d.N);
}

void build_activation(Fixture& f) {
  ValueId x = f.input("x", Rows::Tokens, f.d.N, 17, 4.0f);
  std::vector<float>& v = f.value_data[x];  // and the tails, where approximations saturate
  const float tails[] = {0.0f, -30.0f, 30.0f, -100.0f, 100.0f};
  for (size_t i = 0; i < 5 && i < v.size(); ++i) v[v.size() - 1 - i] = tails[i];
  OpParams p;
  p.act = f.d.act;
  f.g.add_op(OpKind::Activation, "act", {x}, {}, p, Rows::Tokens, f.d.N);
}

void build_add(Fixture& f) {
  ValueId a = f.input("a", Rows::Tokens, f.d.N, 18), b = f.input("b", Rows::Tokens, f.d.N, 19);
  f.g.add_op(OpKind::Add, "add", {a, b}, {}, {}, Rows::Tokens, f.d.N);
}

void build_attention(Fixture& f) {
  const Dims& d = f.d;
  const int64_t D = d.H * d.hd, keys = d.past + d.T;
  OpParams p;
  p.n_head = static_cast<int32_t>(d.H);
  p.head_dim = static_cast<int32_t>(d.hd);
  p.causal = d.causal;
  p.use_padding_mask = d.mask;
  p.scale = 1.0f / std::sqrt(static_cast<float>(d.hd));
  p.attn = d.attn;
  std::vector<ValueId> in;
  if (d.fused) {
    in = {f.input("qkv", Rows::Tokens, 3 * D, 20)};
  } else {
    in = {f.input("q", Rows::Tokens, D, 21), f.input("k", Rows::Tokens, D, 22), f.input("v", Rows::Tokens, D, 23)};
  }
  if (d.causal) {  // a decoder's attention keeps a KV cache, its first `past` positions filled
    p.kv_layer = 0;
    f.cache_cap = keys + 2;
    f.k_cache = rnd(static_cast<size_t>(d.B * d.H * f.cache_cap * d.hd), 24);
    f.v_cache = rnd(f.k_cache.size(), 25);
  }
  if (d.mask) {  // the first sequence's last two keys are padding; a sequence of one is all padding
    f.mask.assign(static_cast<size_t>(d.B * keys), 1);
    for (int64_t j = std::max<int64_t>(0, keys - 2); j < keys; ++j) f.mask[static_cast<size_t>(j)] = 0;
  }
  f.g.add_op(OpKind::Attention, "attn", in, {}, p, Rows::Tokens, D);
}

void build_select(Fixture& f, OpKind k) {
  ValueId x = f.input("x", Rows::Tokens, f.d.N, 26);
  f.g.add_op(k, k == OpKind::SelectFirst ? "first" : "last", {x}, {}, {},
             k == OpKind::SelectFirst ? Rows::Batch : Rows::TokensOrLast, f.d.N);
}

void build(Fixture& f, OpKind k) {
  switch (k) {
    case OpKind::Embeddings: return build_embeddings(f);
    case OpKind::PatchEmbed: return build_patch_embed(f);
    case OpKind::LayerNorm: return build_layernorm(f);
    case OpKind::Linear: return build_linear(f);
    case OpKind::Activation: return build_activation(f);
    case OpKind::Add: return build_add(f);
    case OpKind::Attention: return build_attention(f);
    case OpKind::SelectFirst:
    case OpKind::SelectLast: return build_select(f, k);
  }
}

// ---- references: plain loops, in fp32 as the op defines it ----

kernels::AttentionArgs attention_args(const Fixture& f, float* out, float* kc, float* vc, float* scratch) {
  const Dims& d = f.d;
  const int64_t D = d.H * d.hd;
  kernels::AttentionArgs a;
  a.B = d.B;
  a.T = d.T;
  a.n_head = d.H;
  a.head_dim = d.hd;
  a.q = f.in(0);
  a.k = d.fused ? f.in(0) + D : f.in(1);
  a.v = d.fused ? f.in(0) + 2 * D : f.in(2);
  a.q_stride = a.k_stride = a.v_stride = d.fused ? 3 * D : D;
  a.scale = f.op().p.scale;
  a.causal = d.causal;
  a.key_mask = d.mask ? f.mask.data() : nullptr;
  if (kc) {
    a.k_cache = kc;
    a.v_cache = vc;
    a.cache_cap = f.cache_cap;
    a.past = d.past;
  }
  a.out = out;
  a.scratch = scratch;
  return a;
}

struct Expected {
  std::vector<float> out, k_cache, v_cache;  // the caches after the op (attention with a KV cache)
};

Expected reference(const Fixture& f) {
  const Dims& d = f.d;
  Expected e{{}, f.k_cache, f.v_cache};
  const Op& op = f.op();
  const int64_t cols = f.g.values[op.output].cols, rows = op_rows(f.g, op, f.shape);
  std::vector<float>& r = e.out;
  r.resize(f.out_size());
  switch (op.kind) {
    case OpKind::Embeddings:  // word[id] (+ type[tt]) + pos[past + t], transformers' order
      for (int64_t i = 0; i < rows; ++i)
        for (int64_t j = 0; j < cols; ++j) {
          float v = f.w(0)[f.ids[i] * cols + j];
          if (f.w(2)) v += f.w(2)[f.tt[i] * cols + j];
          r[i * cols + j] = v + f.w(1)[(d.past + i % d.T) * cols + j];
        }
      break;
    case OpKind::PatchEmbed:
      kernels::patch_embed_ref(f.pixels.data(), d.B, d.C, d.S, d.S, d.P, f.w(0), f.w(1), f.w(2), f.w(3), cols, r.data());
      break;
    case OpKind::LayerNorm:
      kernels::layernorm_ref(f.in(0), rows, cols, f.w(0), f.w(1), op.p.eps, r.data());
      break;
    case OpKind::Linear:
      if (d.chunk) {
        std::copy(f.value_data[op.inputs[1]].begin(), f.value_data[op.inputs[1]].end(), r.begin());
        kernels::linear_ref(f.in(0), rows, d.K, f.w(0), d.N, false, nullptr, r.data() + 3, cols);
      } else {
        kernels::linear_ref(f.in(0), rows, d.K, f.w(0), d.N, d.in_out, f.w(1), r.data());
      }
      break;
    case OpKind::Activation:
      kernels::activation_ref(f.in(0), rows * cols, op.p.act, r.data());
      break;
    case OpKind::Add:
      for (int64_t i = 0; i < rows * cols; ++i) r[i] = f.in(0)[i] + f.in(1)[i];
      break;
    case OpKind::Attention: {
      std::vector<float> scratch(static_cast<size_t>(kernels::attention_scratch_floats(d.T, d.past + d.T)));
      const kernels::AttentionArgs a =
          attention_args(f, r.data(), d.causal ? e.k_cache.data() : nullptr, e.v_cache.data(), scratch.data());
      switch (d.attn) {
        case AttnVariant::Softmax: kernels::attention_ref(a); break;
        case AttnVariant::Taylor: kernels::attention_taylor_ref(a); break;
        case AttnVariant::Sima: kernels::attention_sima_ref(a); break;
        case AttnVariant::Shiftmax: kernels::attention_shiftmax_ref(a); break;
      }
      break;
    }
    case OpKind::SelectFirst:
    case OpKind::SelectLast:
      for (int64_t b = 0; b < rows; ++b) {
        const int64_t src = rows == d.B * d.T ? b : b * d.T + (op.kind == OpKind::SelectFirst ? 0 : d.T - 1);
        std::copy(f.in(0) + src * cols, f.in(0) + (src + 1) * cols, r.begin() + b * cols);
      }
      break;
  }
  return e;
}

// ---- precisions: what a case changes in the fixture before the backend runs it ----

double amax(const float* x, size_t n) {
  double m = 0;
  for (size_t i = 0; i < n; ++i) m = std::max(m, static_cast<double>(std::fabs(x[i])));
  return m;
}

// bf16: weights rounded as the loader rounds them (reference and backend see the same values).
void round_weights(Fixture& f) {
  for (size_t s = 0; s < f.g.slots.size(); ++s) {
    f.g.slots[s].round_bf16 = true;
    round_to_bf16(f.slot_data[s].data(), static_cast<int64_t>(f.slot_data[s].size()));
  }
}

// q16: exponents calibrated on this case's own ranges, as models/quantize.cpp does on its data.
void calibrate_q16(Fixture& f, const std::vector<float>& ref) {
  Op& op = f.g.ops.back();
  op.p.q16 = true;
  op.p.q_out = static_cast<int8_t>(q16::exponent_for(amax(ref.data(), ref.size())));
  if (op.kind == OpKind::Linear) {
    op.p.q_x[0] = static_cast<int8_t>(q16::exponent_for(amax(f.in(0), f.value_data[op.inputs[0]].size())));
    op.p.q_w = static_cast<int8_t>(q16::exponent_for(amax(f.w(0), f.slot_data[op.slots[0]].size())));
    return;
  }
  std::vector<float> out(ref.size());
  const kernels::AttentionArgs a = attention_args(f, out.data(), nullptr, nullptr, nullptr);
  const int64_t D = f.d.H * f.d.hd, n = f.d.B * f.d.T;
  const float* qkv[3] = {a.q, a.k, a.v};
  for (int i = 0; i < 3; ++i) {
    double m = 0;
    for (int64_t r = 0; r < n; ++r) m = std::max(m, amax(qkv[i] + r * a.q_stride, static_cast<size_t>(D)));
    op.p.q_x[i] = static_cast<int8_t>(q16::exponent_for(m));
  }
  op.p.q_mid = static_cast<int8_t>(q16::exponent_for(q16::attention_mid_amax(op.p.attn, a)));
}

// ---- running a case on a backend ----

OpCall call_for(Fixture& f, float* out, void* scratch, std::vector<float>& kc, std::vector<float>& vc) {
  OpCall c;
  c.g = &f.g;
  c.op = &f.op();
  c.shape = f.shape;
  const Op& op = f.op();
  for (size_t i = 0; i < op.inputs.size(); ++i) {
    if (f.g.values[op.inputs[i]].dtype != DType::F32) continue;
    c.in[i] = f.value_data[op.inputs[i]].data();
    c.in_rows[i] = op_input_rows(f.g, op, i, f.shape);
  }
  c.out = out;
  c.rows = op_rows(f.g, op, f.shape);
  c.ids = f.ids.empty() ? nullptr : f.ids.data();
  c.tt = f.d.bias && !f.tt.empty() ? f.tt.data() : nullptr;
  c.mask = f.mask.empty() ? nullptr : f.mask.data();
  c.pixels = f.pixels.empty() ? nullptr : f.pixels.data();
  if (!kc.empty()) {
    c.k_cache = kc.data();
    c.v_cache = vc.data();
    c.cache_cap = f.cache_cap;
  }
  c.scratch = scratch;
  c.gather = &f;
  return c;
}

double rel_to_max(const std::vector<float>& got, const std::vector<float>& want) {
  const double m = amax(want.data(), want.size());
  const double e = edgerun::test::max_abs_err(got.data(), want.data(), want.size());
  return m > 0 ? e / m : e;
}

std::string describe(const Case& c) {
  const Dims& d = c.d;
  std::string s = "B" + std::to_string(d.B) + " T" + std::to_string(d.T);
  auto add = [&](const char* k, int64_t v) { s += std::string(" ") + k + std::to_string(v); };
  if (d.past) add("past", d.past);
  switch (c.kind) {
    case OpKind::Linear:
      add("K", d.K), add("N", d.N);
      s += d.chunk ? " chunk" : d.in_out ? " (K,N)" : "";
      s += d.bias ? "" : " nobias";
      s += d.last_only ? " last" : "";
      break;
    case OpKind::Attention:
      add("H", d.H), add("hd", d.hd);
      s += std::string(" ") + to_string(d.attn) + (d.fused ? " fused" : "") + (d.causal ? " causal" : "") +
           (d.mask ? " mask" : "");
      break;
    case OpKind::PatchEmbed: add("C", d.C), add("S", d.S), add("P", d.P), add("D", d.N); break;
    case OpKind::Activation: {
      const char* names[] = {"gelu", "gelu_tanh", "relu", "tanh", "quick_gelu", "silu"};
      add("N", d.N);
      s += std::string(" ") + names[static_cast<int>(d.act)];
      break;
    }
    case OpKind::Embeddings: add("D", d.N); s += d.bias ? " types" : ""; break;
    default: add("N", d.N); s += d.last_only ? " last" : "";
  }
  return s;
}

Dims lin(int64_t B, int64_t T, int64_t K, int64_t N) {
  Dims d;
  d.B = B, d.T = T, d.K = K, d.N = N;
  return d;
}
Dims cols(int64_t B, int64_t T, int64_t N) {
  Dims d;
  d.B = B, d.T = T, d.N = N;
  return d;
}
Dims attn(int64_t B, int64_t T, int64_t H, int64_t hd, AttnVariant v = AttnVariant::Softmax) {
  Dims d;
  d.B = B, d.T = T, d.H = H, d.hd = hd, d.attn = v;
  return d;
}
template <typename F>
Dims with(Dims d, F f) {
  f(d);
  return d;
}

constexpr Precision F32 = Precision::Fp32, BF16 = Precision::Bf16, Q16 = Precision::Q16;
constexpr AttnVariant kTaylor = AttnVariant::Taylor, kSima = AttnVariant::Sima, kShift = AttnVariant::Shiftmax;

// The table: the shapes are odd on purpose (1, primes, not multiples of the SIMD width, a
// sequence of padding only, past > 0).
const std::vector<Case>& cases() {
  static const std::vector<Case> t = {
      {OpKind::Embeddings, F32, cols(1, 1, 1)},
      {OpKind::Embeddings, F32, with(cols(2, 3, 17), [](Dims& d) { d.bias = false; d.past = 4; })},
      {OpKind::Embeddings, F32, cols(3, 5, 33)},
      {OpKind::PatchEmbed, F32, with(cols(1, 5, 7), [](Dims& d) { d.C = 3, d.S = 8, d.P = 4; })},
      {OpKind::PatchEmbed, F32, with(cols(2, 10, 17), [](Dims& d) { d.C = 1, d.S = 9, d.P = 3; })},
      {OpKind::PatchEmbed, BF16, with(cols(1, 5, 7), [](Dims& d) { d.C = 3, d.S = 8, d.P = 4; })},
      {OpKind::LayerNorm, F32, cols(1, 1, 1)},
      {OpKind::LayerNorm, F32, cols(1, 3, 17)},
      {OpKind::LayerNorm, F32, cols(2, 17, 769)},
      {OpKind::LayerNorm, BF16, cols(1, 3, 17)},
      {OpKind::Linear, F32, lin(1, 1, 1, 1)},
      {OpKind::Linear, F32, lin(1, 3, 65, 33)},
      {OpKind::Linear, F32, lin(1, 17, 33, 31)},
      {OpKind::Linear, F32, with(lin(1, 17, 33, 31), [](Dims& d) { d.in_out = true; })},
      {OpKind::Linear, F32, with(lin(2, 3, 64, 129), [](Dims& d) { d.bias = false; })},
      {OpKind::Linear, F32, with(lin(1, 4, 9, 5), [](Dims& d) { d.chunk = true; })},
      {OpKind::Linear, F32, with(lin(2, 3, 9, 5), [](Dims& d) { d.chunk = true, d.last_only = true; })},
      {OpKind::Linear, BF16, lin(1, 17, 33, 31)},
      {OpKind::Linear, BF16, with(lin(1, 3, 33, 19), [](Dims& d) { d.in_out = true; })},
      {OpKind::Linear, Q16, lin(1, 1, 1, 1)},
      {OpKind::Linear, Q16, lin(1, 17, 33, 31)},
      {OpKind::Linear, Q16, with(lin(2, 3, 64, 129), [](Dims& d) { d.bias = false; })},
      {OpKind::Activation, F32, with(cols(1, 3, 17), [](Dims& d) { d.act = ActKind::GeluErf; })},
      {OpKind::Activation, F32, with(cols(1, 3, 17), [](Dims& d) { d.act = ActKind::GeluTanh; })},
      {OpKind::Activation, F32, with(cols(2, 17, 31), [](Dims& d) { d.act = ActKind::Relu; })},
      {OpKind::Activation, F32, with(cols(1, 17, 31), [](Dims& d) { d.act = ActKind::Tanh; })},
      {OpKind::Activation, F32, with(cols(1, 1, 1001), [](Dims& d) { d.act = ActKind::QuickGelu; })},
      {OpKind::Activation, F32, with(cols(1, 1, 1001), [](Dims& d) { d.act = ActKind::Silu; })},
      {OpKind::Add, F32, cols(1, 1, 1)},
      {OpKind::Add, F32, cols(3, 17, 33)},
      {OpKind::Attention, F32, attn(1, 1, 1, 1)},
      {OpKind::Attention, F32, with(attn(2, 7, 3, 5), [](Dims& d) { d.mask = true; })},
      {OpKind::Attention, F32, with(attn(2, 9, 3, 16), [](Dims& d) { d.fused = d.causal = true; })},
      {OpKind::Attention, F32, with(attn(2, 1, 3, 5), [](Dims& d) { d.fused = d.causal = true, d.past = 6; })},
      {OpKind::Attention, F32, with(attn(1, 3, 4, 3), [](Dims& d) { d.fused = d.causal = true, d.past = 4; })},
      {OpKind::Attention, F32, with(attn(2, 2, 2, 5), [](Dims& d) { d.mask = true; })},
      {OpKind::Attention, F32, with(attn(2, 2, 2, 5), [](Dims& d) { d.fused = d.causal = d.mask = true, d.past = 3; })},
      {OpKind::Attention, F32, with(attn(2, 2, 3, 5, kTaylor), [](Dims& d) { d.mask = true; })},
      {OpKind::Attention, F32, with(attn(2, 2, 3, 5, kSima), [](Dims& d) { d.mask = true; })},
      {OpKind::Attention, F32, with(attn(1, 17, 2, 7, kTaylor), [](Dims& d) { d.mask = true; })},
      {OpKind::Attention, F32, with(attn(2, 3, 3, 5, kTaylor), [](Dims& d) { d.fused = true; })},
      {OpKind::Attention, F32, with(attn(1, 17, 2, 7, kSima), [](Dims& d) { d.mask = true; })},
      {OpKind::Attention, F32, with(attn(2, 3, 3, 5, kSima), [](Dims& d) { d.fused = true; })},
      {OpKind::Attention, F32, with(attn(1, 17, 2, 7, kShift), [](Dims& d) { d.mask = true; })},
      {OpKind::Attention, F32, attn(2, 1, 3, 5, kShift)},
      {OpKind::Attention, Q16, with(attn(2, 7, 3, 5), [](Dims& d) { d.mask = true; })},
      {OpKind::Attention, Q16, with(attn(1, 17, 2, 16), [](Dims& d) { d.fused = true; })},
      {OpKind::Attention, Q16, with(attn(1, 17, 2, 7, kTaylor), [](Dims& d) { d.mask = true; })},
      {OpKind::Attention, Q16, with(attn(1, 17, 2, 7, kSima), [](Dims& d) { d.mask = true; })},
      {OpKind::Attention, Q16, with(attn(2, 2, 3, 5, kTaylor), [](Dims& d) { d.mask = true; })},
      {OpKind::Attention, Q16, with(attn(2, 3, 3, 5, kShift), [](Dims& d) { d.mask = true; })},
      {OpKind::SelectFirst, F32, cols(1, 1, 1)},
      {OpKind::SelectFirst, F32, cols(3, 17, 33)},
      {OpKind::SelectLast, F32, cols(3, 17, 33)},
      {OpKind::SelectLast, F32, with(cols(3, 17, 33), [](Dims& d) { d.last_only = true; })},
  };
  return t;
}

// The median wall time of a few runs of f, in seconds.
template <typename F>
double median_seconds(F&& f) {
  std::vector<double> s;
  for (int i = 0; i < 7; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    f();
    s.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(s.begin(), s.end());
  return s[s.size() / 2];
}

}  // namespace

TEST(OpsTable, EveryOpKindHasARow) {
  std::vector<bool> seen(kOpKindCount, false);
  for (const Case& c : cases()) seen[static_cast<size_t>(c.kind)] = true;
  for (int k = 0; k < kOpKindCount; ++k)
    EXPECT_TRUE(seen[static_cast<size_t>(k)]) << op_kind_name(static_cast<OpKind>(k)) << " has no row";
}

TEST(Ops, EveryCaseOnEveryBackendMatchesItsReference) {
  register_builtin_backends();
  const bool perf = std::getenv("EDGERUN_OPS_PERF") && std::string(std::getenv("EDGERUN_OPS_PERF")) == "1";
  int ran = 0;
  for (const Case& c : cases()) {
    Fixture f;
    f.d = c.d;
    f.shape = {c.d.B, c.d.T, c.d.past, c.d.last_only};
    build(f, c.kind);
    if (c.precision == BF16) round_weights(f);
    f.bind();
    const Expected expected = reference(f);
    const std::vector<float>& want = expected.out;
    if (c.precision == Q16) calibrate_q16(f, want);
    ASSERT_EQ(op_precision(f.g, f.op()), c.precision) << describe(c);
    bool claimed = false;
    for (Backend* b : backends()) {
      const Support s = b->supports(f.g, f.op());
      if (!s.ok) {
        std::printf("%-11s %-5s %-5s %-40s skipped: %s\n", op_kind_name(c.kind), b->name(), to_string(c.precision),
                    describe(c).c_str(), s.reason.c_str());
        continue;
      }
      claimed = true;
      std::vector<float> got(f.out_size(), NAN);
      if (c.kind == OpKind::Linear && c.d.chunk)  // in place: the running output is the output buffer
        std::copy(f.value_data[f.op().inputs[1]].begin(), f.value_data[f.op().inputs[1]].end(), got.begin());
      std::vector<char> scratch(std::max<uint64_t>(1, b->scratch_bytes(f.g, f.op(), f.shape, f)));
      std::vector<float> kc = f.k_cache, vc = f.v_cache;
      OpCall call = call_for(f, got.data(), scratch.data(), kc, vc);
      if (c.kind == OpKind::Linear && c.d.chunk) call.in[1] = got.data();
      b->run(call);
      const double err = rel_to_max(got, want), limit = threshold(c.kind, c.precision);
      const bool ok = err <= limit;
      std::printf("%-11s %-5s %-5s %-40s err %.2e <= %.0e %s", op_kind_name(c.kind), b->name(), to_string(c.precision),
                  describe(c).c_str(), err, limit, ok ? "ok" : "FAIL");
      if (perf) {
        const double sec = median_seconds([&] {
          std::vector<float> k2 = f.k_cache, v2 = f.v_cache;
          OpCall p = call_for(f, got.data(), scratch.data(), k2, v2);
          if (c.kind == OpKind::Linear && c.d.chunk) p.in[1] = got.data();
          b->run(p);
        });
        std::printf("  %.3f GFLOP/s", op_flops(f.g, f.op(), f.shape) / sec / 1e9);
      }
      std::printf("\n");
      // A KV cache is data, not arithmetic: the new keys and values land exactly where the
      // reference puts them (positions [past, past + T) of each (sequence, head)).
      EXPECT_TRUE(kc == expected.k_cache && vc == expected.v_cache) << describe(c) << ": KV cache differs";
      EXPECT_LE(err, limit) << op_kind_name(c.kind) << " on " << b->name() << ", " << to_string(c.precision)
                                  << ", " << describe(c);
      ++ran;
    }
    EXPECT_TRUE(claimed) << op_kind_name(c.kind) << " " << describe(c) << ": no backend claims this case";
  }
  EXPECT_GT(ran, 0);
}
