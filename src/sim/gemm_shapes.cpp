// Graph -> GEMM list for the accelerator models (see gemm_shapes.h).
#include "sim/gemm_shapes.h"

#include <algorithm>

#include "core/error.h"
#include "graph/op_schema.h"

namespace edgerun::sim {

namespace {
constexpr int64_t kMaxTokens = 1 << 20;
}

int64_t model_tokens(const ModelInfo& info, int64_t seq) {
  if (seq < 0 || seq > kMaxTokens)
    ER_THROW(InputError, "--seq ", seq, " is outside [1, ", kMaxTokens, "]");
  if (info.family == Family::Vit) {
    if (info.patch_size <= 0 || info.image_size <= 0)
      ER_THROW(FormatError, info.dir, ": ViT without image_size / patch_size");
    const int64_t side = info.image_size / info.patch_size;
    const int64_t t = side * side + 1;
    if (seq != 0 && seq != t)
      ER_THROW(InputError, "--seq ", seq, ": a ViT's token count is fixed by its image (", side,
               "x", side, " patches + CLS = ", t, ")");
    return t;
  }
  if (seq == 0)
    ER_THROW(InputError, info.dir, ": a ", family_name(info.family),
             " model needs --seq N (tokens per sequence)");
  if (info.max_positions > 0 && seq > info.max_positions)
    ER_THROW(InputError, "--seq ", seq, " is over the model's ", info.max_positions,
             " positions");
  return seq;
}

GemmShape op_gemm(const Graph& g, const Op& op, int64_t tokens) {
  std::optional<GemmShape> s = edgerun::op_gemm(g, op, PassShape{1, tokens, 0, false});
  ER_CHECK(s.has_value(), op.name, ": not a GEMM op");
  return *s;
}

ModelWorkload graph_workload(const Graph& g, int64_t tokens, AttnVariant variant) {
  if (tokens <= 0 || tokens > kMaxTokens)
    ER_THROW(InputError, "token count ", tokens, " is outside [1, ", kMaxTokens, "]");
  if (variant == AttnVariant::Shiftmax)
    ER_THROW(UnsupportedError, "the accelerator models decompose softmax, taylor and sima attention, not shiftmax");
  ModelWorkload w;
  w.attention = variant;
  w.tokens = tokens;
  for (const Layer& layer : g.layers) {
    for (int32_t i = layer.first_op; i < layer.end_op; ++i) {
      const Op& op = g.ops[i];
      switch (op.kind) {
        case OpKind::Linear:
        case OpKind::PatchEmbed:
          w.gemms.push_back({layer.name, op_gemm(g, op, tokens)});
          break;
        case OpKind::Attention: {
          if (op.p.causal && !supports_causal(variant))
            ER_THROW(UnsupportedError, "attention '", to_string(variant), "' is not causal; ", op.name,
                     " is a causal (decoder) attention: only softmax applies");
          AttentionWork aw = attention_work(op, variant, tokens);
          for (GemmShape& s : aw.gemms) w.gemms.push_back({layer.name, std::move(s)});
          w.col_adds += aw.col_adds;
          w.elementwise += aw.elementwise;
          w.exps += aw.exps;
          ++w.n_attention;
          break;
        }
        default:
          break;  // gathers, norms, activations, adds, row selection: no GEMM
      }
    }
  }
  return w;
}

namespace {

void push_grouped(ModelWorkload& w, const std::string& layer, const std::string& name, int64_t groups, int64_t m,
                  int64_t n, int64_t k) {
  for (int64_t i = 0; i < groups; ++i)
    w.gemms.push_back({layer, GemmShape{groups > 1 ? name + "#" + std::to_string(i) : name, m, n, k}});
}

}  // namespace

ModelWorkload nd_workload(const Graph& g) {
  ModelWorkload w;
  for (const Layer& layer : g.layers)
    for (int32_t i = layer.first_op; i < layer.end_op; ++i) {
      const Op& op = g.ops[i];
      if (op.folded) continue;
      auto dims = [&](size_t k) -> const Shape& {
        ER_CHECK(k < op.inputs.size() && op.inputs[k] != kNone, op.name, ": input ", k);
        return g.values[op.inputs[k]].dims;
      };
      const Shape& y = g.values[op.output].dims;
      switch (op.kind) {
        case OpKind::Conv: {
          const Shape& wt = dims(1);  // (M, C/g, k...)
          const int64_t groups = std::max<int64_t>(1, op.p.nd.conv.group);
          const int64_t pixels = shape_numel(y) / std::max<int64_t>(1, y[1]);
          push_grouped(w, layer.name, op.name, groups, pixels, wt[0] / groups, shape_numel(wt) / std::max<int64_t>(1, wt[0]));
          break;
        }
        case OpKind::ConvTranspose: {
          const Shape& x = dims(0);
          const Shape& wt = dims(1);  // (C, M/g, k...)
          const int64_t groups = std::max<int64_t>(1, op.p.nd.conv.group);
          const int64_t pixels = shape_numel(x) / std::max<int64_t>(1, x[1]);
          push_grouped(w, layer.name, op.name, groups, pixels, shape_numel(wt) / std::max<int64_t>(1, wt[0]),
                       wt[0] / groups);
          break;
        }
        case OpKind::MatMul:
        case OpKind::Gemm: {
          const Shape& a = dims(0);
          const Shape& b = dims(1);
          const bool ta = op.kind == OpKind::Gemm && op.p.nd.gemm.trans_a;
          const bool tb = op.kind == OpKind::Gemm && op.p.nd.gemm.trans_b;
          const int64_t K = a.empty() ? 1 : (ta ? a[0] : a.back());
          const int64_t N = b.size() < 2 ? 1 : (tb ? b[b.size() - 2] : b.back());
          if (b.size() > 2) {  // batched: one GEMM per leading index of y
            const int64_t M = a.size() >= 2 ? a[a.size() - 2] : 1;
            push_grouped(w, layer.name, op.name, shape_numel(y) / std::max<int64_t>(1, M * N), M, N, K);
          } else {
            w.gemms.push_back({layer.name, GemmShape{op.name, shape_numel(a) / std::max<int64_t>(1, K), N, K}});
          }
          break;
        }
        default: break;  // pools, elementwise, data movement: no GEMM
      }
    }
  return w;
}

}  // namespace edgerun::sim
