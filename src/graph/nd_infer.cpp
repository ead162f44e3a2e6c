// The shape rules of the N-D op kinds (ONNX semantics, opsets 11 to 17), one function per
// family (conv and pools: nd_infer_conv.cpp), and their FLOP counts.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/error.h"
#include "graph/nd_bind.h"
#include "graph/nd_infer_util.h"
#include "graph/op_schema.h"

namespace edgerun {

namespace {

using namespace nd_rules;

void infer_matmul(Graph& g, Op& op) {
  Shape a = idims(g, op, 0), b = idims(g, op, 1);
  if (a.empty() || b.empty()) fail(op, "scalar operands");
  const bool a1 = a.size() == 1, b1 = b.size() == 1;
  if (a1) a.insert(a.begin(), 1);
  if (b1) b.push_back(1);
  if (a.back() != b[b.size() - 2]) fail(op, "inner dimensions differ: ", shape_str(idims(g, op, 0)), " x ", shape_str(idims(g, op, 1)));
  Shape ba(a.begin(), a.end() - 2), bb(b.begin(), b.end() - 2);
  Shape out = broadcast_shapes(ba, bb, op.name);
  if (!a1) out.push_back(a[a.size() - 2]);
  if (!b1) out.push_back(b.back());
  if (has(op, 2) && idims(g, op, 2) != Shape{b.back()}) fail(op, "bias is not (", b.back(), ")");
  set_out(g, op, 0, out, DType::F32);
}

void infer_gemm(Graph& g, Op& op) {
  const Shape& a = idims(g, op, 0);
  const Shape& b = idims(g, op, 1);
  if (a.size() != 2 || b.size() != 2) fail(op, "operands must be 2-D: ", shape_str(a), ", ", shape_str(b));
  const GemmParams& p = op.p.nd.gemm;
  const int64_t M = p.trans_a ? a[1] : a[0], K = p.trans_a ? a[0] : a[1];
  const int64_t K2 = p.trans_b ? b[1] : b[0], N = p.trans_b ? b[0] : b[1];
  if (K != K2) fail(op, "inner dimensions differ: ", K, " and ", K2);
  if (has(op, 2) && broadcast_shapes(idims(g, op, 2), {M, N}, op.name) != Shape{M, N})
    fail(op, "C ", shape_str(idims(g, op, 2)), " does not broadcast to (", M, ", ", N, ")");
  set_out(g, op, 0, {M, N}, DType::F32);
}

void infer_reduce(Graph& g, Op& op) {
  const Shape& x = idims(g, op, 0);
  NdAttrs& a = op.p.nd;
  const int64_t r = static_cast<int64_t>(x.size());
  std::vector<int64_t> axes;
  for (int64_t ax : has(op, 1) ? ints(g, op, 1, "axes") : a.axes) axes.push_back(norm_axis(op, ax, r));
  std::sort(axes.begin(), axes.end());
  axes.erase(std::unique(axes.begin(), axes.end()), axes.end());
  if (axes.empty() && !a.noop_with_empty_axes)
    for (int64_t i = 0; i < r; ++i) axes.push_back(i);
  a.starts = axes;  // bound: the reduced axes
  Shape out;
  for (int64_t i = 0; i < r; ++i) {
    const bool red = std::binary_search(axes.begin(), axes.end(), i);
    if (!red) out.push_back(x[i]);
    else if (a.keepdims) out.push_back(1);
  }
  set_out(g, op, 0, out, iv(g, op, 0).dtype);
}

void infer_arg(Graph& g, Op& op) {
  Shape x = idims(g, op, 0);
  NdAttrs& a = op.p.nd;
  a.axis_n = norm_axis(op, a.axis, static_cast<int64_t>(x.size()));
  if (a.keepdims) x[a.axis_n] = 1;
  else x.erase(x.begin() + a.axis_n);
  set_out(g, op, 0, x, DType::I64);
}

void infer_topk(Graph& g, Op& op) {
  Shape x = idims(g, op, 0);
  NdAttrs& a = op.p.nd;
  a.axis_n = norm_axis(op, a.axis, static_cast<int64_t>(x.size()));
  const std::vector<int64_t> k = ints(g, op, 1, "K");
  if (k.size() != 1 || k[0] < 0 || k[0] > x[a.axis_n]) fail(op, "K must be one value in [0, ", x[a.axis_n], "]");
  a.k = k[0];
  x[a.axis_n] = a.k;
  set_out(g, op, 0, x, iv(g, op, 0).dtype);
  set_out(g, op, 1, x, DType::I64);
}

void infer_concat(Graph& g, Op& op) {
  NdAttrs& a = op.p.nd;
  Shape out = idims(g, op, 0);
  a.axis_n = norm_axis(op, a.axis, static_cast<int64_t>(out.size()));
  out[a.axis_n] = 0;
  for (size_t i = 0; i < op.inputs.size(); ++i) {
    const Shape& s = idims(g, op, i);
    if (s.size() != out.size()) fail(op, "input ", i, " has rank ", s.size(), ", input 0 ", out.size());
    for (size_t d = 0; d < s.size(); ++d)
      if (static_cast<int64_t>(d) != a.axis_n && s[d] != out[d]) fail(op, "input ", i, " ", shape_str(s), " differs off axis ", a.axis_n);
    if (iv(g, op, i).dtype != iv(g, op, 0).dtype) fail(op, "inputs have different dtypes");
    out[a.axis_n] += s[a.axis_n];
  }
  set_out(g, op, 0, out, iv(g, op, 0).dtype);
}

void infer_split(Graph& g, Op& op) {
  NdAttrs& a = op.p.nd;
  const Shape& x = idims(g, op, 0);
  a.axis_n = norm_axis(op, a.axis, static_cast<int64_t>(x.size()));
  const int64_t n = static_cast<int64_t>(op.outputs.size()), len = x[a.axis_n];
  std::vector<int64_t> sizes = has(op, 1) ? ints(g, op, 1, "split") : a.sizes;
  if (sizes.empty()) {
    const int64_t part = (len + n - 1) / n;  // opset 18's uneven last part; equal when it divides
    for (int64_t i = 0; i < n; ++i) sizes.push_back(std::max<int64_t>(0, std::min(part, len - i * part)));
  }
  if (static_cast<int64_t>(sizes.size()) != n || std::accumulate(sizes.begin(), sizes.end(), int64_t{0}) != len)
    fail(op, "split sizes do not add up to ", len, " in ", n, " parts");
  a.sizes = sizes;
  for (int64_t i = 0; i < n; ++i) {
    if (sizes[i] < 0) fail(op, "negative split size");
    Shape s = x;
    s[a.axis_n] = sizes[i];
    set_out(g, op, static_cast<size_t>(i), s, iv(g, op, 0).dtype);
  }
}

void infer_transpose(Graph& g, Op& op) {
  const Shape& x = idims(g, op, 0);
  auto& perm = op.p.nd.perm;
  const size_t r = x.size();
  if (perm.empty())
    for (size_t i = 0; i < r; ++i) perm.push_back(static_cast<int64_t>(r - 1 - i));
  std::vector<int64_t> sorted = perm;
  std::sort(sorted.begin(), sorted.end());
  for (size_t i = 0; i < sorted.size(); ++i)
    if (sorted.size() != r || sorted[i] != static_cast<int64_t>(i)) fail(op, "perm is not a permutation of ", r, " axes");
  Shape out;
  for (int64_t p : perm) out.push_back(x[p]);
  set_out(g, op, 0, out, iv(g, op, 0).dtype);
}

void infer_slice(Graph& g, Op& op) {
  const Shape& x = idims(g, op, 0);
  const int64_t r = static_cast<int64_t>(x.size());
  const auto st = ints(g, op, 1, "starts"), en = ints(g, op, 2, "ends");
  std::vector<int64_t> axes, steps;
  if (has(op, 3)) axes = ints(g, op, 3, "axes");
  else for (size_t i = 0; i < st.size(); ++i) axes.push_back(static_cast<int64_t>(i));
  if (has(op, 4)) steps = ints(g, op, 4, "steps");
  else steps.assign(st.size(), 1);
  if (en.size() != st.size() || axes.size() != st.size() || steps.size() != st.size())
    fail(op, "starts, ends, axes and steps differ in length");
  NdAttrs& a = op.p.nd;
  a.starts.assign(static_cast<size_t>(r), 0);
  a.steps.assign(static_cast<size_t>(r), 1);
  Shape out = x;
  std::vector<bool> seen(static_cast<size_t>(r), false);
  for (size_t i = 0; i < st.size(); ++i) {
    const int64_t ax = norm_axis(op, axes[i], r), d = x[ax], step = steps[i];
    if (seen[ax]) fail(op, "axis ", ax, " appears twice");
    seen[ax] = true;
    if (step == 0) fail(op, "step 0");
    auto clampi = [](int64_t v, int64_t lo, int64_t hi) { return std::max(lo, std::min(v, hi)); };
    // ONNX's rule: negative bounds count from the end, then clamp (to [0, d] going forward,
    // start to [0, d - 1] and end to [-1, d - 1] going backward).
    int64_t s = st[i] < 0 ? st[i] + d : st[i], e = en[i] < 0 ? en[i] + d : en[i];
    if (step > 0) {
      s = clampi(s, 0, d);
      e = clampi(e, 0, d);
    } else {
      s = clampi(s, 0, std::max<int64_t>(0, d - 1));
      e = clampi(e, -1, d - 1);
    }
    const int64_t n = d == 0 ? 0
                      : step > 0 ? (e > s ? (e - s - 1) / step + 1 : 0)
                                 : (s > e ? (s - e - 1) / (step == INT64_MIN ? INT64_MAX : -step) + 1 : 0);
    a.starts[ax] = n > 0 ? s : 0;
    a.steps[ax] = step;
    out[ax] = n;
  }
  set_out(g, op, 0, out, iv(g, op, 0).dtype);
}

void infer_gather(Graph& g, Op& op) {
  const Shape& d = idims(g, op, 0);
  const Shape& ix = idims(g, op, 1);
  NdAttrs& a = op.p.nd;
  if (d.empty()) fail(op, "data is a scalar");
  a.axis_n = norm_axis(op, a.axis, static_cast<int64_t>(d.size()));
  const DType it = iv(g, op, 1).dtype;
  if (it != DType::I64 && it != DType::I32) fail(op, "indices must be int64 or int32, not ", dtype_name(it));
  Shape out(d.begin(), d.begin() + a.axis_n);
  out.insert(out.end(), ix.begin(), ix.end());
  out.insert(out.end(), d.begin() + a.axis_n + 1, d.end());
  set_out(g, op, 0, out, iv(g, op, 0).dtype);
}

void infer_pad(Graph& g, Op& op) {
  const Shape& x = idims(g, op, 0);
  NdAttrs& a = op.p.nd;
  if (has(op, 1)) a.pads = ints(g, op, 1, "pads");
  if (has(op, 2)) {
    const auto v = reals(g, op, 2, "constant_value");
    if (v.size() > 1) fail(op, "constant_value must be one value");
    a.value = v.empty() ? 0.0 : v[0];
  }
  const size_t r = x.size();
  if (a.pads.size() != 2 * r) fail(op, a.pads.size(), " pads for an input of rank ", r);
  Shape out = x;
  for (size_t i = 0; i < r; ++i) {
    out[i] = x[i] + a.pads[i] + a.pads[r + i];
    if (out[i] < 0) fail(op, "pads make axis ", i, " negative");
    if (a.pad_mode == PadMode::Reflect && (a.pads[i] >= x[i] || a.pads[r + i] >= x[i]))
      fail(op, "reflect pads of axis ", i, " must be smaller than its size ", x[i]);
    if (a.pad_mode != PadMode::Constant && x[i] == 0 && out[i] > 0) fail(op, "cannot ", "pad an empty axis by reflection or edge");
  }
  set_out(g, op, 0, out, iv(g, op, 0).dtype);
}

void infer_resize(Graph& g, Op& op) {
  const Shape& x = idims(g, op, 0);
  ResizeParams& p = op.p.nd.resize;
  const size_t r = x.size();
  Shape out(r);
  p.scales.assign(r, 1.0f);
  const bool sizes = has(op, 3) && g.values[op.inputs[3]].constant != kNone && known(g, op.inputs[3])->numel() > 0;
  if (sizes) {
    const auto s = ints(g, op, 3, "sizes");
    if (s.size() != r) fail(op, s.size(), " sizes for rank ", r);
    for (size_t i = 0; i < r; ++i) {
      out[i] = s[i];
      p.scales[i] = x[i] ? static_cast<float>(s[i]) / static_cast<float>(x[i]) : 1.0f;
    }
  } else {
    if (!has(op, 2)) fail(op, "neither scales nor sizes are given");
    const auto s = reals(g, op, 2, "scales");
    if (s.size() != r) fail(op, s.size(), " scales for rank ", r);
    for (size_t i = 0; i < r; ++i) {
      if (!(s[i] > 0)) fail(op, "scale ", s[i], " of axis ", i, " is not positive");
      p.scales[i] = static_cast<float>(s[i]);
      out[i] = static_cast<int64_t>(std::floor(static_cast<double>(x[i]) * static_cast<float>(s[i])));
    }
  }
  set_out(g, op, 0, out, iv(g, op, 0).dtype);
}

void infer_copy(Graph& g, Op& op) {
  const Shape& x = idims(g, op, 0);
  NdAttrs& a = op.p.nd;
  const int64_t n = shape_numel(x), r = static_cast<int64_t>(x.size());
  Shape out;
  switch (a.reshaping) {
    case Reshaping::Identity: out = x; break;
    case Reshaping::Reshape: {
      const auto s = ints(g, op, 1, "shape");
      int64_t infer = -1, prod = 1;
      for (size_t i = 0; i < s.size(); ++i) {
        int64_t d = s[i];
        if (d == 0 && !a.allowzero) {
          if (static_cast<int64_t>(i) >= r) fail(op, "shape ", i, " copies an input axis that does not exist");
          d = x[i];
        }
        if (d == -1) {
          if (infer >= 0) fail(op, "more than one -1 in the shape");
          infer = static_cast<int64_t>(i);
        } else if (d < 0) {
          fail(op, "dimension ", d, " in the shape");
        } else {
          prod *= d;
        }
        out.push_back(d);
      }
      if (infer >= 0) {
        if (prod == 0 || n % prod) fail(op, "cannot reshape ", shape_str(x), " with a -1 at dimension ", infer);
        out[infer] = n / prod;
      }
      break;
    }
    case Reshaping::Flatten: {
      const int64_t ax = a.axis < 0 ? a.axis + r : a.axis;
      if (ax < 0 || ax > r) fail(op, "axis ", a.axis, " outside [", -r, ", ", r, "]");
      int64_t lead = 1;
      for (int64_t i = 0; i < ax; ++i) lead *= x[i];
      out = {lead, lead ? n / lead : 0};
      break;
    }
    case Reshaping::Squeeze: {
      std::vector<int64_t> axes = has(op, 1) ? ints(g, op, 1, "axes") : a.axes;
      for (auto& ax : axes) ax = norm_axis(op, ax, r);
      for (int64_t i = 0; i < r; ++i) {
        const bool listed = std::find(axes.begin(), axes.end(), i) != axes.end();
        if (listed && x[i] != 1) fail(op, "axis ", i, " has size ", x[i], ", not 1");
        if (!(listed || (axes.empty() && x[i] == 1))) out.push_back(x[i]);
      }
      break;
    }
    case Reshaping::Unsqueeze: {
      std::vector<int64_t> axes = has(op, 1) ? ints(g, op, 1, "axes") : a.axes;
      const int64_t outr = r + static_cast<int64_t>(axes.size());
      for (auto& ax : axes) ax = norm_axis(op, ax, outr);
      std::sort(axes.begin(), axes.end());
      if (std::adjacent_find(axes.begin(), axes.end()) != axes.end()) fail(op, "repeated axes");
      size_t src = 0;
      for (int64_t i = 0; i < outr; ++i)
        out.push_back(std::binary_search(axes.begin(), axes.end(), i) ? 1 : x[src++]);
      break;
    }
  }
  if (shape_numel(out) != n) fail(op, "cannot reshape ", shape_str(x), " (", n, " elements) into ", shape_str(out));
  set_out(g, op, 0, out, iv(g, op, 0).dtype);
}

void infer_range(Graph& g, Op& op) {
  const auto s = reals(g, op, 0, "start"), l = reals(g, op, 1, "limit"), d = reals(g, op, 2, "delta");
  if (s.size() != 1 || l.size() != 1 || d.size() != 1) fail(op, "start, limit and delta must be scalars");
  if (d[0] == 0) fail(op, "delta is 0");
  op.p.nd.value = s[0];
  op.p.nd.delta = d[0];
  const double n = std::ceil((l[0] - s[0]) / d[0]);
  if (n > double(int64_t{1} << 40)) fail(op, "range of ", n, " elements");
  set_out(g, op, 0, {std::max<int64_t>(0, static_cast<int64_t>(n))}, iv(g, op, 0).dtype);
}

void infer_fill(Graph& g, Op& op) {
  const auto s = ints(g, op, 0, "shape");
  for (int64_t d : s)
    if (d < 0) fail(op, "negative dimension ", d);
  const DType dt = has(op, 1) ? iv(g, op, 1).dtype : DType::F32;
  set_out(g, op, 0, Shape(s.begin(), s.end()), dt);
}

void infer_elementwise(Graph& g, Op& op) {
  Shape out = idims(g, op, 0);
  const size_t first = op.kind == OpKind::Where ? 1 : 0;
  // Unary's further inputs are Clip's scalar bounds, not operands.
  const size_t operands = op.kind == OpKind::Unary || op.kind == OpKind::Cast ? 1 : op.inputs.size();
  for (size_t i = 1; i < operands; ++i) out = broadcast_shapes(out, idims(g, op, i), op.name);
  DType dt = iv(g, op, first).dtype;
  if (op.kind == OpKind::Where) {
    if (iv(g, op, 0).dtype != DType::BOOL) fail(op, "condition must be bool");
    if (iv(g, op, 2).dtype != dt) fail(op, "X and Y have different dtypes");
  }
  if (op.kind == OpKind::Binary) {
    const BinaryFn f = op.p.nd.binary;
    const bool cmp = f == BinaryFn::Equal || f == BinaryFn::Less || f == BinaryFn::Greater;
    if (f != BinaryFn::Pow && iv(g, op, 1).dtype != dt)
      fail(op, "inputs have different dtypes: ", dtype_name(dt), " and ", dtype_name(iv(g, op, 1).dtype));
    if (cmp || f == BinaryFn::And || f == BinaryFn::Or) dt = DType::BOOL;
  }
  if (op.kind == OpKind::Variadic)
    for (size_t i = 1; i < op.inputs.size(); ++i)
      if (iv(g, op, i).dtype != dt) fail(op, "inputs have different dtypes");
  if (op.kind == OpKind::Unary && op.p.nd.unary == UnaryFn::Not) dt = DType::BOOL;
  if (op.kind == OpKind::Cast) dt = op.p.nd.to;
  set_out(g, op, 0, out, dt);
}

void infer_same(Graph& g, Op& op) {
  NdAttrs& a = op.p.nd;
  const Shape& x = idims(g, op, 0);
  if (op.kind == OpKind::Softmax || op.kind == OpKind::LayerNormNd) {
    a.axis_n = norm_axis(op, a.axis, static_cast<int64_t>(x.size()));
  }
  if (op.kind == OpKind::BatchNorm && x.size() < 2) fail(op, "input ", shape_str(x), " has no channel axis");
  if (!is_float(iv(g, op, 0).dtype)) fail(op, "input must be floating point");
  set_out(g, op, 0, x, iv(g, op, 0).dtype);
}

}  // namespace

Shape broadcast_shapes(const Shape& a, const Shape& b, const std::string& where) {
  const size_t r = std::max(a.size(), b.size());
  Shape out(r);
  for (size_t i = 0; i < r; ++i) {
    const int64_t da = i < r - a.size() ? 1 : a[i - (r - a.size())];
    const int64_t db = i < r - b.size() ? 1 : b[i - (r - b.size())];
    if (da != db && da != 1 && db != 1)
      ER_THROW(InputError, "node '", where, "': shapes ", shape_str(a), " and ", shape_str(b), " do not broadcast (dimension ", i, ")");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

void nd_infer(Graph& g, Op& op) {
  for (size_t i = 0; i < op.inputs.size(); ++i)
    if (op.inputs[i] != kNone && !g.values[op.inputs[i]].nd) ER_CHECK(false, op.name, ": input ", i, " is not an N-D value");
  switch (op.kind) {
    case OpKind::Conv:
    case OpKind::ConvTranspose: return infer_conv(g, op);
    case OpKind::Pool: return infer_pool(g, op);
    case OpKind::MatMul: return infer_matmul(g, op);
    case OpKind::Gemm: return infer_gemm(g, op);
    case OpKind::Unary:
    case OpKind::Binary:
    case OpKind::Where:
    case OpKind::Cast:
    case OpKind::Variadic: return infer_elementwise(g, op);
    case OpKind::Softmax:
    case OpKind::LayerNormNd:
    case OpKind::BatchNorm: return infer_same(g, op);
    case OpKind::Reduce: return infer_reduce(g, op);
    case OpKind::ArgExtreme: return infer_arg(g, op);
    case OpKind::TopK: return infer_topk(g, op);
    case OpKind::Concat: return infer_concat(g, op);
    case OpKind::Split: return infer_split(g, op);
    case OpKind::Transpose: return infer_transpose(g, op);
    case OpKind::Slice: return infer_slice(g, op);
    case OpKind::Gather: return infer_gather(g, op);
    case OpKind::Expand: {
      const auto s = ints(g, op, 1, "shape");
      return set_out(g, op, 0, broadcast_shapes(idims(g, op, 0), Shape(s.begin(), s.end()), op.name), iv(g, op, 0).dtype);
    }
    case OpKind::Pad: return infer_pad(g, op);
    case OpKind::GatherElements: {
      const Shape& d = idims(g, op, 0);
      const Shape& ix = idims(g, op, 1);
      op.p.nd.axis_n = norm_axis(op, op.p.nd.axis, static_cast<int64_t>(d.size()));
      if (ix.size() != d.size()) fail(op, "indices ", shape_str(ix), " and data ", shape_str(d), " differ in rank");
      for (size_t i = 0; i < d.size(); ++i)
        if (static_cast<int64_t>(i) != op.p.nd.axis_n && ix[i] > d[i])
          fail(op, "indices ", shape_str(ix), " exceed data ", shape_str(d), " on axis ", i);
      const DType it = iv(g, op, 1).dtype;
      if (it != DType::I64 && it != DType::I32) fail(op, "indices must be int64 or int32");
      return set_out(g, op, 0, ix, iv(g, op, 0).dtype);
    }
    case OpKind::Trilu: {
      if (idims(g, op, 0).size() < 2) fail(op, "input ", shape_str(idims(g, op, 0)), " has fewer than 2 dimensions");
      op.p.nd.k = 0;
      if (has(op, 1)) {
        const auto k = ints(g, op, 1, "k");
        if (k.size() != 1) fail(op, "k must be one value");
        op.p.nd.k = k[0];
      }
      return set_out(g, op, 0, idims(g, op, 0), iv(g, op, 0).dtype);
    }
    case OpKind::Resize: return infer_resize(g, op);
    case OpKind::Copy: return infer_copy(g, op);
    case OpKind::Range: return infer_range(g, op);
    case OpKind::Fill: return infer_fill(g, op);
    case OpKind::ShapeOf: {
      // opset 15's start and end: negative counts from the end, then clamped to [0, rank].
      const int64_t r = static_cast<int64_t>(idims(g, op, 0).size());
      auto norm = [r](int64_t v) { return std::clamp<int64_t>(v < 0 ? v + r : v, 0, r); };
      const int64_t s = norm(op.p.nd.axis), e = norm(op.p.nd.k);
      op.p.nd.starts = {s, std::max(s, e)};
      return set_out(g, op, 0, {std::max<int64_t>(0, e - s)}, DType::I64);
    }
    default: ER_CHECK(false, op.name, ": not an N-D op kind");
  }
}

double nd_flops(const Graph& g, const Op& op) {
  const Value& out = g.values[op.output];
  const double n = static_cast<double>(shape_numel(out.dims));
  switch (op.kind) {
    case OpKind::Conv: {
      const Shape& w = g.values[op.inputs[1]].dims;
      return 2.0 * n * static_cast<double>(shape_numel(w) / std::max<int64_t>(1, w[0]));
    }
    case OpKind::ConvTranspose: {
      const Shape& x = g.values[op.inputs[0]].dims;
      const Shape& w = g.values[op.inputs[1]].dims;
      return 2.0 * static_cast<double>(shape_numel(x)) * static_cast<double>(shape_numel(w) / std::max<int64_t>(1, w[0]));
    }
    case OpKind::MatMul:
    case OpKind::Gemm: {
      const Shape& a = g.values[op.inputs[0]].dims;
      const bool ta = op.kind == OpKind::Gemm && op.p.nd.gemm.trans_a;
      const int64_t K = a.empty() ? 1 : (ta ? a[0] : a.back());
      return 2.0 * n * static_cast<double>(K);
    }
    case OpKind::Pool: {
      const PoolParams& p = op.p.nd.pool;
      if (p.kind == PoolKind::GlobalAverage || p.kind == PoolKind::GlobalMax)
        return static_cast<double>(shape_numel(g.values[op.inputs[0]].dims));
      double k = 1;
      for (int64_t d : p.kernel) k *= static_cast<double>(d);
      return n * k;
    }
    default: return n;
  }
}

}  // namespace edgerun
