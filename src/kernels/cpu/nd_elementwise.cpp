// Elementwise N-D kernels: unary functions, broadcasting binary ops, Where, Cast and the
// variadic Sum / Max / Min / Mean. Every broadcast goes through nd::for_each_broadcast.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/cpu/nd_common.h"
#include "kernels/cpu/nd_kernels.h"

namespace edgerun::kernels {

using namespace nd;

namespace {

template <typename T>
T clip_int(T x, float lo, float hi) {
  const T l = saturate<T>(lo), h = saturate<T>(hi);
  return x < l ? l : (x > h ? h : x);
}

template <typename TA, typename TB, typename TY, typename Op>
void broadcast2(const Tensor& a, const Tensor& b, const Tensor& y, Op op) {
  const TA* pa = a.as<const TA>();
  const TB* pb = b.as<const TB>();
  TY* py = y.as<TY>();
  for_each_broadcast<2>(y.shape, {&a.shape, &b.shape},
                        [&](int64_t i, const std::array<int64_t, 2>& o) { py[i] = op(pa[o[0]], pb[o[1]]); });
}

template <typename T>
T float_min_max(bool is_max, T a, T b) {
  if constexpr (std::is_floating_point_v<T>)
    if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<T>::quiet_NaN();  // as numpy
  return is_max ? (a < b ? b : a) : (b < a ? b : a);
}

// Add, Sub, Mul, Div, Min, Max with one dtype T for a, b and y.
template <typename T>
void arithmetic(BinaryFn f, const Tensor& a, const Tensor& b, const Tensor& y) {
  switch (f) {
    case BinaryFn::Add: return broadcast2<T, T, T>(a, b, y, [](T u, T v) { return T(u + v); });
    case BinaryFn::Sub: return broadcast2<T, T, T>(a, b, y, [](T u, T v) { return T(u - v); });
    case BinaryFn::Mul: return broadcast2<T, T, T>(a, b, y, [](T u, T v) { return T(u * v); });
    case BinaryFn::Div:
      // Integer Div truncates toward zero (C's division); ONNX says only "integer division".
      return broadcast2<T, T, T>(a, b, y, [](T u, T v) {
        if constexpr (std::is_integral_v<T>)
          if (v == 0) ER_THROW(InputError, "Div: integer division by zero");
        return T(u / v);
      });
    case BinaryFn::Min: return broadcast2<T, T, T>(a, b, y, [](T u, T v) { return float_min_max(false, u, v); });
    case BinaryFn::Max: return broadcast2<T, T, T>(a, b, y, [](T u, T v) { return float_min_max(true, u, v); });
    default: break;
  }
  ER_CHECK(false, "not an arithmetic BinaryFn");
}

template <typename T>
void compare(BinaryFn f, const Tensor& a, const Tensor& b, const Tensor& y) {
  switch (f) {
    case BinaryFn::Equal: return broadcast2<T, T, uint8_t>(a, b, y, [](T u, T v) { return uint8_t(u == v); });
    case BinaryFn::Less: return broadcast2<T, T, uint8_t>(a, b, y, [](T u, T v) { return uint8_t(u < v); });
    case BinaryFn::Greater: return broadcast2<T, T, uint8_t>(a, b, y, [](T u, T v) { return uint8_t(u > v); });
    default: break;
  }
  ER_CHECK(false, "not a comparison BinaryFn");
}

const char* binary_name(BinaryFn f) {
  static const char* names[] = {"Add", "Sub", "Mul", "Div",   "Pow",     "Min",
                                "Max", "Equal", "Less", "Greater", "And", "Or"};
  return names[static_cast<int>(f)];
}

}  // namespace

void unary(UnaryFn f, const Epilogue& args, const Tensor& x, const Tensor& y) {
  ER_CHECK(x.numel() == y.numel() && x.dtype == y.dtype, "unary: x ", shape_str(x.shape), " ",
           dtype_name(x.dtype), ", y ", shape_str(y.shape), " ", dtype_name(y.dtype));
  const int64_t n = x.numel();
  if (f == UnaryFn::Identity) {
    if (x.data != y.data) std::memmove(y.data, x.data, static_cast<size_t>(x.nbytes()));
    return;
  }
  if (f == UnaryFn::Not) {
    if (x.dtype != DType::BOOL) unsupported("unary Not", x.dtype);
    const uint8_t* px = x.as<const uint8_t>();
    uint8_t* py = y.as<uint8_t>();
    for (int64_t i = 0; i < n; ++i) py[i] = px[i] ? 0 : 1;
    return;
  }
  if (x.dtype == DType::F32 || x.dtype == DType::F64) {
    dispatch_float(x.dtype, "unary", [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* px = x.as<const T>();
      T* py = y.as<T>();
      for (int64_t i = 0; i < n; ++i) py[i] = unary_value<T>(f, args, px[i]);
    });
    return;
  }
  // Integer inputs: only the functions that stay exact in the integer type.
  if (f != UnaryFn::Neg && f != UnaryFn::Abs && f != UnaryFn::Relu && f != UnaryFn::Clip)
    unsupported("unary (a float-only function)", x.dtype);
  dispatch_numeric(x.dtype, "unary", false, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* px = x.as<const T>();
    T* py = y.as<T>();
    for (int64_t i = 0; i < n; ++i) {
      const T v = px[i];
      switch (f) {
        case UnaryFn::Neg: py[i] = T(-v); break;
        case UnaryFn::Abs: py[i] = v < T(0) ? T(-v) : v; break;
        case UnaryFn::Relu: py[i] = v < T(0) ? T(0) : v; break;
        default: py[i] = clip_int(v, args.lo, args.hi); break;
      }
    }
  });
}

