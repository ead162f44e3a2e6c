// Tensor: a non-owning, row-major view (dtype, shape, data pointer). Owners are block buffers and
// activation allocations taken from the MemoryBudget; a Tensor never frees anything.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/error.h"
#include "edgerun/array.h"
#include "edgerun/dtype.h"

namespace edgerun {

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
