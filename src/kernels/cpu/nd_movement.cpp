// Data movement: Concat, Split, Transpose, Slice, Gather, Expand, Pad, Range and the fill of
// ConstantOfShape. Elements move as unsigned words of their width (any dtype); transposes,
// slices and broadcasts are the strided walk of nd::for_each_offset.
#include <cstring>

#include "kernels/cpu/nd_common.h"
#include "kernels/cpu/nd_kernels.h"

namespace edgerun::kernels {

using namespace nd;

namespace {

// y[i] = x[offset(i)] over y's shape, with x read at `base` + index . strides.
void strided_copy(const char* op, const Tensor& x, const std::vector<int64_t>& strides, int64_t base,
                  const Tensor& y) {
  ER_CHECK(x.dtype == y.dtype, op, ": ", dtype_name(x.dtype), " -> ", dtype_name(y.dtype));
  dispatch_bytes(y.dtype, op, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* px = x.as<const T>();
    T* py = y.as<T>();
    for_each_offset<1>(y.shape, {strides}, {base},
                       [&](int64_t i, const std::array<int64_t, 1>& o) { py[i] = px[o[0]]; });
  });
}

// Concat and Split move the same blocks in opposite directions: per outer index, one run of
// (extent along axis) * inner elements per part.
void join_or_split(const char* op, const Tensor& whole, const Tensor* parts, int n, int64_t axis, bool join) {
  ER_CHECK(n >= 1, op, " with no parts");
  const AxisSplit w = split_at(whole.shape, axis);
  const int64_t es = dtype_size(whole.dtype);
  int64_t total = 0;
  for (int i = 0; i < n; ++i) {
    const AxisSplit s = split_at(parts[i].shape, axis);
    ER_CHECK(parts[i].dtype == whole.dtype && s.outer == w.outer && s.inner == w.inner, op, ": part ",
             shape_str(parts[i].shape), " of ", shape_str(whole.shape));
    total += s.n;
  }
  ER_CHECK(total == w.n, op, ": parts sum to ", total, " along axis ", axis, " of ", shape_str(whole.shape));
  char* pw = static_cast<char*>(whole.data);
  for (int64_t o = 0; o < w.outer; ++o) {
    int64_t at = 0;
    for (int i = 0; i < n; ++i) {
      const int64_t run = parts[i].shape[axis] * w.inner * es;
      char* pp = static_cast<char*>(parts[i].data) + o * run;
      char* pwo = pw + (o * w.n * w.inner) * es + at;
      if (run) std::memcpy(join ? pwo : pp, join ? pp : pwo, static_cast<size_t>(run));
      at += run;
    }
  }
}

}  // namespace

void concat(const Tensor* xs, int n, int64_t axis, const Tensor& y) { join_or_split("Concat", y, xs, n, axis, true); }

void split(const Tensor& x, int64_t axis, const Tensor* ys, int n) { join_or_split("Split", x, ys, n, axis, false); }

void transpose(const Tensor& x, const std::vector<int64_t>& perm, const Tensor& y) {
  const size_t r = x.shape.size();
  ER_CHECK(perm.size() == r && y.shape.size() == r, "Transpose: perm of ", perm.size(), " for ", shape_str(x.shape));
  const std::vector<int64_t> xs = contiguous_strides(x.shape);
  std::vector<int64_t> st(r);
  for (size_t d = 0; d < r; ++d) {
    ER_CHECK(perm[d] >= 0 && perm[d] < static_cast<int64_t>(r) && y.shape[d] == x.shape[perm[d]],
             "Transpose: ", shape_str(x.shape), " -> ", shape_str(y.shape));
    st[d] = xs[perm[d]];
  }
  strided_copy("Transpose", x, st, 0, y);
}

void slice(const Tensor& x, const std::vector<int64_t>& starts, const std::vector<int64_t>& steps,
           const Tensor& y) {
  const size_t r = x.shape.size();
  ER_CHECK(starts.size() == r && steps.size() == r && y.shape.size() == r, "Slice: params for ",
           shape_str(x.shape));
  const std::vector<int64_t> xs = contiguous_strides(x.shape);
  std::vector<int64_t> st(r);
  int64_t base = 0;
  for (size_t d = 0; d < r; ++d) {
    const int64_t last = starts[d] + (y.shape[d] - 1) * steps[d];
    ER_CHECK(y.shape[d] == 0 || (starts[d] >= 0 && starts[d] < x.shape[d] && last >= 0 && last < x.shape[d]),
             "Slice: axis ", d, " start ", starts[d], " step ", steps[d], " count ", y.shape[d], " of ",
             x.shape[d]);
    st[d] = xs[d] * steps[d];
    base += y.shape[d] ? starts[d] * xs[d] : 0;
  }
  strided_copy("Slice", x, st, base, y);
}

