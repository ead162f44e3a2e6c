// Conv and ConvTranspose on oneDNN: convolution_forward / deconvolution_forward over 1 to 3
// spatial axes, groups and dilations, the epilogue as eltwise post-ops, a folded BatchNorm
// folded into the weights and bias in scratch (w' = w s, b' = (b - mean) s + beta with
// s = scale / sqrt(var + eps)) before the primitive runs, so the epilogue stays a post-op.
// Operands in the layout of the plan's ConvLayout; whatever is not the caller's goes through
// scratch (reorders in, and for y out). The caller's x and y are row-major or channels-last
// (Value::channels_last); the primitives' own choice is channels-last, so inside a chain of
// convs only the weights are reordered.
#include <cmath>
#include <cstring>
#include <unordered_map>

#include "core/error.h"
#include "kernels/onednn/onednn_plan.h"

namespace edgerun::onednn {

bool epilogue_post_ops(const Epilogue& e, dnnl::post_ops& po) {
  using alg = dnnl::algorithm;
  switch (e.fn) {
    case UnaryFn::Identity: return true;
    case UnaryFn::Relu: po.append_eltwise(1.0f, alg::eltwise_relu, 0.0f, 0.0f); return true;
    case UnaryFn::LeakyRelu: po.append_eltwise(1.0f, alg::eltwise_relu, e.alpha, 0.0f); return true;
    case UnaryFn::Clip: po.append_eltwise(1.0f, alg::eltwise_clip, e.lo, e.hi); return true;
    case UnaryFn::HardSwish: po.append_eltwise(1.0f, alg::eltwise_hardswish, 0.0f, 0.0f); return true;
    case UnaryFn::HardSigmoid:  // max(0, min(1, alpha x + beta)): oneDNN 2.6 has no hardsigmoid
      po.append_eltwise(1.0f, alg::eltwise_linear, e.alpha, e.beta);
      po.append_eltwise(1.0f, alg::eltwise_clip, 0.0f, 1.0f);
      return true;
    case UnaryFn::Sigmoid: po.append_eltwise(1.0f, alg::eltwise_logistic, 0.0f, 0.0f); return true;
    case UnaryFn::Tanh: po.append_eltwise(1.0f, alg::eltwise_tanh, 0.0f, 0.0f); return true;
    default: return false;
  }
}

namespace {

using dnnl::memory;

using tag = memory::format_tag;
using dt = memory::data_type;

bool is_f32(const Graph& g, ValueId v) { return v == kNone || g.values[v].dtype == DType::F32; }

// The fp32 data of a weight or constant input, bound (the loader packs a layer's weights once
// its other weights are).
const float* bound_f32(const Graph& g, ValueId v) {
  const Value& val = g.values[v];
  const float* p = nullptr;
  if (val.slot != kNone) p = g.slots[static_cast<size_t>(val.slot)].data;
  else if (val.constant != kNone) p = static_cast<const float*>(g.constants[static_cast<size_t>(val.constant)].data);
  ER_CHECK(p, "packing: ", val.name, " is not bound");
  return p;
}

// The user weights as oneDNN sees them: Conv w (M, C/g, k...) as (g, M/g, C/g, k...) (or
// (M, C, k...)), ConvTranspose w (C, M/g, k...) as (g, M/g, C/g, k...) (or (M, C, k...)), by
// strides over the caller's row-major array.
memory::desc user_weights(const Shape& w, int64_t group, bool transpose) {
  const size_t ns = w.size() - 2;
  int64_t K = 1;
  for (size_t i = 0; i < ns; ++i) K *= w[2 + i];
  const int64_t Cg = transpose ? w[0] / group : w[1];
  const int64_t Mg = transpose ? w[1] : w[0] / group;
  memory::dims d, s;
  if (group > 1) d.push_back(group), s.push_back(Mg * Cg * K);
  d.push_back(group > 1 ? Mg : Mg * group);
  s.push_back(transpose ? K : Cg * K);
  d.push_back(Cg);
  s.push_back(transpose ? Mg * K : K);
  int64_t inner = K;
  for (size_t i = 0; i < ns; ++i) {
    inner /= w[2 + i];
    d.push_back(w[2 + i]);
    s.push_back(inner);
  }
  return memory::desc(d, dt::f32, s);
}

class ConvPlan final : public Plan {
 public:
  bool transpose = false, folded_bn = false, has_bias = false, prepacked = false;
  float bn_eps = 0;
  int64_t M = 0, per_m = 0;  // output channels, weights per output channel (Conv)
  dnnl::primitive prim;
  memory::desc x_md, w_md, b_md, y_md;  // the caller's
  memory::desc px, pw, py, pad_md;      // the primitive's
  dnnl::reorder rx, rw, ry;
  bool ro_x = false, ro_w = false, ro_y = false;
  uint64_t off_fw = 0, off_fb = 0, off_x = 0, off_w = 0, off_y = 0;  // in scratch (pad at 0)