void binary(BinaryFn f, const Tensor& a, const Tensor& b, const Tensor& y) {
  switch (f) {
    case BinaryFn::Pow:
      // Float base; the exponent may be an integer tensor. The result has the base's dtype.
      if (y.dtype != a.dtype) unsupported("binary Pow (output)", y.dtype);
      dispatch_float(a.dtype, "binary Pow", [&](auto ta) {
        using TA = typename decltype(ta)::type;
        dispatch_numeric(b.dtype, "binary Pow (exponent)", false, [&](auto tb) {
          using TB = typename decltype(tb)::type;
          broadcast2<TA, TB, TA>(a, b, y, [](TA u, TB v) { return TA(std::pow(u, TA(v))); });
        });
      });
      return;
    case BinaryFn::And:
    case BinaryFn::Or:
      for (const Tensor* t : {&a, &b, &y})
        if (t->dtype != DType::BOOL) unsupported(f == BinaryFn::And ? "binary And" : "binary Or", t->dtype);
      if (f == BinaryFn::And)
        broadcast2<uint8_t, uint8_t, uint8_t>(a, b, y, [](uint8_t u, uint8_t v) { return uint8_t(u && v); });
      else
        broadcast2<uint8_t, uint8_t, uint8_t>(a, b, y, [](uint8_t u, uint8_t v) { return uint8_t(u || v); });
      return;
    default: break;
  }
  ER_CHECK(a.dtype == b.dtype, "binary ", binary_name(f), ": ", dtype_name(a.dtype), " and ",
           dtype_name(b.dtype));
  const bool cmp = f == BinaryFn::Equal || f == BinaryFn::Less || f == BinaryFn::Greater;
  ER_CHECK(y.dtype == (cmp ? DType::BOOL : a.dtype), "binary ", binary_name(f), ": output ",
           dtype_name(y.dtype));
  dispatch_numeric(a.dtype, binary_name(f), f == BinaryFn::Equal, [&](auto tag) {
    using T = typename decltype(tag)::type;
    if (cmp)
      compare<T>(f, a, b, y);
    else
      arithmetic<T>(f, a, b, y);
  });
}

