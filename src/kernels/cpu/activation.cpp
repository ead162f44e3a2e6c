// Elementwise activations. The fast path uses fast_math.h so the loops vectorize; the reference
// calls libm (std::erf, std::tanh, std::exp) in double.
#include <cmath>

#include "kernels/cpu/fast_math.h"
#include "kernels/cpu/kernels.h"

namespace edgerun::kernels {

namespace {
template <typename F>
void apply(const float* x, int64_t n, float* y, F f) {
  for (int64_t i = 0; i < n; ++i) y[i] = f(x[i]);
}
}  // namespace

void activation(const float* x, int64_t n, ActKind act, float* y) {
  switch (act) {
    case ActKind::GeluErf:
      apply(x, n, y, [](float v) { return 0.5f * v * (1.0f + fast_erf(v * 0.70710678118654752f)); });
      break;
    case ActKind::GeluTanh:
      apply(x, n, y, [](float v) {
        return 0.5f * v * (1.0f + fast_tanh(0.79788456080286536f * (v + 0.044715f * v * v * v)));
      });
      break;
    case ActKind::Relu:
      apply(x, n, y, [](float v) { return v > 0.0f ? v : 0.0f; });
      break;
    case ActKind::Tanh:
      apply(x, n, y, [](float v) { return fast_tanh(v); });
      break;
    case ActKind::QuickGelu:
      apply(x, n, y, [](float v) { return v / (1.0f + fast_exp(-1.702f * v)); });
      break;
    case ActKind::Silu:
      apply(x, n, y, [](float v) { return v / (1.0f + fast_exp(-v)); });
      break;
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
