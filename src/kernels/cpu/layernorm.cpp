// LayerNorm over the last dimension. The fast path makes two passes in float with a vectorizable
// loop; the reference accumulates in double. Both use the biased variance, as torch does.
#include <cmath>

#include "kernels/cpu/fast_math.h"
#include "kernels/cpu/kernels.h"

namespace edgerun::kernels {

EDGERUN_SIMD_CLONES void layernorm(const float* x, int64_t M, int64_t D, const float* gamma,
                                   const float* beta, float eps, float* y) {
  for (int64_t i = 0; i < M; ++i) {
    const float* xr = x + i * D;
    float* yr = y + i * D;
    float sum = 0.0f;
    for (int64_t j = 0; j < D; ++j) sum += xr[j];
    const float mean = sum / static_cast<float>(D);
    float var = 0.0f;
    for (int64_t j = 0; j < D; ++j) {
      float d = xr[j] - mean;
      var += d * d;
    }
    const float rstd = 1.0f / std::sqrt(var / static_cast<float>(D) + eps);
    for (int64_t j = 0; j < D; ++j) yr[j] = (xr[j] - mean) * rstd * gamma[j] + beta[j];
  }
}

void layernorm_ref(const float* x, int64_t M, int64_t D, const float* gamma, const float* beta,
                   float eps, float* y) {
  for (int64_t i = 0; i < M; ++i) {
    double mean = 0, var = 0;
    for (int64_t j = 0; j < D; ++j) mean += x[i * D + j];
    mean /= static_cast<double>(D);
    for (int64_t j = 0; j < D; ++j) var += (x[i * D + j] - mean) * (x[i * D + j] - mean);
    var /= static_cast<double>(D);
    double rstd = 1.0 / std::sqrt(var + eps);
    for (int64_t j = 0; j < D; ++j)
      y[i * D + j] = static_cast<float>((x[i * D + j] - mean) * rstd * gamma[j] + beta[j]);
  }
}

}  // namespace edgerun::kernels
