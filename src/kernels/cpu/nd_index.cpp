// GatherElements and Trilu: index-driven copies (any dtype; plain loops, their own reference).
#include <cstring>

#include "kernels/cpu/nd_common.h"
#include "kernels/cpu/nd_kernels.h"

namespace edgerun::kernels {

using namespace nd;

void gather_elements(const Tensor& data, const Tensor& indices, int64_t axis, const Tensor& y) {
  if (indices.dtype != DType::I64 && indices.dtype != DType::I32) unsupported("GatherElements (indices)", indices.dtype);
  ER_CHECK(data.dtype == y.dtype && y.shape == indices.shape && data.shape.size() == indices.shape.size(),
           "GatherElements: ", shape_str(data.shape), " by ", shape_str(indices.shape), " -> ", shape_str(y.shape));
  // Element j of y is data at j's coordinates in indices, its axis coordinate replaced by the index.
  const std::vector<int64_t> ds = contiguous_strides(data.shape), is = contiguous_strides(indices.shape);
  const int64_t es = dtype_size(data.dtype), rank = static_cast<int64_t>(data.shape.size());
  const char* pd = static_cast<const char*>(data.data);
  char* py = static_cast<char*>(y.data);
  for (int64_t j = 0; j < indices.numel(); ++j) {
    int64_t idx = indices.dtype == DType::I64 ? indices.as<const int64_t>()[j] : indices.as<const int32_t>()[j];
    const int64_t given = idx, n = data.shape[axis];
    if (idx < 0) idx += n;
    if (idx < 0 || idx >= n)
      ER_THROW(InputError, "GatherElements: index ", given, " is out of range for axis ", axis, " of size ", n);
    int64_t rest = j, off = 0;
    for (int64_t d = 0; d < rank; ++d) {
      const int64_t c = rest / is[d];
      rest %= is[d];
      ER_CHECK(d == axis || c < data.shape[d], "GatherElements: indices exceed data off the axis");
      off += (d == axis ? idx : c) * ds[d];
    }
    std::memcpy(py + j * es, pd + off * es, static_cast<size_t>(es));
  }
}

void trilu(const Tensor& x, int64_t k, bool upper, const Tensor& y) {
  ER_CHECK(x.shape.size() >= 2 && x.shape == y.shape && x.dtype == y.dtype, "Trilu: ", shape_str(x.shape));
  const int64_t R = x.shape[x.shape.size() - 2], C = x.shape.back(), es = dtype_size(x.dtype);
  const int64_t mats = R * C ? x.numel() / (R * C) : 0;
  const char* px = static_cast<const char*>(x.data);
  char* py = static_cast<char*>(y.data);
  for (int64_t m = 0; m < mats; ++m)
    for (int64_t r = 0; r < R; ++r)
      for (int64_t c = 0; c < C; ++c) {
        const int64_t at = ((m * R + r) * C + c) * es;
        const bool keep = upper ? c - r >= k : c - r <= k;
        if (keep) std::memcpy(py + at, px + at, static_cast<size_t>(es));
        else std::memset(py + at, 0, static_cast<size_t>(es));
      }
}

}  // namespace edgerun::kernels
