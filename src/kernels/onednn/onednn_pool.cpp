// MaxPool, AveragePool and the global pools on oneDNN's pooling_v2 (dilations) over 1 to 3
// spatial axes, on the caller's plain (N, C, spatial...) tensors. A ceil_mode output extends the
// end pad to the extent y has; an average that counts padding would then count positions the
// reference does not (those past the pads), so that case is refused.
#include <algorithm>
#include <unordered_map>

#include "core/error.h"
#include "kernels/onednn/onednn_plan.h"

namespace edgerun::onednn {

namespace {

using dnnl::memory;

// y in x's layout; when the caller's y has the other layout, through scratch and a reorder.
class PoolPlan final : public Plan {
 public:
  dnnl::primitive prim;
  memory::desc x_md, y_md, py, pad_md;
  dnnl::reorder ry;
  bool ro_y = false;
  uint64_t off_y = 0;

  void run(const OpCall& c, dnnl::stream& s, const Scratch& sc) const override {
    const memory ym = wrap(y_md, c.t_out[0].data);
    const memory yp = ro_y ? wrap(py, sc.at(off_y)) : ym;
    std::unordered_map<int, memory> args{{DNNL_ARG_SRC, wrap(x_md, c.t_in[0].data)}, {DNNL_ARG_DST, yp}};
    if (pad_md.get_size()) args[DNNL_ARG_SCRATCHPAD] = wrap(pad_md, sc.at(0));
    prim.execute(s, args);
    if (ro_y) run_reorder(ry, yp, ym, s, pad_md.get_size() ? &args.at(DNNL_ARG_SCRATCHPAD) : nullptr);
  }
};

bool global(const PoolParams& p) { return p.kind == PoolKind::GlobalAverage || p.kind == PoolKind::GlobalMax; }

}  // namespace

std::string pool_refusal(const Graph& g, const Op& op) {
  const PoolParams& p = op.p.nd.pool;
  if (op.outputs.size() > 1) return "MaxPool's Indices output";
  const ValueId x = op.inputs.empty() ? kNone : op.inputs[0];
  if (x == kNone || g.values[x].dtype != DType::F32 || g.values[op.output].dtype != DType::F32)
    return "oneDNN pools float32";
  if (!global(p) && (p.kernel.empty() || p.kernel.size() > 3)) return "oneDNN pools over 1 to 3 spatial axes";
  if (global(p) && bound_dims(g, x) && (g.values[x].dims.size() < 3 || g.values[x].dims.size() > 5))
    return "oneDNN pools over 1 to 3 spatial axes";
  for (int64_t v : p.pads)
    if (v < 0) return "negative pads";
  return "";
}

std::unique_ptr<Plan> make_pool_plan(const Graph& g, const Op& op) {
  const PoolParams& p = op.p.nd.pool;
  const Shape& x = g.values[op.inputs[0]].dims;
  const Shape& y = g.values[op.output].dims;
  const size_t ns = x.size() - 2;
  if (x.size() < 3 || x.size() > 5 || y.size() != x.size() || (!global(p) && p.kernel.size() != ns))
    throw dnnl::error(dnnl_invalid_arguments, "ranks of x, y and the kernel differ");
  memory::dims k(ns), st(ns, 1), dil(ns, 0), pl(ns, 0), pr(ns, 0);
  for (size_t i = 0; i < ns; ++i) {
    if (global(p)) {
      k[i] = x[2 + i];
      continue;
    }
    k[i] = p.kernel[i];
    if (!p.strides.empty()) st[i] = p.strides[i];
    if (!p.dilations.empty()) dil[i] = p.dilations[i] - 1;
    if (!p.pads.empty()) pl[i] = p.pads[i], pr[i] = p.pads[ns + i];
    // The end pad that gives y's extent (ceil_mode windows past the input).
    const int64_t need = (y[2 + i] - 1) * st[i] + (k[i] - 1) * (dil[i] + 1) + 1 - x[2 + i] - pl[i];
    if (need > pr[i]) {
      if (p.kind == PoolKind::Average && p.count_include_pad)
        throw dnnl::error(dnnl_unimplemented, "ceil_mode AveragePool counting pads past the end pad");
      pr[i] = need;
    }
  }
  auto plan = std::make_unique<PoolPlan>();
  plan->x_md = memory::desc(to_dims(x), memory::data_type::f32, value_tag(g, op.inputs[0]));
  plan->y_md = memory::desc(to_dims(y), memory::data_type::f32, value_tag(g, op.output));
  plan->py = memory::desc(to_dims(y), memory::data_type::f32, value_tag(g, op.inputs[0]));
  using alg = dnnl::algorithm;
  const bool is_max = p.kind == PoolKind::Max || p.kind == PoolKind::GlobalMax;
  const alg a = is_max ? alg::pooling_max
                       : (p.count_include_pad && !global(p) ? alg::pooling_avg_include_padding : alg::pooling_avg_exclude_padding);
  using P = dnnl::pooling_v2_forward;
  const P::desc d(dnnl::prop_kind::forward_inference, a, plan->x_md, plan->py, st, k, dil, pl, pr);
  P::primitive_desc pd(d, user_scratchpad_attr(), cpu_engine());
  uint64_t pad_bytes = pd.scratchpad_desc().get_size();
  if (plan->py != plan->y_md) {
    plan->ry = make_reorder(plan->py, plan->y_md);
    pad_bytes = std::max(pad_bytes, scratchpad_bytes(plan->ry));
    plan->ro_y = true;
    plan->off_y = round64(pad_bytes);
  }
  plan->pad_md = pad_bytes ? memory::desc({static_cast<int64_t>(pad_bytes)}, memory::data_type::u8, memory::format_tag::x)
                           : memory::desc();
  plan->scratch = plan->ro_y ? plan->off_y + round64(plan->py.get_size()) : round64(pad_bytes);
  plan->impl = pd.impl_info_str();
  plan->prim = P(pd);
  return plan;
}

}  // namespace edgerun::onednn
