// The op harness's fixture: builders, plain references and precisions (tests/op_fixture.h).
#include "op_fixture.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "kernels/cpu/kernels.h"
#include "kernels/cpu/q16.h"
#include "runtime/weight_loader.h"

namespace edgerun::op_test {

std::vector<float> rnd(size_t n, uint32_t seed, float scale) {
  std::mt19937 g(seed);
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(g);
  return v;
}

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

// Token ids with every padding pattern among the sequences (pad 0; the others are 1..11): the
// last two padded, one inside, all padding, the first two padded, none.
void build_select_non_pad(Fixture& f) {
  const Dims& d = f.d;
  ValueId x = f.input("x", Rows::Tokens, d.N, 27);
  ValueId ids = f.g.add_value("input_ids", Rows::Tokens, 1, DType::I64);
  f.value_data.resize(f.g.values.size());
  f.g.input_ids = ids;
  for (int64_t b = 0; b < d.B; ++b)
    for (int64_t t = 0; t < d.T; ++t) {
      const bool pad = (b % 5 == 0 && t >= d.T - 2) || (b % 5 == 1 && t == 1) || b % 5 == 2 || (b % 5 == 3 && t < 2);
      f.ids.push_back(pad && d.pad >= 0 ? d.pad : (t * 7 + b * 3) % 11 + 1);
    }
  OpParams p;
  p.pad_id = d.pad;
  f.g.add_op(OpKind::SelectLastNonPad, "last_non_pad", {x, ids}, {}, p, Rows::Batch, d.N);
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
    case OpKind::SelectLastNonPad: return build_select_non_pad(f);
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
    case OpKind::SelectLastNonPad:  // transformers: argmax over t of t * (id != pad), the first maximum
      for (int64_t b = 0; b < rows; ++b) {
        int64_t src = d.T - 1;
        if (d.pad >= 0) {
          src = 0;
          for (int64_t t = 0; t < d.T; ++t)
            if (t * (f.ids[b * d.T + t] != d.pad) > src) src = t;
        }
        std::copy(f.in(0) + (b * d.T + src) * cols, f.in(0) + (b * d.T + src + 1) * cols, r.begin() + b * cols);
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

void round_weights(Fixture& f) {
  for (size_t s = 0; s < f.g.slots.size(); ++s) {
    f.g.slots[s].round_bf16 = true;
    round_to_bf16(f.slot_data[s].data(), static_cast<int64_t>(f.slot_data[s].size()));
  }
}

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

}  // namespace edgerun::op_test
