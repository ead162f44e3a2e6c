// ViTALiTy Taylor attention (DESIGN.md "Numerics"): exp(x) ~ 1 + x on keys mean-centred over the
// n valid tokens, so sum_j k^_j = 0, the normaliser is the constant n and per (sequence, head)
//   Z = 1 v_sum^T / n + (scale / n) Q (K^^T V)        O(n d^2), no per-row division.
// The reference evaluates the unsimplified form sum_j (1 + s q.k^_j) v_j / sum_j (1 + s q.k^_j)
// in double, which checks the algebra as well as the code. Not causal; no KV cache.
#include <cblas.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "core/error.h"
#include "kernels/cpu/kernels.h"

namespace edgerun::kernels {

namespace {
// Valid keys of sequence b; a sequence with none counts all of them (see kernels.h).
int64_t valid_count(const AttentionArgs& a, int64_t b, bool* all) {
  int64_t n = 0;
  for (int64_t j = 0; j < a.T; ++j) n += a.key_valid(b, j);
  *all = n == 0 || !a.key_mask;
  return n == 0 ? a.T : n;
}
void check_args(const AttentionArgs& a, const char* what) {
  ER_CHECK(!a.causal && !a.k_cache && a.past == 0, what, " attention is not causal and keeps no KV cache");
}
}  // namespace

int64_t attention_taylor_scratch_floats(int64_t T, int64_t hd) { return T * hd + hd * hd + 2 * hd; }

void attention_taylor(const AttentionArgs& a) {
  check_args(a, "taylor");
  const int64_t T = a.T, H = a.n_head, hd = a.head_dim, D = H * hd;
  float* khat = a.scratch;       // (T, hd): centred keys, 0 on padding
  float* m = khat + T * hd;      // (hd, hd): K^^T V
  float* v_mean = m + hd * hd;   // (hd)
  std::vector<double> ks(static_cast<size_t>(hd)), vs(static_cast<size_t>(hd));
  for (int64_t b = 0; b < a.B; ++b) {
    bool all = false;
    const int64_t n = valid_count(a, b, &all);
    for (int64_t h = 0; h < H; ++h) {
      const float* q = a.q + b * T * a.q_stride + h * hd;
      const float* k = a.k + b * T * a.k_stride + h * hd;
      const float* v = a.v + b * T * a.v_stride + h * hd;
      // Column sums in double: the mean must cancel to well below the products' rounding.
      std::fill(ks.begin(), ks.end(), 0.0);
      std::fill(vs.begin(), vs.end(), 0.0);
      for (int64_t j = 0; j < T; ++j) {
        if (!all && !a.key_valid(b, j)) continue;
        for (int64_t d = 0; d < hd; ++d) {
          ks[d] += k[j * a.k_stride + d];
          vs[d] += v[j * a.v_stride + d];
        }
      }
      for (int64_t d = 0; d < hd; ++d) v_mean[d] = static_cast<float>(vs[d] / static_cast<double>(n));
      for (int64_t j = 0; j < T; ++j) {
        const bool use = all || a.key_valid(b, j);
        for (int64_t d = 0; d < hd; ++d)
          khat[j * hd + d] = use ? static_cast<float>(k[j * a.k_stride + d] - ks[d] / static_cast<double>(n)) : 0.0f;
      }
      // m (hd, hd) = K^^T V; padded keys have zero rows in K^ and drop out.
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, static_cast<int>(hd), static_cast<int>(hd),
                  static_cast<int>(T), 1.0f, khat, static_cast<int>(hd), v, static_cast<int>(a.v_stride),
                  0.0f, m, static_cast<int>(hd));
      // Z = (scale / n) Q m + v_mean, written into this head's columns.
      float* out = a.out + b * T * D + h * hd;
      for (int64_t i = 0; i < T; ++i) std::memcpy(out + i * D, v_mean, static_cast<size_t>(hd) * 4);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(T), static_cast<int>(hd),
                  static_cast<int>(hd), a.scale / static_cast<float>(n), q, static_cast<int>(a.q_stride), m,
                  static_cast<int>(hd), 1.0f, out, static_cast<int>(D));
    }
  }
}

void attention_taylor_ref(const AttentionArgs& a) {
  check_args(a, "taylor");
  const int64_t T = a.T, H = a.n_head, hd = a.head_dim, D = H * hd;
  std::vector<double> mean(static_cast<size_t>(hd)), num(static_cast<size_t>(hd));
  for (int64_t b = 0; b < a.B; ++b) {
    bool all = false;
    const int64_t n = valid_count(a, b, &all);
    for (int64_t h = 0; h < H; ++h) {
      const float* q = a.q + b * T * a.q_stride + h * hd;
      const float* k = a.k + b * T * a.k_stride + h * hd;
      const float* v = a.v + b * T * a.v_stride + h * hd;
      for (int64_t d = 0; d < hd; ++d) {
        double s = 0;
        for (int64_t j = 0; j < T; ++j)
          if (all || a.key_valid(b, j)) s += k[j * a.k_stride + d];
        mean[d] = s / static_cast<double>(n);
      }
      for (int64_t i = 0; i < T; ++i) {
        double den = 0;
        std::fill(num.begin(), num.end(), 0.0);
        for (int64_t j = 0; j < T; ++j) {
          if (!all && !a.key_valid(b, j)) continue;
          double dot = 0;
          for (int64_t d = 0; d < hd; ++d)
            dot += static_cast<double>(q[i * a.q_stride + d]) * (k[j * a.k_stride + d] - mean[d]);
          const double w = 1.0 + a.scale * dot;  // exp(x) ~ 1 + x
          den += w;
          for (int64_t d = 0; d < hd; ++d) num[d] += w * v[j * a.v_stride + d];
        }
        for (int64_t d = 0; d < hd; ++d) a.out[(b * T + i) * D + h * hd + d] = static_cast<float>(num[d] / den);
      }
    }
  }
}

}  // namespace edgerun::kernels