void gather(const Tensor& data, const Tensor& indices, int64_t axis, const Tensor& y) {
  if (indices.dtype != DType::I64 && indices.dtype != DType::I32) unsupported("Gather (indices)", indices.dtype);
  ER_CHECK(data.dtype == y.dtype, "Gather: ", dtype_name(data.dtype), " -> ", dtype_name(y.dtype));
  const AxisSplit s = split_at(data.shape, axis);
  const int64_t ni = indices.numel(), es = dtype_size(data.dtype), run = s.inner * es;
  ER_CHECK(y.numel() == s.outer * ni * s.inner, "Gather: ", shape_str(data.shape), " by ",
           shape_str(indices.shape), " -> ", shape_str(y.shape));
  const char* pd = static_cast<const char*>(data.data);
  char* py = static_cast<char*>(y.data);
  for (int64_t j = 0; j < ni; ++j) {
    int64_t idx = indices.dtype == DType::I64 ? indices.as<const int64_t>()[j] : indices.as<const int32_t>()[j];
    const int64_t given = idx;
    if (idx < 0) idx += s.n;
    if (idx < 0 || idx >= s.n)
      ER_THROW(InputError, "Gather: index ", given, " is out of range for axis ", axis, " of size ", s.n);
    for (int64_t o = 0; o < s.outer; ++o)
      std::memcpy(py + (o * ni + j) * run, pd + (o * s.n + idx) * run, static_cast<size_t>(run));
  }
}

void expand(const Tensor& x, const Tensor& y) {
  strided_copy("Expand", x, broadcast_strides(x.shape, y.shape), 0, y);
}

void pad(const Tensor& x, const std::vector<int64_t>& pads, PadMode mode, double value, const Tensor& y) {
  const size_t r = x.shape.size();
  ER_CHECK(pads.size() == 2 * r && y.shape.size() == r && x.dtype == y.dtype, "Pad: pads of ", pads.size(),
           " for ", shape_str(x.shape));
  for (size_t d = 0; d < r; ++d)
    ER_CHECK(y.shape[d] == x.shape[d] + pads[d] + pads[r + d], "Pad: ", shape_str(x.shape), " -> ",
             shape_str(y.shape));
  if (y.numel() == 0) return;
  ER_CHECK(mode == PadMode::Constant || x.numel() > 0, "Pad: reflect or edge of an empty tensor");
  // The constant in y's dtype, by Cast's own conversion rules.
  uint64_t cbits = 0;
  double v = value;
  cast(Tensor{DType::F64, {1}, &v}, Tensor{y.dtype, {1}, &cbits});
  const std::vector<int64_t> xs = contiguous_strides(x.shape);
  // Source index along one axis; -1 for the constant.
  auto source = [&](size_t d, int64_t i) -> int64_t {
    const int64_t n = x.shape[d];
    int64_t j = i - pads[d];
    if (j >= 0 && j < n) return j;
    if (mode == PadMode::Constant) return -1;
    if (mode == PadMode::Edge || n == 1) return j < 0 ? 0 : n - 1;
    const int64_t period = 2 * (n - 1);  // reflect without repeating the edge
    j %= period;
    if (j < 0) j += period;
    return j < n ? j : period - j;
  };
  dispatch_bytes(y.dtype, "Pad", [&](auto tag) {
    using T = typename decltype(tag)::type;
    T c;
    std::memcpy(&c, &cbits, sizeof(T));
    const T* px = x.as<const T>();
    T* py = y.as<T>();
    std::vector<int64_t> idx(r, 0);
    for (int64_t i = 0, n = y.numel(); i < n; ++i) {
      int64_t off = 0;
      bool constant = false;
      for (size_t d = 0; d < r && !constant; ++d) {
        const int64_t j = source(d, idx[d]);
        constant = j < 0;
        off += j * xs[d];
      }
      py[i] = constant ? c : px[off];
      for (size_t d = r; d-- > 0;) {
        if (++idx[d] < y.shape[d]) break;
        idx[d] = 0;
      }
    }
  });
}

void range(double start, double delta, const Tensor& y) {
  const int64_t n = y.numel();
  switch (y.dtype) {
    case DType::F32:
      for (int64_t i = 0; i < n; ++i) y.as<float>()[i] = static_cast<float>(start + static_cast<double>(i) * delta);
      return;
    case DType::F64:
      for (int64_t i = 0; i < n; ++i) y.as<double>()[i] = start + static_cast<double>(i) * delta;
      return;
    case DType::I64:
    case DType::I32: {
      // Integer ranges step in integers, so that large values stay exact.
      const int64_t s = static_cast<int64_t>(start), d = static_cast<int64_t>(delta);
      for (int64_t i = 0; i < n; ++i) {
        if (y.dtype == DType::I64)
          y.as<int64_t>()[i] = s + i * d;
        else
          y.as<int32_t>()[i] = static_cast<int32_t>(s + i * d);
      }
      return;
    }
    default: unsupported("Range", y.dtype);
  }
}

void fill(const Tensor& value, const Tensor& y) {
  ER_CHECK(value.dtype == y.dtype && value.numel() >= 1, "fill: value ", dtype_name(value.dtype), " ",
           shape_str(value.shape), " for ", dtype_name(y.dtype));
  dispatch_bytes(y.dtype, "fill", [&](auto tag) {
    using T = typename decltype(tag)::type;
    T v;
    std::memcpy(&v, value.data, sizeof(T));
    T* py = y.as<T>();
    for (int64_t i = 0, n = y.numel(); i < n; ++i) py[i] = v;
  });
}

}  // namespace edgerun::kernels