  // Folded BN: w' = w k and b' = b k + (beta - mean k), k = scale / sqrt(var + eps), per output
  // channel m (w' into fw, b' into fb; w and fw may be one buffer).
  void fold(const float* wf, const float* bf, const float* const bn[4], float* fw, float* fb) const {
    const float *scale = bn[0], *beta = bn[1], *mean = bn[2], *var = bn[3];
    for (int64_t m = 0; m < M; ++m) {
      const float k = scale[m] / std::sqrt(var[m] + bn_eps);
      for (int64_t i = 0; i < per_m; ++i) fw[m * per_m + i] = wf[m * per_m + i] * k;
      fb[m] = (bf ? bf[m] : 0.0f) * k + (beta[m] - mean[m] * k);
    }
  }

  uint64_t packed_bytes() const override {
    if (prepacked || (!ro_w && !folded_bn) || (ro_w && scratchpad_bytes(rw))) return 0;
    return round64(pw.get_size()) + (folded_bn ? round64(static_cast<uint64_t>(M) * 4) : 0);
  }

  void pack(const Graph& g, const Op& op, float* w, void* dst, dnnl::stream& s) const override {
    if (folded_bn) {
      const float* bn[4];
      for (int i = 0; i < 4; ++i) bn[i] = bound_f32(g, op.inputs[3 + static_cast<size_t>(i)]);
      const float* b = op.inputs[2] == kNone ? nullptr : bound_f32(g, op.inputs[2]);
      fold(w, b, bn, w, reinterpret_cast<float*>(static_cast<char*>(dst) + round64(pw.get_size())));
    }
    if (ro_w) run_reorder(rw, wrap(w_md, w), wrap(pw, dst), s, nullptr);
    else std::memcpy(dst, w, pw.get_size());
  }

