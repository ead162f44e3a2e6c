// The ARAP's functional units apart from the scheduler (arap_sim.h): cycles of each run kind on
// one PE group, and the plain fp32 SFU steps (LayerNorm, GELU) used where no engine kernels are
// given.
#include <cmath>

#include "sim/arap_sim.h"

namespace edgerun::sim::arap {

int64_t gemm_cycles(int64_t m, int64_t n, int64_t k) {
  // SCALE-Sim's output-stationary fold on a 2x2 array: tau = R + C + K - 2 = K + 2 per fold.
  return ((m + 1) / 2) * ((n + 1) / 2) * (k + 2) + kGemmPostCycles;
}
int64_t smax_cycles(int64_t m, int64_t n) {
  // One row per PE: max pass, 2^u-and-sum pass, log2 of the sum, output pass.
  return ((m + 3) / 4) * (3 * n + kSmaxLog2Cycles);
}
int64_t vec_cycles(int64_t m, int64_t n) { return (m * n + 3) / 4 + kVecDepth; }
int64_t sfu_cycles(SfuFn fn, int64_t m, int64_t n) {
  switch (fn) {
    case SfuFn::Ln: return ((m + 3) / 4) * (3 * n + kLnRsqrtCycles);  // one row per PE: mean, variance, scale
    case SfuFn::Act: return (m * n + 3) / 4 + kActDepth;
    default: return (m * n + 3) / 4 + kVecDepth;
  }
}
int64_t sfu_busy_pe_cycles(SfuFn fn, int64_t m, int64_t n) {
  return fn == SfuFn::Ln ? m * (3 * n + kLnRsqrtCycles) : m * n;
}

Fp32Ops plain_fp32_ops() {
  Fp32Ops o;
  o.layernorm = [](const float* x, int64_t rows, int64_t d, const float* gamma, const float* beta, float eps,
                   float* y) {
    for (int64_t i = 0; i < rows; ++i) {
      const float* xr = x + i * d;
      float sum = 0.0f;
      for (int64_t j = 0; j < d; ++j) sum += xr[j];
      const float mean = sum / static_cast<float>(d);
      float var = 0.0f;
      for (int64_t j = 0; j < d; ++j) var += (xr[j] - mean) * (xr[j] - mean);
      const float rstd = 1.0f / std::sqrt(var / static_cast<float>(d) + eps);
      for (int64_t j = 0; j < d; ++j) y[i * d + j] = (xr[j] - mean) * rstd * gamma[j] + beta[j];
    }
  };
  o.activation = [](const float* x, int64_t n, float* y) {
    for (int64_t i = 0; i < n; ++i) y[i] = 0.5f * x[i] * (1.0f + std::erf(x[i] * 0.70710678118654752f));
  };
  return o;
}

}  // namespace edgerun::sim::arap
