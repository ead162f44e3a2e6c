// Shiftmax attention (DESIGN.md "Numerics"), the divider-free softmax of the reconfigurable
// array: with s = (scale * log2 e) q.k (log2 e folded into the score scale, else this would be a
// softmax at the wrong temperature) and u_j = s_j - max_j s_j <= 0,
//   y_j = 2^(u_j - log2 sum_k 2^(u_k)),
// 2^u as (1 + frac u) 2^floor(u) (a shift and an add in hardware) and log2 of the sum by Mitchell
// (leading-one position plus the mantissa read as the fraction). Both are continuous piecewise
// linear, so fp32 and the float64 reference agree to rounding. Masking as attention(). No cache.
#include <cblas.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <vector>

#include "core/error.h"
#include "kernels/cpu/kernels.h"

namespace edgerun::kernels {

namespace {
constexpr float kLog2e = 1.44269504088896341f;
constexpr float kMaskedScore = std::numeric_limits<float>::lowest();  // as attention()

inline float pow2_inline(float u) {
  if (!(u > -126.0f)) return 0.0f;  // below the smallest normal: 0 (also -inf from masking)
  const float fl = std::floor(u);
  const float f = u - fl;  // exact: fl is u's integer part
  return std::bit_cast<float>(static_cast<int32_t>(fl + 127.0f) << 23) * (1.0f + f);
}
inline float log2_inline(float s) {
  const uint32_t b = std::bit_cast<uint32_t>(s);
  return static_cast<float>(static_cast<int32_t>(b >> 23) - 127) +
         static_cast<float>(b & 0x7FFFFFu) * 0x1p-23f;
}

double pow2_ref(double u) {
  if (!(u > -126.0)) return 0.0;
  const double fl = std::floor(u);
  return std::ldexp(1.0 + (u - fl), static_cast<int>(fl));
}
double log2_ref(double s) {
  int e = 0;
  const double m = std::frexp(s, &e);  // s = m 2^e, m in [0.5, 1)
  return (e - 1) + (2.0 * m - 1.0);
}

}  // namespace

float pow2_shift(float u) { return pow2_inline(u); }
float log2_mitchell(float s) { return log2_inline(s); }

void attention_shiftmax(const AttentionArgs& a) {
  ER_CHECK(!a.causal && !a.k_cache && a.past == 0, "shiftmax attention is not causal and keeps no KV cache");
  const int64_t T = a.T, H = a.n_head, hd = a.head_dim, D = H * hd;
  float* s = a.scratch;  // (T, T)
  for (int64_t b = 0; b < a.B; ++b)
    for (int64_t h = 0; h < H; ++h) {
      const float* q = a.q + b * T * a.q_stride + h * hd;
      const float* k = a.k + b * T * a.k_stride + h * hd;
      const float* v = a.v + b * T * a.v_stride + h * hd;
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(T), static_cast<int>(T),
                  static_cast<int>(hd), a.scale * kLog2e, q, static_cast<int>(a.q_stride), k,
                  static_cast<int>(a.k_stride), 0.0f, s, static_cast<int>(T));
      for (int64_t i = 0; i < T; ++i) {
        float* row = s + i * T;
        float mx = kMaskedScore;
        for (int64_t j = 0; j < T; ++j) {
          if (!a.key_valid(b, j)) row[j] += kMaskedScore;
          mx = row[j] > mx ? row[j] : mx;
        }
        float sum = 0.0f;
        for (int64_t j = 0; j < T; ++j) {
          row[j] -= mx;
          sum += pow2_inline(row[j]);
        }
        const float l = log2_inline(sum);  // sum >= 1: the max term is 2^0
        for (int64_t j = 0; j < T; ++j) row[j] = pow2_inline(row[j] - l);
      }
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(T), static_cast<int>(hd),
                  static_cast<int>(T), 1.0f, s, static_cast<int>(T), v, static_cast<int>(a.v_stride), 0.0f,
                  a.out + b * T * D + h * hd, static_cast<int>(D));
    }
}

void attention_shiftmax_ref(const AttentionArgs& a) {
  ER_CHECK(!a.causal && !a.k_cache && a.past == 0, "shiftmax attention is not causal and keeps no KV cache");
  const int64_t T = a.T, H = a.n_head, hd = a.head_dim, D = H * hd;
  bool any = false;
  std::vector<double> u(static_cast<size_t>(T));
  for (int64_t b = 0; b < a.B; ++b)
    for (int64_t h = 0; h < H; ++h) {
      const float* q = a.q + b * T * a.q_stride + h * hd;
      const float* k = a.k + b * T * a.k_stride + h * hd;
      const float* v = a.v + b * T * a.v_stride + h * hd;
      any = false;
      for (int64_t j = 0; j < T; ++j) any |= a.key_valid(b, j);
      for (int64_t i = 0; i < T; ++i) {
        // Padded keys drop out; a row with no valid key weighs all keys equally (as softmax).
        double mx = -INFINITY;
        for (int64_t j = 0; j < T; ++j) {
          double acc = 0;
          for (int64_t d = 0; d < hd; ++d) acc += static_cast<double>(q[i * a.q_stride + d]) * k[j * a.k_stride + d];
          u[j] = any ? (!a.key_valid(b, j) ? -INFINITY : acc * a.scale * 1.4426950408889634) : 0.0;
          mx = std::max(mx, u[j]);
        }
        double sum = 0;
        for (int64_t j = 0; j < T; ++j) sum += pow2_ref(u[j] - mx);
        const double l = log2_ref(sum);
        for (int64_t d = 0; d < hd; ++d) {
          double acc = 0;
          for (int64_t j = 0; j < T; ++j) acc += pow2_ref(u[j] - mx - l) * v[j * a.v_stride + d];
          a.out[(b * T + i) * D + h * hd + d] = static_cast<float>(acc);
        }
      }
    }
}

}  // namespace edgerun::kernels
