// HostArray: an owned, contiguous, row-major array on the heap for a caller's inputs and outputs
// (.npy files, pixel values, token ids, logits). Engine-internal memory never uses it: that all
// comes from the MemoryBudget.
#pragma once
#include <cstdint>
#include <cstring>
#include <vector>

#include "core/dtype.h"
#include "core/tensor.h"

namespace edgerun {

struct HostArray {
  DType dtype = DType::F32;
  Shape shape;
  std::vector<uint8_t> bytes;

  HostArray() = default;
  HostArray(DType t, Shape s) : dtype(t), shape(std::move(s)) {
    bytes.resize(static_cast<size_t>(shape_numel(shape) * dtype_size(dtype)));
  }
  int64_t numel() const { return shape_numel(shape); }
  template <typename T>
  T* as() {
    return reinterpret_cast<T*>(bytes.data());
  }
  template <typename T>
  const T* as() const {
    return reinterpret_cast<const T*>(bytes.data());
  }
  Tensor view() { return Tensor{dtype, shape, bytes.data()}; }
};

}  // namespace edgerun
