// Engine::run_op: the interpreter step that maps one graph op onto the CPU kernels, taking its
// output and any scratch from the budget.
#include <algorithm>
#include <cstring>

#include "core/error.h"
#include "kernels/cpu/kernels.h"
#include "kernels/cpu/q16.h"
#include "runtime/engine.h"
#include "runtime/engine_step.h"

namespace edgerun {

namespace {
const float* bound(const Graph& g, SlotId s) {
  if (s == kNone) return nullptr;
  ER_CHECK(g.slots[s].data != nullptr, "weight ", g.slots[s].name, " is not resident");
  return g.slots[s].data;
}
}  // namespace


void Engine::run_op(const Op& op, const Step& step, std::vector<int64_t>& off, void* scratch) {
  const PassShape& st = step.shape;
  const Value& ov = g_.values[op.output];
  const int64_t rows = Graph::row_count(ov.rows, st.B, st.T, st.last_only);
  char* base = arena_.as<char>();
  float* y = reinterpret_cast<float*>(base + off[op.output]);
  auto in = [&](size_t i) {
    ER_CHECK(off[op.inputs[i]] >= 0, "input ", g_.values[op.inputs[i]].name, " of ", op.name, " not live");
    return reinterpret_cast<float*>(base + off[op.inputs[i]]);
  };
  auto in_rows = [&](size_t i) {
    return Graph::row_count(g_.values[op.inputs[i]].rows, st.B, st.T, st.last_only);
  };
  switch (op.kind) {
    case OpKind::Embeddings: {
      const int64_t n = st.B * st.T;
      loader_->gather_rows(op.slots[0], step.ids, n, y, scratch);
      const float* type_table = op.slots[2] == kNone ? nullptr : bound(g_, op.slots[2]);
      const int64_t* tt = step.tt;
      if (type_table && !tt) {  // BERT without token_type_ids: all segment 0
        auto* zeros = reinterpret_cast<int64_t*>(
            static_cast<char*>(scratch) + arena_round(loader_->row_staging_bytes(op.slots[0])));
        std::memset(zeros, 0, static_cast<size_t>(n) * 8);
        tt = zeros;
      }
      kernels::embeddings(y, st.B, st.T, ov.cols, bound(g_, op.slots[1]), st.past, type_table, tt, y);
      break;
    }
    case OpKind::PatchEmbed: {
      const int64_t C = op.p.channels, H = op.p.image_h, W = op.p.image_w, P = op.p.patch;
      const int64_t Np = (H / P) * (W / P);
      (void)Np;
      kernels::patch_embed(step.pixels, st.B, C, H, W, P, bound(g_, op.slots[0]),
                           bound(g_, op.slots[1]), bound(g_, op.slots[2]), bound(g_, op.slots[3]),
                           ov.cols, static_cast<float*>(scratch), y);
      break;
    }
    case OpKind::LayerNorm:
      kernels::layernorm(in(0), rows, ov.cols, bound(g_, op.slots[0]), bound(g_, op.slots[1]),
                         op.p.eps, y);
      break;
    case OpKind::Linear:
      if (op.p.q16) {  // docs/q16.md: int16 operands, exact GEMM, one rounding onto q_out
        const WeightSlot& w = g_.slots[op.slots[0]];
        ER_CHECK(w.data || w.data_i16, "weight ", w.name, " is not resident");
        q16::linear(in(0), in_rows(0), g_.values[op.inputs[0]].cols, w.data, w.data_i16, ov.cols,
                    bound(g_, op.slots[1]), {op.p.q_x[0], op.p.q_w, op.p.q_out}, y, scratch);
      } else if (op.p.chunk_begin >= 0) {  // rows [chunk_begin, +n) of a (cols, K) weight, written in place
        const int64_t n = g_.slots[op.slots[0]].shape[0];
        kernels::linear(in(0), in_rows(0), g_.values[op.inputs[0]].cols, bound(g_, op.slots[0]), n,
                        false, bound(g_, op.slots[1]), y + op.p.chunk_begin, ov.cols);
      } else {
        kernels::linear(in(0), in_rows(0), g_.values[op.inputs[0]].cols, bound(g_, op.slots[0]),
                        ov.cols, op.p.w_in_out, bound(g_, op.slots[1]), y);
      }
      if (g_.q16_stats) {  // calibration: the ranges this Linear's q16 form will quantize
        auto& st = g_.q16_stats->amax[static_cast<size_t>(&op - g_.ops.data())];
        st[0] = std::max(st[0], q16::max_abs(in(0), in_rows(0) * g_.values[op.inputs[0]].cols));
        st[2] = std::max(st[2], q16::max_abs(y, rows * ov.cols));
      }
      break;
    case OpKind::Activation:
      kernels::activation(in(0), rows * ov.cols, op.p.act, y);
      break;
    case OpKind::Add:
      kernels::add(in(0), in(1), rows * ov.cols, y);
      break;
    case OpKind::Attention: {
      kernels::AttentionArgs a;
      a.B = st.B;
      a.T = st.T;
      a.n_head = op.p.n_head;
      a.head_dim = op.p.head_dim;
      const int64_t D = a.n_head * a.head_dim;
      if (op.inputs.size() == 1) {  // fused (rows, 3D)
        a.q = in(0);
        a.k = in(0) + D;
        a.v = in(0) + 2 * D;
        a.q_stride = a.k_stride = a.v_stride = 3 * D;
      } else {
        a.q = in(0);
        a.k = in(1);
        a.v = in(2);
        a.q_stride = a.k_stride = a.v_stride = D;
      }
      a.out = y;
      a.scale = op.p.scale;
      a.causal = op.p.causal;
      if (op.p.use_padding_mask) a.key_mask = step.mask;
      if (op.p.kv_layer != kNone && kv_) {
        const size_t per = static_cast<size_t>(kv_B_ * a.n_head * kv_cap_ * a.head_dim);
        a.k_cache = kv_.as<float>() + per * (2 * static_cast<size_t>(op.p.kv_layer));
        a.v_cache = a.k_cache + per;
        a.cache_cap = kv_cap_;
        a.past = st.past;
      }
      ER_CHECK(a.k_cache || st.past == 0, "past tokens without a KV cache");
      a.scratch = static_cast<float*>(scratch);
      if (op.p.q16)
        q16::attention(op.p.attn, a, {op.p.q_x[0], op.p.q_x[1], op.p.q_x[2], op.p.q_mid, op.p.q_out}, scratch);
      else
        kernels::attention(op.p.attn, a);
      if (g_.q16_stats) {
        auto& st = g_.q16_stats->amax[static_cast<size_t>(&op - g_.ops.data())];
        st[1] = std::max(st[1], q16::attention_mid_amax(op.p.attn, a));
        st[2] = std::max(st[2], q16::max_abs(y, rows * ov.cols));
      }
      break;
    }
    case OpKind::SelectFirst:
    case OpKind::SelectLast: {
      const int64_t D = ov.cols;
      const float* x = in(0);
      if (op.kind == OpKind::SelectLast && !st.last_only) {
        std::memcpy(y, x, static_cast<size_t>(rows * D) * 4);
        break;
      }
      const int64_t pick = op.kind == OpKind::SelectFirst ? 0 : st.T - 1;
      for (int64_t b = 0; b < st.B; ++b)
        std::memcpy(y + b * D, x + (b * st.T + pick) * D, static_cast<size_t>(D) * 4);
      break;
    }
  }
}

}  // namespace edgerun
