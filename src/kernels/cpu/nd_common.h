// Private helpers of the N-D kernels (nd_*.cpp): dtype dispatch, the strided / broadcasting
// index walk every elementwise and data-movement kernel shares, the unary functions (also the
// epilogues of conv and channel_affine), and fp32 -> fp16 rounding.
#pragma once
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

#include "core/error.h"
#include "core/tensor.h"
#include "graph/nd_params.h"

namespace edgerun::kernels::nd {

[[noreturn]] inline void unsupported(const char* op, DType t) {
  ER_THROW(UnsupportedError, op, ": dtype ", dtype_name(t), " is not supported");
}

template <typename T>
using Tag = std::type_identity<T>;

// Calls f(Tag<T>) for the numeric dtypes; BOOL (stored as uint8 0/1) only when allow_bool.
template <typename F>
void dispatch_numeric(DType t, const char* op, bool allow_bool, F&& f) {
  switch (t) {
    case DType::F32: return f(Tag<float>{});
    case DType::F64: return f(Tag<double>{});
    case DType::I64: return f(Tag<int64_t>{});
    case DType::I32: return f(Tag<int32_t>{});
    case DType::I8: return f(Tag<int8_t>{});
    case DType::U8: return f(Tag<uint8_t>{});
    case DType::BOOL:
      if (allow_bool) return f(Tag<uint8_t>{});
      break;
    default: break;
  }
  unsupported(op, t);
}

template <typename F>
void dispatch_float(DType t, const char* op, F&& f) {
  switch (t) {
    case DType::F32: return f(Tag<float>{});
    case DType::F64: return f(Tag<double>{});
    default: unsupported(op, t);
  }
}

// Data movement needs only the element width: one unsigned type per size.
template <typename F>
void dispatch_bytes(DType t, const char* op, F&& f) {
  switch (dtype_size(t)) {
    case 1: return f(Tag<uint8_t>{});
    case 2: return f(Tag<uint16_t>{});
    case 4: return f(Tag<uint32_t>{});
    case 8: return f(Tag<uint64_t>{});
    default: unsupported(op, t);
  }
}

inline void require_f32(const char* op, const Tensor& t) {
  if (t.dtype != DType::F32) unsupported(op, t.dtype);
}

inline std::vector<int64_t> contiguous_strides(const Shape& s) {
  std::vector<int64_t> st(s.size());
  int64_t acc = 1;
  for (size_t d = s.size(); d-- > 0;) {
    st[d] = acc;
    acc *= s[d];
  }
  return st;
}

// Element strides of `in` read at the indices of `out` under numpy broadcasting: `in` aligned to
// the right, stride 0 on the axes it broadcasts and on the leading axes it lacks.
inline std::vector<int64_t> broadcast_strides(const Shape& in, const Shape& out) {
  ER_CHECK(in.size() <= out.size(), shape_str(in), " does not broadcast to ", shape_str(out));
  std::vector<int64_t> st(out.size(), 0), cs = contiguous_strides(in);
  const size_t lead = out.size() - in.size();
  for (size_t d = 0; d < in.size(); ++d) {
    ER_CHECK(in[d] == out[lead + d] || in[d] == 1, shape_str(in), " does not broadcast to ",
             shape_str(out));
    st[lead + d] = in[d] == 1 ? 0 : cs[d];
  }
  return st;
}

// numpy's broadcast of two shapes.
inline Shape broadcast_shape(const Shape& a, const Shape& b) {
  Shape r(std::max(a.size(), b.size()), 1);
  for (size_t i = 0; i < r.size(); ++i) {
    int64_t da = i < a.size() ? a[a.size() - 1 - i] : 1, db = i < b.size() ? b[b.size() - 1 - i] : 1;
    ER_CHECK(da == db || da == 1 || db == 1, shape_str(a), " and ", shape_str(b), " do not broadcast");
    r[r.size() - 1 - i] = da == 1 ? db : da;
  }
  return r;
}

// Walks `out` in row-major order and calls f(out_index, offsets), where offsets[k] is
// base[k] + sum_d index[d] * strides[k][d]: transposes, slices and broadcasts are all this walk
// with different strides. The last axis runs as a plain inner loop.
template <size_t K, typename F>
void for_each_offset(const Shape& out, const std::array<std::vector<int64_t>, K>& strides,
                     std::array<int64_t, K> base, F&& f) {
  const int64_t n = shape_numel(out);
  if (n == 0) return;
  const size_t r = out.size();
  if (r == 0) return f(int64_t{0}, base);
  const int64_t inner = out[r - 1];
  std::array<int64_t, K> step, offs;
  for (size_t k = 0; k < K; ++k) step[k] = strides[k][r - 1];
  std::vector<int64_t> idx(r, 0);
  for (int64_t o = 0; o < n; o += inner) {
    for (int64_t j = 0; j < inner; ++j) {
      for (size_t k = 0; k < K; ++k) offs[k] = base[k] + j * step[k];
      f(o + j, offs);
    }
    for (size_t d = r - 1; d-- > 0;) {  // odometer over the outer axes
      ++idx[d];
      for (size_t k = 0; k < K; ++k) base[k] += strides[k][d];
      if (idx[d] < out[d]) break;
      for (size_t k = 0; k < K; ++k) base[k] -= strides[k][d] * out[d];
      idx[d] = 0;
    }
  }
}

// The broadcasting walk: offsets of each input at every index of `out`.
template <size_t K, typename F>
void for_each_broadcast(const Shape& out, const std::array<const Shape*, K>& ins, F&& f) {
  std::array<std::vector<int64_t>, K> st;
  for (size_t k = 0; k < K; ++k) st[k] = broadcast_strides(*ins[k], out);
  for_each_offset<K>(out, st, std::array<int64_t, K>{}, f);
}

// (outer, n, inner) around one axis: the shape of every single-axis kernel.
struct AxisSplit {
  int64_t outer = 1, n = 1, inner = 1;
};
inline AxisSplit split_at(const Shape& s, int64_t axis) {
  ER_CHECK(axis >= 0 && axis < static_cast<int64_t>(s.size()), "axis ", axis, " of ", shape_str(s));
  AxisSplit a;
  for (int64_t d = 0; d < axis; ++d) a.outer *= s[d];
  a.n = s[axis];
  for (size_t d = axis + 1; d < s.size(); ++d) a.inner *= s[d];
  return a;
}

// The window geometry of conv and pooling over 1 to 3 spatial axes of (N, C, spatial...),
// lifted to 3-D (leading spatial axes of extent 1, kernel 1, stride 1, no padding) so that one
// set of loops serves 1-D, 2-D and 3-D. in: x's spatial extent, out: y's.
struct Window3 {
  int64_t in[3] = {1, 1, 1}, out[3] = {1, 1, 1}, k[3] = {1, 1, 1};
  int64_t s[3] = {1, 1, 1}, d[3] = {1, 1, 1}, pb[3] = {0, 0, 0}, pe[3] = {0, 0, 0};
  int64_t in_size() const { return in[0] * in[1] * in[2]; }
  int64_t out_size() const { return out[0] * out[1] * out[2]; }
  int64_t k_size() const { return k[0] * k[1] * k[2]; }
};
// Empty strides, dilations or pads take their defaults (1, 1, 0).
inline Window3 lift_window(const char* op, const Shape& x, const Shape& y, const std::vector<int64_t>& kernel,
                           const std::vector<int64_t>& strides, const std::vector<int64_t>& dilations,
                           const std::vector<int64_t>& pads) {
  const size_t r = x.size();
  ER_CHECK(r >= 3 && r <= 5 && y.size() == r, op, ": x ", shape_str(x), ", y ", shape_str(y));
  const size_t ns = r - 2, lead = 3 - ns;
  ER_CHECK(kernel.size() == ns && (strides.empty() || strides.size() == ns) &&
               (dilations.empty() || dilations.size() == ns) && (pads.empty() || pads.size() == 2 * ns),
           op, ": params do not have ", ns, " spatial axes");
  Window3 g;
  for (size_t i = 0; i < ns; ++i) {
    g.in[lead + i] = x[2 + i];
    g.out[lead + i] = y[2 + i];
    g.k[lead + i] = kernel[i];
    if (!strides.empty()) g.s[lead + i] = strides[i];
    if (!dilations.empty()) g.d[lead + i] = dilations[i];
    if (!pads.empty()) g.pb[lead + i] = pads[i], g.pe[lead + i] = pads[ns + i];
  }
  return g;
}

// Saturating conversion of a float bound or value into T, so that an out-of-range float never
// reaches a C++ conversion whose result is undefined.
template <typename T, typename V>
T saturate(V v) {
  if constexpr (std::is_floating_point_v<T> || !std::is_floating_point_v<V>) {
    return static_cast<T>(v);
  } else {
    if (std::isnan(v)) return T(0);
    if (v <= static_cast<V>(std::numeric_limits<T>::lowest())) return std::numeric_limits<T>::lowest();
    if (v >= static_cast<V>(std::numeric_limits<T>::max())) return std::numeric_limits<T>::max();
    return static_cast<T>(v);
  }
}

// One unary function at one value; T float or double.
template <typename T>
T unary_value(UnaryFn f, const Epilogue& e, T x) {
  switch (f) {
    case UnaryFn::Identity: return x;
    case UnaryFn::Relu: return x < T(0) ? T(0) : x;
    case UnaryFn::LeakyRelu: return x < T(0) ? T(e.alpha) * x : x;
    case UnaryFn::Sigmoid: return T(1) / (T(1) + std::exp(-x));
    case UnaryFn::HardSigmoid: return std::max(T(0), std::min(T(1), T(e.alpha) * x + T(e.beta)));
    case UnaryFn::HardSwish: return x * std::max(T(0), std::min(T(1), x / T(6) + T(0.5)));
    case UnaryFn::Clip: return std::min(std::max(x, T(e.lo)), T(e.hi));
    case UnaryFn::Tanh: return std::tanh(x);
    case UnaryFn::Exp: return std::exp(x);
    case UnaryFn::Log: return std::log(x);
    case UnaryFn::Neg: return -x;
    case UnaryFn::Abs: return std::abs(x);
    case UnaryFn::Sqrt: return std::sqrt(x);
    case UnaryFn::Erf: return std::erf(x);
    case UnaryFn::Reciprocal: return T(1) / x;
    case UnaryFn::Floor: return std::floor(x);
    case UnaryFn::Ceil: return std::ceil(x);
    case UnaryFn::Not: break;
  }
  ER_THROW(UnsupportedError, "unary: Not takes BOOL, not a float");
}

inline void apply_epilogue(float* y, int64_t n, const Epilogue& e) {
  if (e.fn == UnaryFn::Identity) return;
  for (int64_t i = 0; i < n; ++i) y[i] = unary_value<float>(e.fn, e, y[i]);
}

// fp32 -> IEEE fp16, round to nearest even; overflow to inf, NaN kept quiet, fp16 subnormals
// rounded like normals.
inline uint16_t f32_to_f16(float f) {
  uint32_t b;
  std::memcpy(&b, &f, 4);
  const uint16_t sign = static_cast<uint16_t>((b >> 16) & 0x8000u);
  const uint32_t a = b & 0x7fffffffu;
  if (a > 0x7f800000u) return static_cast<uint16_t>(sign | 0x7e00u | ((a >> 13) & 0x3ffu));
  if (a >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // rounds past 65504
  if (a < 0x38800000u) {  // below the smallest normal fp16 (2^-14): a subnormal or zero
    if (a < 0x33000000u) return sign;  // under half the smallest subnormal (2^-25)
    const uint32_t e = a >> 23, m = (a & 0x7fffffu) | 0x800000u;
    const uint32_t shift = 126 - e;  // puts the value in units of 2^-24
    uint32_t q = m >> shift;
    const uint32_t rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
    if (rem > half || (rem == half && (q & 1u))) ++q;
    return static_cast<uint16_t>(sign | q);
  }
  uint32_t r = a - 0x38000000u;  // rebias the exponent 127 -> 15
  r += 0xfffu + ((r >> 13) & 1u);  // nearest even on the 13 dropped bits
  return static_cast<uint16_t>(sign | (r >> 13));
}

}  // namespace edgerun::kernels::nd
