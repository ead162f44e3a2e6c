// Normalizations of the N-D ops: Softmax / LogSoftmax over one axis, LayerNormalization over the
// trailing axes, BatchNormalization at inference, and the per-channel affine that a folded
// BatchNormalization leaves behind a conv. Sums run in double: these are the references.
#include <algorithm>
#include <cmath>
#include <limits>

#include "kernels/cpu/nd_common.h"
#include "kernels/cpu/nd_kernels.h"

namespace edgerun::kernels {

using namespace nd;

void softmax(const Tensor& x, int64_t axis, bool log, const Tensor& y) {
  require_f32("Softmax", x);
  require_f32("Softmax", y);
  ER_CHECK(x.shape == y.shape, "Softmax: ", shape_str(x.shape), " -> ", shape_str(y.shape));
  const AxisSplit s = split_at(x.shape, axis);
  const float* px = x.f32();
  float* py = y.f32();
  for (int64_t o = 0; o < s.outer; ++o)
    for (int64_t i = 0; i < s.inner; ++i) {
      const int64_t base = o * s.n * s.inner + i;
      // The max is subtracted so that exp never overflows.
      float mx = -std::numeric_limits<float>::infinity();
      for (int64_t j = 0; j < s.n; ++j) mx = std::max(mx, px[base + j * s.inner]);
      double sum = 0;
      for (int64_t j = 0; j < s.n; ++j) sum += std::exp(static_cast<double>(px[base + j * s.inner]) - mx);
      for (int64_t j = 0; j < s.n; ++j) {
        const double d = static_cast<double>(px[base + j * s.inner]) - mx;
        py[base + j * s.inner] = static_cast<float>(log ? d - std::log(sum) : std::exp(d) / sum);
      }
    }
}

void layer_norm(const Tensor& x, int64_t axis, float eps, const float* scale, const float* bias,
                const Tensor& y) {
  require_f32("LayerNormalization", x);
  require_f32("LayerNormalization", y);
  ER_CHECK(x.shape == y.shape && scale, "LayerNormalization: ", shape_str(x.shape));
  ER_CHECK(axis >= 0 && axis <= static_cast<int64_t>(x.shape.size()), "LayerNormalization axis ", axis);
  int64_t rows = 1, d = 1;
  for (int64_t i = 0; i < static_cast<int64_t>(x.shape.size()); ++i) (i < axis ? rows : d) *= x.shape[i];
  const float* px = x.f32();
  float* py = y.f32();
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = px + r * d;
    float* yr = py + r * d;
    double mean = 0, var = 0;
    for (int64_t j = 0; j < d; ++j) mean += xr[j];
    mean /= static_cast<double>(d);
    for (int64_t j = 0; j < d; ++j) var += (xr[j] - mean) * (xr[j] - mean);
    const double rstd = 1.0 / std::sqrt(var / static_cast<double>(d) + eps);
    for (int64_t j = 0; j < d; ++j)
      yr[j] = static_cast<float>((xr[j] - mean) * rstd * scale[j] + (bias ? bias[j] : 0.0f));
  }
}

namespace {
// (N, C, inner) of a channels-first tensor.
AxisSplit channels(const Tensor& t, const char* op) {
  ER_CHECK(t.shape.size() >= 2, op, ": ", shape_str(t.shape), " has no channel axis");
  return split_at(t.shape, 1);
}
}  // namespace

void batch_norm(const Tensor& x, const float* scale, const float* bias, const float* mean,
                const float* var, float eps, const Tensor& y) {
  require_f32("BatchNormalization", x);
  require_f32("BatchNormalization", y);
  ER_CHECK(x.shape == y.shape, "BatchNormalization: ", shape_str(x.shape), " -> ", shape_str(y.shape));
  const AxisSplit s = channels(x, "BatchNormalization");
  const float* px = x.f32();
  float* py = y.f32();
  for (int64_t c = 0; c < s.n; ++c) {
    const float mul = static_cast<float>(scale[c] / std::sqrt(static_cast<double>(var[c]) + eps));
    const float add = bias[c] - mean[c] * mul;
    for (int64_t o = 0; o < s.outer; ++o) {
      const int64_t base = (o * s.n + c) * s.inner;
      for (int64_t i = 0; i < s.inner; ++i) py[base + i] = px[base + i] * mul + add;
    }
  }
}

void channel_affine(const Tensor& y, const float* mul, const float* add, const Epilogue& epi) {
  require_f32("channel affine", y);
  const AxisSplit s = channels(y, "channel affine");
  float* py = y.f32();
  for (int64_t o = 0; o < s.outer; ++o)
    for (int64_t c = 0; c < s.n; ++c) {
      float* p = py + (o * s.n + c) * s.inner;
      for (int64_t i = 0; i < s.inner; ++i) p[i] = p[i] * mul[c] + add[c];
      apply_epilogue(p, s.inner, epi);
    }
}

}  // namespace edgerun::kernels
