// CpuBackend: maps one graph op onto the CPU kernels (fp32, bf16-rounded weights computed in
// fp32, and q16), and records the q16 calibration ranges when asked.
#include "kernels/cpu/cpu_backend.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "core/error.h"
#include "kernels/cpu/kernels.h"
#include "kernels/cpu/nd_backend.h"
#include "kernels/cpu/q16.h"

namespace edgerun::kernels {

namespace {

uint64_t round64(uint64_t n) { return (n + 63) / 64 * 64; }

const float* bound(const Graph& g, SlotId s) {
  if (s == kNone) return nullptr;
  ER_CHECK(g.slots[s].data != nullptr, "weight ", g.slots[s].name, " is not resident");
  return g.slots[s].data;
}

AttentionArgs attention_args(const OpCall& c) {
  const Op& op = *c.op;
  AttentionArgs a;
  a.B = c.shape.B;
  a.T = c.shape.T;
  a.n_head = op.p.n_head;
  a.head_dim = op.p.head_dim;
  const int64_t D = a.n_head * a.head_dim;
  if (op.inputs.size() == 1) {  // fused (rows, 3D)
    a.q = c.in[0];
    a.k = c.in[0] + D;
    a.v = c.in[0] + 2 * D;
    a.q_stride = a.k_stride = a.v_stride = 3 * D;
  } else {
    a.q = c.in[0];
    a.k = c.in[1];
    a.v = c.in[2];
    a.q_stride = a.k_stride = a.v_stride = D;
  }
  a.out = c.out;
  a.scale = op.p.scale;
  a.causal = op.p.causal;
  if (op.p.use_padding_mask) a.key_mask = c.mask;
  if (op.p.kv_layer != kNone && c.k_cache) {
    a.k_cache = c.k_cache;
    a.v_cache = c.v_cache;
    a.cache_cap = c.cache_cap;
    a.past = c.shape.past;
  }
  ER_CHECK(a.k_cache || c.shape.past == 0, "past tokens without a KV cache");
  a.scratch = static_cast<float*>(c.scratch);
  return a;
}

class CpuBackend final : public Backend {
 public:
  const char* name() const override { return "cpu"; }

  Support supports(const Graph& g, const Op& op) const override {
    if (op_schema(op.kind).nd) return nd_supports(g, op);
    // int64 inputs are the pass's token ids, which the ops that read them take from OpCall::ids / tt.
    const bool reads_ids = op.kind == OpKind::Embeddings || op.kind == OpKind::SelectLastNonPad;
    for (ValueId v : op.inputs)
      if (g.values[v].dtype != DType::F32 && !(reads_ids && g.values[v].dtype == DType::I64))
        return Support::no(std::string("input ") + g.values[v].name + " is " + std::string(dtype_name(g.values[v].dtype)));
    for (size_t i = 0; i < op.slots.size(); ++i) {
      if (op.slots[i] == kNone) continue;
      const WeightSlot& w = g.slots[op.slots[i]];
      const DType d = w.file_dtype;
      const bool i16_ok = op.kind == OpKind::Linear && op.p.q16 && i == 0;
      if (!(d == DType::F32 || d == DType::BF16 || d == DType::F16 || (d == DType::I16 && i16_ok)))
        return Support::no("weight " + w.name + " is " + std::string(dtype_name(d)));
    }
    // fp32 and bf16 (weights rounded on load, computed in fp32) for every op; q16 for Linear and
    // Attention, the ops with integer kernels.
    const Precision prec = op_precision(g, op);
    if (prec == Precision::Q16 && op.kind != OpKind::Linear && op.kind != OpKind::Attention)
      return Support::no(std::string("q16 ") + op_kind_name(op.kind) + " has no kernel (q16 is Linear and Attention)");
    if (op.kind == OpKind::Linear && prec == Precision::Q16 && (op.p.w_in_out || op.p.chunk_begin >= 0))
      return Support::no("q16 Linear takes one weight stored (N, K), not a Conv1D or output chunk");
    if (op.kind == OpKind::Attention && (op.p.causal || op.p.kv_layer != kNone)) {
      if (prec == Precision::Q16) return Support::no("q16 attention is not causal and keeps no KV cache");
      if (!supports_causal(op.p.attn))
        return Support::no(std::string(to_string(op.p.attn)) + " attention is not causal and keeps no KV cache");
    }
    return Support::yes();
  }

