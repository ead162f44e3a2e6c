// Implemented in src/core/
//
// HostArray: an owned, contiguous, row-major array on the heap for a caller's inputs and outputs
// (.npy files, pixel values, token ids, logits). Engine-internal memory never uses it: that all
// comes from the MemoryBudget.
#pragma once
#include <cstdint>
#include <cstring>
#include <vector>

#include "edgerun/dtype.h"

namespace edgerun {

using Shape = std::vector<int64_t>;

inline int64_t shape_numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

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
};

}  // namespace edgerun