  void run(const OpCall& c, dnnl::stream& s, const Scratch& sc) const override {
    const Tensor* in = c.t_in;
    const void* w = in[1].data;
    const void* b = c.n_in > 2 ? in[2].data : nullptr;
    if (prepacked) {
      if (folded_bn) b = static_cast<const char*>(w) + round64(pw.get_size());
    } else if (folded_bn) {  // w' and b' into scratch
      const float* bn[4] = {in[3].f32(), in[4].f32(), in[5].f32(), in[6].f32()};
      float* fw = reinterpret_cast<float*>(sc.at(off_fw));
      float* fb = reinterpret_cast<float*>(sc.at(off_fb));
      fold(static_cast<const float*>(w), static_cast<const float*>(b), bn, fw, fb);
      w = fw;
      b = fb;
    }
    std::unordered_map<int, memory> args;
    if (pad_md.get_size()) args[DNNL_ARG_SCRATCHPAD] = wrap(pad_md, sc.at(0));
    const memory* pad = pad_md.get_size() ? &args.at(DNNL_ARG_SCRATCHPAD) : nullptr;
    memory xm = wrap(x_md, in[0].data), ym = wrap(y_md, c.t_out[0].data);
    memory wm = wrap(prepacked ? pw : w_md, w);
    memory xp = xm, wp = wm, yp = ym;
    if (ro_x) run_reorder(rx, xm, xp = wrap(px, sc.at(off_x)), s, pad);
    if (ro_w && !prepacked) run_reorder(rw, wm, wp = wrap(pw, sc.at(off_w)), s, pad);
    if (ro_y) yp = wrap(py, sc.at(off_y));
    args[DNNL_ARG_SRC] = xp;
    args[DNNL_ARG_WEIGHTS] = wp;
    args[DNNL_ARG_DST] = yp;
    if (has_bias) {
      ER_CHECK(b, c.op->name, ": bias input without data");
      args[DNNL_ARG_BIAS] = wrap(b_md, b);
    }
    prim.execute(s, args);
    if (ro_y) run_reorder(ry, yp, ym, s, pad);
  }
};

}  // namespace

std::string conv_refusal(const Graph& g, const Op& op) {
  const NdAttrs& a = op.p.nd;
  const ConvParams& p = a.conv;
  const size_t ns = p.kernel.size();
  if (ns < 1 || ns > 3) return "oneDNN convolves over 1 to 3 spatial axes";
  if (op.outputs.size() > 1) return "more than one output";
  for (size_t i = 0; i < op.inputs.size(); ++i)
    if (!is_f32(g, op.inputs[i])) return "input " + g.values[op.inputs[i]].name + " is not float32";
  if (!is_f32(g, op.output)) return "output is not float32";
  if (op.inputs.size() < 2 || op.inputs[1] == kNone) return "no weights";
  if (a.folded_bn && (op.kind != OpKind::Conv || op.inputs.size() < 7)) return "folded BN without its inputs";
  dnnl::post_ops po;
  if (!epilogue_post_ops(p.epi, po)) return "epilogue has no oneDNN post-op";
  for (int64_t v : p.pads)
    if (v < 0) return "negative pads";
  return "";
}

std::unique_ptr<Plan> make_conv_plan(const Graph& g, const Op& op, ConvLayout layout, bool prepacked) {
  const NdAttrs& a = op.p.nd;
  const ConvParams& p = a.conv;
  auto plan = std::make_unique<ConvPlan>();
  plan->prepacked = prepacked;
  plan->transpose = op.kind == OpKind::ConvTranspose;
  plan->folded_bn = a.folded_bn;
  plan->bn_eps = a.bn_eps;
  const Shape& x = g.values[op.inputs[0]].dims;
  const Shape& w = g.values[op.inputs[1]].dims;
  const Shape& y = g.values[op.output].dims;
  const size_t ns = p.kernel.size();
  if (x.size() != ns + 2 || w.size() != ns + 2 || y.size() != ns + 2)
    throw dnnl::error(dnnl_invalid_arguments, "ranks of x, w, y and the kernel differ");
  plan->M = y[1];
  plan->per_m = shape_numel(w) / std::max<int64_t>(1, w[0]);
  plan->has_bias = (op.inputs.size() > 2 && op.inputs[2] != kNone) || a.folded_bn;

  memory::dims strides(ns, 1), dil(ns, 0), pl(ns, 0), pr(ns, 0);
  for (size_t i = 0; i < ns; ++i) {
    if (!p.strides.empty()) strides[i] = p.strides[i];
    if (!p.dilations.empty()) dil[i] = p.dilations[i] - 1;
    if (!p.pads.empty()) pl[i] = p.pads[i], pr[i] = p.pads[ns + i];
    if (plan->transpose) {  // the end pad that gives y's extent (output_padding folded in)
      pr[i] = (x[2 + i] - 1) * strides[i] + (p.kernel[i] - 1) * (dil[i] + 1) + 1 - pl[i] - y[2 + i];
      if (pr[i] < 0) throw dnnl::error(dnnl_unimplemented, "ConvTranspose output padding past the end pad");
    }
  }
  plan->x_md = memory::desc(to_dims(x), dt::f32, value_tag(g, op.inputs[0]));
  plan->y_md = memory::desc(to_dims(y), dt::f32, value_tag(g, op.output));
  plan->w_md = user_weights(w, p.group, plan->transpose);
  plan->b_md = memory::desc({plan->M}, dt::f32, tag::x);
  const bool any_x = layout == ConvLayout::Blocked, any_w = layout != ConvLayout::Plain;
  const memory::desc sx = any_x ? memory::desc(to_dims(x), dt::f32, tag::any) : plan->x_md;
  const memory::desc sy = any_x ? memory::desc(to_dims(y), dt::f32, tag::any) : plan->y_md;
  const memory::desc sw = any_w ? memory::desc(plan->w_md.dims(), dt::f32, tag::any) : plan->w_md;

  dnnl::primitive_attr attr = user_scratchpad_attr();
  dnnl::post_ops po;
  epilogue_post_ops(p.epi, po);
  attr.set_post_ops(po);
  const auto prop = dnnl::prop_kind::forward_inference;
  memory::desc pad;
  if (plan->transpose) {
    using D = dnnl::deconvolution_forward;
    const auto d = plan->has_bias ? D::desc(prop, dnnl::algorithm::deconvolution_direct, sx, sw, plan->b_md, sy, strides, dil, pl, pr)
                                  : D::desc(prop, dnnl::algorithm::deconvolution_direct, sx, sw, sy, strides, dil, pl, pr);
    D::primitive_desc pd(d, attr, cpu_engine());
    plan->px = pd.src_desc(), plan->pw = pd.weights_desc(), plan->py = pd.dst_desc();
    pad = pd.scratchpad_desc();
    plan->impl = pd.impl_info_str();
    plan->prim = D(pd);
  } else {
    using C = dnnl::convolution_forward;
    const auto d = plan->has_bias ? C::desc(prop, dnnl::algorithm::convolution_direct, sx, sw, plan->b_md, sy, strides, dil, pl, pr)
                                  : C::desc(prop, dnnl::algorithm::convolution_direct, sx, sw, sy, strides, dil, pl, pr);
    C::primitive_desc pd(d, attr, cpu_engine());
    plan->px = pd.src_desc(), plan->pw = pd.weights_desc(), plan->py = pd.dst_desc();
    pad = pd.scratchpad_desc();
    plan->impl = pd.impl_info_str();
    plan->prim = C(pd);
  }
  plan->ro_x = plan->px != plan->x_md;
  plan->ro_w = plan->pw != plan->w_md;
  plan->ro_y = plan->py != plan->y_md;
  // Scratch: the largest scratchpad of the primitives (they run one after another), then the
  // folded weights and bias, then the operands in the primitive's layouts (padded blocks).
  uint64_t pad_bytes = pad.get_size();
  if (plan->ro_x) plan->rx = make_reorder(plan->x_md, plan->px), pad_bytes = std::max(pad_bytes, scratchpad_bytes(plan->rx));
  if (plan->ro_w) plan->rw = make_reorder(plan->w_md, plan->pw), pad_bytes = std::max(pad_bytes, scratchpad_bytes(plan->rw));
  if (plan->ro_y) plan->ry = make_reorder(plan->py, plan->y_md), pad_bytes = std::max(pad_bytes, scratchpad_bytes(plan->ry));
  plan->pad_md = memory::desc({static_cast<int64_t>(pad_bytes)}, dt::u8, tag::x);
  if (!pad_bytes) plan->pad_md = memory::desc();
  uint64_t off = round64(pad_bytes);
  if (plan->folded_bn && !prepacked) {
    plan->off_fw = off;
    off += round64(static_cast<uint64_t>(shape_numel(w)) * 4);
    plan->off_fb = off;
    off += round64(static_cast<uint64_t>(plan->M) * 4);
  }
  if (plan->ro_x) plan->off_x = off, off += round64(plan->px.get_size());
  if (plan->ro_w && !prepacked) plan->off_w = off, off += round64(plan->pw.get_size());
  if (plan->ro_y) plan->off_y = off, off += round64(plan->py.get_size());
  plan->scratch = off;
  return plan;
}

}  // namespace edgerun::onednn
