// Reductions over a set of axes, ArgMax / ArgMin and TopK along one axis.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "kernels/cpu/nd_common.h"
#include "kernels/cpu/nd_kernels.h"

namespace edgerun::kernels {

using namespace nd;

namespace {

// A reduction walks x in order and accumulates each element at the offset of its output: the
// broadcasting walk run backwards, with the kept-dims shape of y broadcast onto x (stride 0 on
// the reduced axes).
template <typename T, typename Acc>
void reduce_typed(ReduceFn f, const Tensor& x, const std::vector<int64_t>& axes, const Tensor& y) {
  Shape kept = x.shape;
  int64_t count = 1;
  for (int64_t a : axes) {
    ER_CHECK(a >= 0 && a < static_cast<int64_t>(kept.size()), "reduce: axis ", a, " of ", shape_str(x.shape));
    count *= kept[a];
    kept[a] = 1;
  }
  if (axes.empty()) {
    count = x.numel();
    std::fill(kept.begin(), kept.end(), 1);
  }
  ER_CHECK(y.numel() == shape_numel(kept), "reduce: ", shape_str(x.shape), " -> ", shape_str(y.shape));
  Acc init = 0;
  if (f == ReduceFn::Prod) init = 1;
  if (f == ReduceFn::Max) init = std::numeric_limits<T>::has_infinity ? -std::numeric_limits<Acc>::infinity()
                                                                      : std::numeric_limits<Acc>::lowest();
  if (f == ReduceFn::Min) init = std::numeric_limits<T>::has_infinity ? std::numeric_limits<Acc>::infinity()
                                                                      : std::numeric_limits<Acc>::max();
  std::vector<Acc> acc(static_cast<size_t>(y.numel()), init);
  const T* px = x.as<const T>();
  const std::vector<int64_t> st = broadcast_strides(kept, x.shape);
  for_each_offset<1>(x.shape, {st}, {0}, [&](int64_t i, const std::array<int64_t, 1>& o) {
    Acc& a = acc[o[0]];
    const Acc v = px[i];
    switch (f) {
      case ReduceFn::Mean:
      case ReduceFn::Sum: a += v; break;
      case ReduceFn::Prod: a *= v; break;
      case ReduceFn::Max: a = v > a ? v : a; break;
      case ReduceFn::Min: a = v < a ? v : a; break;
    }
  });
  T* py = y.as<T>();
  for (size_t i = 0; i < acc.size(); ++i)
    py[i] = static_cast<T>(f == ReduceFn::Mean ? acc[i] / static_cast<Acc>(count) : acc[i]);
}

}  // namespace

void reduce(ReduceFn f, const Tensor& x, const std::vector<int64_t>& axes, const Tensor& y) {
  ER_CHECK(x.dtype == y.dtype, "reduce: ", dtype_name(x.dtype), " -> ", dtype_name(y.dtype));
  if (x.dtype == DType::F32) return reduce_typed<float, double>(f, x, axes, y);
  if (x.dtype == DType::I64 && f != ReduceFn::Mean) return reduce_typed<int64_t, int64_t>(f, x, axes, y);
  unsupported("reduce", x.dtype);
}

void arg_extreme(const Tensor& x, int64_t axis, bool is_max, bool select_last, const Tensor& y) {
  if (y.dtype != DType::I64) unsupported("ArgMax/ArgMin (output)", y.dtype);
  const AxisSplit s = split_at(x.shape, axis);
  ER_CHECK(s.n > 0 && y.numel() == s.outer * s.inner, "ArgMax/ArgMin: ", shape_str(x.shape), " -> ",
           shape_str(y.shape));
  dispatch_numeric(x.dtype, "ArgMax/ArgMin", false, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* px = x.as<const T>();
    int64_t* py = y.as<int64_t>();
    for (int64_t o = 0; o < s.outer; ++o)
      for (int64_t i = 0; i < s.inner; ++i) {
        const T* col = px + o * s.n * s.inner + i;
        int64_t best = 0;
        for (int64_t j = 1; j < s.n; ++j) {
          const T v = col[j * s.inner], b = col[best * s.inner];
          const bool better = is_max ? (select_last ? v >= b : v > b) : (select_last ? v <= b : v < b);
          if (better) best = j;
        }
        py[o * s.inner + i] = best;
      }
  });
}

void topk(const Tensor& x, int64_t k, int64_t axis, bool largest, const Tensor& values,
          const Tensor& indices) {
  if (indices.dtype != DType::I64) unsupported("TopK (indices)", indices.dtype);
  ER_CHECK(values.dtype == x.dtype, "TopK: values ", dtype_name(values.dtype), " for x ", dtype_name(x.dtype));
  const AxisSplit s = split_at(x.shape, axis);
  ER_CHECK(k >= 0 && k <= s.n && values.numel() == s.outer * k * s.inner &&
               indices.numel() == values.numel(),
           "TopK: k ", k, " of ", shape_str(x.shape), " -> ", shape_str(values.shape));
  dispatch_numeric(x.dtype, "TopK", false, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* px = x.as<const T>();
    T* pv = values.as<T>();
    int64_t* pi = indices.as<int64_t>();
    std::vector<int64_t> order(static_cast<size_t>(s.n));
    for (int64_t o = 0; o < s.outer; ++o)
      for (int64_t i = 0; i < s.inner; ++i) {
        const T* col = px + o * s.n * s.inner + i;
        std::iota(order.begin(), order.end(), int64_t{0});
        // Ties go to the lower index, so the order is total and the result deterministic.
        std::partial_sort(order.begin(), order.begin() + k, order.end(), [&](int64_t u, int64_t v) {
          const T a = col[u * s.inner], b = col[v * s.inner];
          if constexpr (std::is_floating_point_v<T>) {
            // NaN ranks above every number, which keeps the comparison a strict weak order.
            const bool na = std::isnan(a), nb = std::isnan(b);
            if (na || nb) return na && nb ? u < v : (largest ? na : nb);
          }
          if (a != b) return largest ? a > b : a < b;
          return u < v;
        });
        for (int64_t j = 0; j < k; ++j) {
          const int64_t dst = (o * k + j) * s.inner + i;
          pv[dst] = col[order[j] * s.inner];
          pi[dst] = order[j];
        }
      }
  });
}

}  // namespace edgerun::kernels