void where(const Tensor& cond, const Tensor& a, const Tensor& b, const Tensor& y) {
  if (cond.dtype != DType::BOOL) unsupported("Where (condition)", cond.dtype);
  ER_CHECK(a.dtype == b.dtype && a.dtype == y.dtype, "Where: dtypes differ");
  dispatch_bytes(y.dtype, "Where", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const uint8_t* pc = cond.as<const uint8_t>();
    const T* pa = a.as<const T>();
    const T* pb = b.as<const T>();
    T* py = y.as<T>();
    for_each_broadcast<3>(y.shape, {&cond.shape, &a.shape, &b.shape},
                          [&](int64_t i, const std::array<int64_t, 3>& o) {
                            py[i] = pc[o[0]] ? pa[o[1]] : pb[o[2]];
                          });
  });
}

namespace {

// Cast's view of the dtypes: the half types and BOOL need their own load / store rules.
struct Half { uint16_t bits; };
struct BHalf { uint16_t bits; };
struct Bool { uint8_t v; };

template <typename F>
void dispatch_cast(DType t, const char* what, F&& f) {
  switch (t) {
    case DType::F16: return f(Tag<Half>{});
    case DType::BF16: return f(Tag<BHalf>{});
    case DType::BOOL: return f(Tag<Bool>{});
    case DType::I16: return f(Tag<int16_t>{});
    case DType::U16: return f(Tag<uint16_t>{});
    case DType::U32: return f(Tag<uint32_t>{});
    case DType::U64: return f(Tag<uint64_t>{});
    default: return dispatch_numeric(t, what, false, f);
  }
}

template <typename S>
auto load(const S& s) {
  if constexpr (std::is_same_v<S, Half>) return f16_to_f32(s.bits);
  else if constexpr (std::is_same_v<S, BHalf>) return bf16_to_f32(s.bits);
  else if constexpr (std::is_same_v<S, Bool>) return s.v;
  else return s;
}

template <typename D, typename V>
D store(V v) {
  if constexpr (std::is_same_v<D, Half>) return Half{nd::f32_to_f16(static_cast<float>(v))};
  else if constexpr (std::is_same_v<D, BHalf>) return BHalf{f32_to_bf16(static_cast<float>(v))};
  else if constexpr (std::is_same_v<D, Bool>) return Bool{uint8_t(v != V(0))};
  else return saturate<D>(v);  // float to integer truncates toward zero
}

}  // namespace

void cast(const Tensor& x, const Tensor& y) {
  ER_CHECK(x.numel() == y.numel(), "Cast: ", shape_str(x.shape), " to ", shape_str(y.shape));
  const int64_t n = x.numel();
  if (x.dtype == y.dtype) {
    if (x.data != y.data) std::memmove(y.data, x.data, static_cast<size_t>(x.nbytes()));
    return;
  }
  dispatch_cast(x.dtype, "Cast (source)", [&](auto ts) {
    using S = typename decltype(ts)::type;
    dispatch_cast(y.dtype, "Cast (target)", [&](auto td) {
      using D = typename decltype(td)::type;
      const S* px = x.as<const S>();
      D* py = y.as<D>();
      for (int64_t i = 0; i < n; ++i) py[i] = store<D>(load(px[i]));
    });
  });
}

void variadic(BinaryFn f, bool mean, const Tensor* xs, int n, const Tensor& y) {
  ER_CHECK(n >= 1, "variadic op with no input");
  ER_CHECK(f == BinaryFn::Add || f == BinaryFn::Max || f == BinaryFn::Min, "variadic ", binary_name(f));
  for (int i = 0; i < n; ++i) require_f32("variadic Sum/Max/Min/Mean", xs[i]);
  require_f32("variadic Sum/Max/Min/Mean", y);
  float* py = y.f32();
  const float* p0 = xs[0].f32();
  for_each_broadcast<1>(y.shape, {&xs[0].shape},
                        [&](int64_t i, const std::array<int64_t, 1>& o) { py[i] = p0[o[0]]; });
  // y accumulates in place: each element is read at its own index before it is written.
  for (int k = 1; k < n; ++k) arithmetic<float>(f, y, xs[k], y);
  if (mean) {
    for (int64_t i = 0; i < y.numel(); ++i) py[i] /= static_cast<float>(n);
  }
}

}  // namespace edgerun::kernels
