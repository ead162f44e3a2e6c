// Elementwise add (residual connections).
#include "kernels/cpu/kernels.h"

namespace edgerun::kernels {

void add(const float* a, const float* b, int64_t n, float* y) {
  for (int64_t i = 0; i < n; ++i) y[i] = a[i] + b[i];
}

}  // namespace edgerun::kernels
