// Tensor: a non-owning, row-major view (dtype, shape, data pointer). Owners are block buffers and
// activation allocations taken from the MemoryBudget; a Tensor never frees anything.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/error.h"

namespace edgerun {

using Shape = std::vector<int64_t>;

inline int64_t shape_numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}
std::string shape_str(const Shape& s);  // "(2, 3, 4)"

struct Tensor {
  DType dtype = DType::F32;
  Shape shape;
  void* data = nullptr;

  int64_t numel() const { return shape_numel(shape); }
  int64_t nbytes() const { return numel() * dtype_size(dtype); }
  template <typename T>
  T* as() const {
    return static_cast<T*>(data);
  }
  float* f32() const {
    ER_CHECK(dtype == DType::F32, "tensor is ", dtype_name(dtype), ", not F32");
    return static_cast<float*>(data);
  }
};

}  // namespace edgerun
