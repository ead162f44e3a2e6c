// The shape rules of Conv, ConvTranspose and the pools: output extents, and pads made explicit
// from auto_pad (ONNX semantics, opsets 11 to 17).
#include <algorithm>

#include "graph/nd_infer_util.h"

namespace edgerun::nd_rules {

namespace {

// Spatial output extents of a conv or pool, with pads made explicit from auto_pad.
void conv_like(const Op& op, const Shape& x, const std::vector<int64_t>& kernel, std::vector<int64_t>& strides,
               std::vector<int64_t>& dilations, std::vector<int64_t>& pads, AutoPad ap, bool ceil_mode,
               Shape* out_spatial) {
  const size_t n = kernel.size();
  if (x.size() != n + 2) fail(op, "input of rank ", x.size(), " for a ", n, "-D kernel");
  if (strides.empty()) strides.assign(n, 1);
  if (dilations.empty()) dilations.assign(n, 1);
  if (pads.empty()) pads.assign(2 * n, 0);
  if (strides.size() != n || dilations.size() != n || pads.size() != 2 * n)
    fail(op, "strides, dilations or pads do not match the kernel's ", n, " axes");
  out_spatial->clear();
  for (size_t i = 0; i < n; ++i) {
    if (strides[i] < 1 || dilations[i] < 1 || kernel[i] < 1) fail(op, "axis ", i, ": kernel, stride and dilation must be >= 1");
    const int64_t in = x[2 + i], eff = (kernel[i] - 1) * dilations[i] + 1;
    if (ap == AutoPad::SameUpper || ap == AutoPad::SameLower) {
      const int64_t o = (in + strides[i] - 1) / strides[i];
      const int64_t total = std::max<int64_t>(0, (o - 1) * strides[i] + eff - in);
      pads[i] = ap == AutoPad::SameUpper ? total / 2 : total - total / 2;
      pads[n + i] = total - pads[i];
    } else if (ap == AutoPad::Valid) {
      pads[i] = pads[n + i] = 0;
    }
    if (pads[i] < 0 || pads[n + i] < 0) fail(op, "negative pads");
    const int64_t span = in + pads[i] + pads[n + i] - eff;
    if (span < 0) fail(op, "spatial axis ", 2 + i, " (", in, " after padding ", in + pads[i] + pads[n + i],
                       ") is smaller than the kernel's extent ", eff);
    int64_t o = (ceil_mode ? (span + strides[i] - 1) / strides[i] : span / strides[i]) + 1;
    // A window that would start in the end padding is dropped (as PyTorch and ONNX Runtime do).
    if (ceil_mode && (o - 1) * strides[i] >= in + pads[i]) --o;
    out_spatial->push_back(o);
  }
}

}  // namespace

void infer_conv(Graph& g, Op& op) {
  const Shape& x = idims(g, op, 0);
  const Shape& w = idims(g, op, 1);
  ConvParams& c = op.p.nd.conv;
  if (w.size() < 3 || x.size() != w.size()) fail(op, "input ", shape_str(x), " and weight ", shape_str(w), " ranks differ");
  const std::vector<int64_t> kernel(w.begin() + 2, w.end());
  if (!c.kernel.empty() && c.kernel != kernel) fail(op, "kernel_shape does not match the weight ", shape_str(w));
  c.kernel = kernel;
  if (c.group < 1) fail(op, "group ", c.group);
  Shape sp;
  const bool transpose = op.kind == OpKind::ConvTranspose;
  if (!transpose) {
    if (x[1] != w[1] * c.group) fail(op, "input has ", x[1], " channels; the weight ", shape_str(w), " with group ", c.group, " takes ", w[1] * c.group);
    if (w[0] % c.group) fail(op, w[0], " output channels do not divide into ", c.group, " groups");
    conv_like(op, x, kernel, c.strides, c.dilations, c.pads, op.p.nd.auto_pad, false, &sp);
    Shape out{x[0], w[0]};
    out.insert(out.end(), sp.begin(), sp.end());
    if (has(op, 2) && idims(g, op, 2) != Shape{w[0]}) fail(op, "bias is not (", w[0], ")");
    set_out(g, op, 0, out, DType::F32);
    return;
  }
  const size_t n = kernel.size();
  if (x[1] != w[0]) fail(op, "input has ", x[1], " channels; the weight ", shape_str(w), " takes ", w[0]);
  if (c.strides.empty()) c.strides.assign(n, 1);
  if (c.dilations.empty()) c.dilations.assign(n, 1);
  if (c.pads.empty()) c.pads.assign(2 * n, 0);
  if (c.output_padding.empty()) c.output_padding.assign(n, 0);
  if (c.strides.size() != n || c.dilations.size() != n || c.pads.size() != 2 * n || c.output_padding.size() != n)
    fail(op, "strides, dilations, pads or output_padding do not match the kernel's ", n, " axes");
  Shape out{x[0], w[1] * c.group};
  const auto& os = op.p.nd.output_shape;
  for (size_t i = 0; i < n; ++i) {
    const int64_t eff = (kernel[i] - 1) * c.dilations[i] + 1;
    const int64_t full = c.strides[i] * (x[2 + i] - 1) + c.output_padding[i] + eff;
    int64_t o;
    if (!os.empty() || op.p.nd.auto_pad == AutoPad::SameUpper || op.p.nd.auto_pad == AutoPad::SameLower) {
      o = !os.empty() ? os[os.size() - n + i] : x[2 + i] * c.strides[i];
      const int64_t total = std::max<int64_t>(0, full - o);
      // ONNX: SAME_UPPER (and output_shape) put the larger half of the padding at the end.
      const bool upper = op.p.nd.auto_pad != AutoPad::SameLower;
      c.pads[i] = upper ? total / 2 : total - total / 2;
      c.pads[n + i] = total - c.pads[i];
    } else {
      if (op.p.nd.auto_pad == AutoPad::Valid) c.pads[i] = c.pads[n + i] = 0;
      o = full - c.pads[i] - c.pads[n + i];
    }
    if (o < 1) fail(op, "output spatial axis ", 2 + i, " would be ", o);
    out.push_back(o);
  }
  set_out(g, op, 0, out, DType::F32);
}

void infer_pool(Graph& g, Op& op) {
  const Shape& x = idims(g, op, 0);
  PoolParams& p = op.p.nd.pool;
  if (x.size() < 3) fail(op, "input ", shape_str(x), " has no spatial axes");
  Shape out{x[0], x[1]};
  if (p.kind == PoolKind::GlobalAverage || p.kind == PoolKind::GlobalMax) {
    out.insert(out.end(), x.size() - 2, 1);
  } else {
    if (p.kernel.empty()) fail(op, "kernel_shape is required");
    Shape sp;
    conv_like(op, x, p.kernel, p.strides, p.dilations, p.pads, op.p.nd.auto_pad, p.ceil_mode, &sp);
    out.insert(out.end(), sp.begin(), sp.end());
  }
  set_out(g, op, 0, out, iv(g, op, 0).dtype);
}


}  // namespace edgerun::nd_rules
