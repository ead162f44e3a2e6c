// Elementwise add (residual connections).
#include "kernels/cpu/fast_math.h"
#include "kernels/cpu/kernels.h"

namespace edgerun::kernels {

EDGERUN_SIMD_CLONES void add(const float* a, const float* b, int64_t n, float* y) {
  for (int64_t i = 0; i < n; ++i) y[i] = a[i] + b[i];
}

}  // namespace edgerun::kernels
