// Elementwise activations. The fast path uses fast_math.h so the loops vectorize; the reference
// calls libm (std::erf, std::tanh, std::exp) in double.
#include <cmath>

#include "kernels/cpu/fast_math.h"
#include "kernels/cpu/kernels.h"

namespace edgerun::kernels {

namespace {
// One plain loop per activation, each cloned for AVX-512 / AVX2 / baseline so it vectorizes.
EDGERUN_SIMD_CLONES void gelu_erf(const float* x, int64_t n, float* y) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) y[i] = 0.5f * x[i] * (1.0f + fast_erf(x[i] * 0.70710678118654752f));
}
EDGERUN_SIMD_CLONES void gelu_tanh(const float* x, int64_t n, float* y) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i];
    y[i] = 0.5f * v * (1.0f + fast_tanh(0.79788456080286536f * (v + 0.044715f * v * v * v)));
  }
}
EDGERUN_SIMD_CLONES void relu(const float* x, int64_t n, float* y) {
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}
EDGERUN_SIMD_CLONES void tanh_act(const float* x, int64_t n, float* y) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) y[i] = fast_tanh(x[i]);
}
EDGERUN_SIMD_CLONES void quick_gelu(const float* x, int64_t n, float* y) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] / (1.0f + fast_exp(-1.702f * x[i]));
}
EDGERUN_SIMD_CLONES void silu(const float* x, int64_t n, float* y) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] / (1.0f + fast_exp(-x[i]));
}
}  // namespace

void activation(const float* x, int64_t n, ActKind act, float* y) {
  switch (act) {
    case ActKind::GeluErf: gelu_erf(x, n, y); break;
    case ActKind::GeluTanh: gelu_tanh(x, n, y); break;
    case ActKind::Relu: relu(x, n, y); break;
    case ActKind::Tanh: tanh_act(x, n, y); break;
    case ActKind::QuickGelu: quick_gelu(x, n, y); break;
    case ActKind::Silu: silu(x, n, y); break;
  }
}

void activation_ref(const float* x, int64_t n, ActKind act, float* y) {
  for (int64_t i = 0; i < n; ++i) {
    double v = x[i], r = 0;
    switch (act) {
      case ActKind::GeluErf: r = 0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0))); break;
      case ActKind::GeluTanh:
        r = 0.5 * v * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (v + 0.044715 * v * v * v)));
        break;
      case ActKind::Relu: r = v > 0 ? v : 0; break;
      case ActKind::Tanh: r = std::tanh(v); break;
      case ActKind::QuickGelu: r = v / (1.0 + std::exp(-1.702 * v)); break;
      case ActKind::Silu: r = v / (1.0 + std::exp(-v)); break;
    }
    y[i] = static_cast<float>(r);
  }
}

}  // namespace edgerun::kernels