  uint64_t scratch_bytes(const Graph& g, const Op& op, const PassShape& s,
                         const RowGather& gather) const override {
    if (op_schema(op.kind).nd) return nd_scratch_bytes(g, op);
    switch (op.kind) {
      case OpKind::Embeddings: {
        uint64_t n = gather.row_staging_bytes(op.slots[0]);
        if (op.slots[2] != kNone) n = round64(n) + static_cast<uint64_t>(s.B * s.T) * 8;  // zero token types
        return n;
      }
      case OpKind::PatchEmbed: {
        const int64_t P = op.p.patch, Np = (op.p.image_h / P) * (op.p.image_w / P);
        return static_cast<uint64_t>(Np * op.p.channels * P * P) * 4;
      }
      case OpKind::Attention: {  // per variant and precision (DESIGN.md "Numerics")
        const int64_t keys = (op.p.kv_layer != kNone ? s.past : 0) + s.T;
        if (op.p.q16) return q16::attention_scratch_bytes(op.p.attn, s.T, op.p.head_dim);
        return static_cast<uint64_t>(attention_scratch_floats(op.p.attn, s.T, keys, op.p.head_dim)) * 4;
      }
      case OpKind::Linear: {  // q16: int16 operands and the int64 accumulator
        if (!op.p.q16) return 0;
        const Value& x = g.values[op.inputs[0]];
        return q16::linear_scratch_bytes(Graph::row_count(x.rows, s.B, s.T, s.last_only), x.cols,
                                         g.values[op.output].cols, g.slots[op.slots[0]].file_dtype == DType::I16);
      }
      default: return 0;
    }
  }

  void set_threads(int n) override { set_blas_threads(n); }

