// Helpers of the CPU N-D kernel tests (tests/test_nd_kernels*.cpp): Tensors over vectors the
// test owns, NaN-filled outputs, random inputs, and the closeness check.
#pragma once
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "kernels/cpu/nd_kernels.h"
#include "test_util.h"

namespace edgerun::test::ndk {

using F = std::vector<float>;
using I64 = std::vector<int64_t>;
using B = std::vector<uint8_t>;  // BOOL storage

template <typename T>
inline DType dtype_of() {
  if constexpr (std::is_same_v<T, float>) return DType::F32;
  if constexpr (std::is_same_v<T, double>) return DType::F64;
  if constexpr (std::is_same_v<T, int64_t>) return DType::I64;
  if constexpr (std::is_same_v<T, int32_t>) return DType::I32;
  if constexpr (std::is_same_v<T, int8_t>) return DType::I8;
  if constexpr (std::is_same_v<T, uint16_t>) return DType::F16;
  return DType::U8;
}

// A Tensor over a vector the test owns.
template <typename T>
Tensor view(std::vector<T>& v, Shape s, DType dt = dtype_of<T>()) {
  EXPECT_EQ(static_cast<int64_t>(v.size()), shape_numel(s)) << shape_str(s);
  return Tensor{dt, std::move(s), v.data()};
}
inline Tensor bools(B& v, Shape s) { return view(v, std::move(s), DType::BOOL); }

// Outputs start as NaN so that an element a kernel never writes fails the comparison.
inline F nans(int64_t n) { return F(static_cast<size_t>(n), std::numeric_limits<float>::quiet_NaN()); }

inline F rnd(int64_t n, uint32_t seed) {
  std::mt19937 g(seed);
  std::normal_distribution<float> d(0.0f, 1.0f);
  F v(static_cast<size_t>(n));
  for (auto& x : v) x = d(g);
  return v;
}

inline void expect_close(const F& got, const F& want, double tol = 1e-5) {
  ASSERT_EQ(got.size(), want.size());
  EXPECT_LT(test::max_rel_err(got, want), tol) << ::testing::PrintToString(got);
}

inline F unary_f(UnaryFn f, F x, Epilogue e = {}) {
  F y = nans(static_cast<int64_t>(x.size()));
  const Shape s{static_cast<int64_t>(x.size())};
  kernels::unary(f, e, view(x, s), view(y, s));
  return y;
}

}  // namespace edgerun::test::ndk