  void run(const OpCall& c) override {
    if (op_schema(c.op->kind).nd) return run_nd(c);
    const Graph& g = *c.g;
    const Op& op = *c.op;
    const PassShape& st = c.shape;
    const int64_t cols = g.values[op.output].cols;
    float* y = c.out;
    switch (op.kind) {
      case OpKind::Embeddings: {
        const int64_t n = st.B * st.T;
        c.gather->gather_rows(op.slots[0], c.ids, n, y, c.scratch);
        const float* type_table = op.slots[2] == kNone ? nullptr : bound(g, op.slots[2]);
        const int64_t* tt = c.tt;
        if (type_table && !tt) {  // BERT without token_type_ids: all segment 0
          auto* zeros = reinterpret_cast<int64_t*>(static_cast<char*>(c.scratch) +
                                                   round64(c.gather->row_staging_bytes(op.slots[0])));
          std::memset(zeros, 0, static_cast<size_t>(n) * 8);
          tt = zeros;
        }
        embeddings(y, st.B, st.T, cols, bound(g, op.slots[1]), st.past, type_table, tt, y);
        break;
      }
      case OpKind::PatchEmbed:
        patch_embed(c.pixels, st.B, op.p.channels, op.p.image_h, op.p.image_w, op.p.patch,
                    bound(g, op.slots[0]), bound(g, op.slots[1]), bound(g, op.slots[2]),
                    bound(g, op.slots[3]), cols, static_cast<float*>(c.scratch), y);
        break;
      case OpKind::LayerNorm:
        layernorm(c.in[0], c.rows, cols, bound(g, op.slots[0]), bound(g, op.slots[1]), op.p.eps, y);
        break;
      case OpKind::Linear: {
        const int64_t K = g.values[op.inputs[0]].cols;
        if (op.p.q16) {  // docs/q16.md: int16 operands, exact GEMM, one rounding onto q_out
          const WeightSlot& w = g.slots[op.slots[0]];
          ER_CHECK(w.data || w.data_i16, "weight ", w.name, " is not resident");
          q16::linear(c.in[0], c.in_rows[0], K, w.data, w.data_i16, cols, bound(g, op.slots[1]),
                      {op.p.q_x[0], op.p.q_w, op.p.q_out}, y, c.scratch);
        } else if (op.p.k_begin >= 0) {  // rows [k_begin, +kt) of a (K, cols) weight, accumulated in place
          const int64_t kt = g.slots[op.slots[0]].shape[0];
          linear_row_tile(c.in[0] + op.p.k_begin, c.in_rows[0], K, kt, bound(g, op.slots[0]), cols,
                          bound(g, op.slots[1]), op.p.k_begin == 0, y);
        } else if (op.p.chunk_begin >= 0) {  // rows [chunk_begin, +n) of a (cols, K) weight, written in place
          const int64_t n = g.slots[op.slots[0]].shape[0];
          linear(c.in[0], c.in_rows[0], K, bound(g, op.slots[0]), n, false, bound(g, op.slots[1]),
                 y + op.p.chunk_begin, cols);
        } else {
          linear(c.in[0], c.in_rows[0], K, bound(g, op.slots[0]), cols, op.p.w_in_out, bound(g, op.slots[1]), y);
        }
        if (c.q16_amax) {  // calibration: the ranges this Linear's q16 form will quantize
          auto& m = *c.q16_amax;
          m[0] = std::max(m[0], q16::max_abs(c.in[0], c.in_rows[0] * K));
          m[2] = std::max(m[2], q16::max_abs(y, c.rows * cols));
        }
        break;
      }
      case OpKind::Activation:
        activation(c.in[0], c.rows * cols, op.p.act, y);
        break;
      case OpKind::Add:
        add(c.in[0], c.in[1], c.rows * cols, y);
        break;
      case OpKind::Attention: {
        const AttentionArgs a = attention_args(c);
        if (op.p.q16)
          q16::attention(op.p.attn, a, {op.p.q_x[0], op.p.q_x[1], op.p.q_x[2], op.p.q_mid, op.p.q_out}, c.scratch);
        else
          attention(op.p.attn, a);
        if (c.q16_amax) {
          auto& m = *c.q16_amax;
          m[1] = std::max(m[1], q16::attention_mid_amax(op.p.attn, a));
          m[2] = std::max(m[2], q16::max_abs(y, c.rows * cols));
        }
        break;
      }
      case OpKind::SelectFirst:
      case OpKind::SelectLast:
        // SelectLast over every token (a full-sequence pass) is the identity.
        if (op.kind == OpKind::SelectLast && !st.last_only)
          std::memcpy(y, c.in[0], static_cast<size_t>(c.rows * cols) * 4);
        else
          select_rows(c.in[0], st.B, st.T, cols, op.kind == OpKind::SelectFirst ? 0 : st.T - 1, y);
        break;
      case OpKind::SelectLastNonPad:
        // Engine::validate refuses a batch without a pad id before the pass starts.
        ER_CHECK(op.p.pad_id >= 0 || st.B == 1, op.name, ": a batch of ", st.B, " without a pad id");
        ER_CHECK(c.ids, op.name, ": no token ids");
        select_last_non_pad(c.in[0], c.ids, st.B, st.T, cols, op.p.pad_id, y);
        break;
      default:
        ER_CHECK(false, op.name, ": no CPU kernel for ", op_kind_name(op.kind));
    }
  }
};

}  // namespace

Backend& cpu_backend() {
  static CpuBackend b;
  return b;
}

NdEvaluator cpu_nd_evaluator() {
  return [](const Graph& g, const Op& op, const std::vector<Tensor>& in, const std::vector<Tensor>& out) {
    OpCall c = nd_call(g, op, in, out);
    std::vector<char> scratch(nd_scratch_bytes(g, op));
    c.scratch = scratch.data();
    cpu_backend().run(c);
  };
}

}  // namespace edgerun::kernels
