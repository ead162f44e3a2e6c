// SimA attention (DESIGN.md "Numerics"): Q and K each divided column-wise by their L1 norm over
// the valid tokens plus kSimaEps, then Z = Q^ (K^^T V): no softmax, no 1/sqrt(d), O(n d^2).
// The reference evaluates the quadratic form Z_i = sum_j (q^_i . k^_j) v_j in double.
// Not causal; no KV cache.
#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/error.h"
#include "kernels/cpu/kernels.h"

namespace edgerun::kernels {

namespace {
bool any_valid(const AttentionArgs& a, int64_t b) {
  for (int64_t j = 0; j < a.T; ++j)
    if (a.key_valid(b, j)) return true;
  return false;
}
// 1 / (sum over counted tokens of |x_jd| + eps), per column d, in double.
void inv_l1(const AttentionArgs& a, const float* x, int64_t ld, int64_t b, bool all, double* inv) {
  for (int64_t d = 0; d < a.head_dim; ++d) {
    double s = 0;
    for (int64_t j = 0; j < a.T; ++j)
      if (all || a.key_valid(b, j)) s += std::fabs(static_cast<double>(x[j * ld + d]));
    inv[d] = 1.0 / (s + static_cast<double>(kSimaEps));
  }
}
void check_args(const AttentionArgs& a) {
  ER_CHECK(!a.causal && !a.k_cache && a.past == 0, "sima attention is not causal and keeps no KV cache");
}
}  // namespace

int64_t attention_sima_scratch_floats(int64_t T, int64_t hd) { return 2 * T * hd + hd * hd; }

void attention_sima(const AttentionArgs& a) {
  check_args(a);
  const int64_t T = a.T, H = a.n_head, hd = a.head_dim, D = H * hd;
  float* qhat = a.scratch;      // (T, hd)
  float* khat = qhat + T * hd;  // (T, hd), 0 on padding
  float* m = khat + T * hd;     // (hd, hd)
  std::vector<double> iq(static_cast<size_t>(hd)), ik(static_cast<size_t>(hd));
  for (int64_t b = 0; b < a.B; ++b) {
    const bool all = !a.key_mask || !any_valid(a, b);
    for (int64_t h = 0; h < H; ++h) {
      const float* q = a.q + b * T * a.q_stride + h * hd;
      const float* k = a.k + b * T * a.k_stride + h * hd;
      const float* v = a.v + b * T * a.v_stride + h * hd;
      inv_l1(a, q, a.q_stride, b, all, iq.data());
      inv_l1(a, k, a.k_stride, b, all, ik.data());
      for (int64_t j = 0; j < T; ++j) {
        const bool use = all || a.key_valid(b, j);
        for (int64_t d = 0; d < hd; ++d) {
          qhat[j * hd + d] = static_cast<float>(q[j * a.q_stride + d] * iq[d]);  // every query row
          khat[j * hd + d] = use ? static_cast<float>(k[j * a.k_stride + d] * ik[d]) : 0.0f;
        }
      }
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, static_cast<int>(hd), static_cast<int>(hd),
                  static_cast<int>(T), 1.0f, khat, static_cast<int>(hd), v, static_cast<int>(a.v_stride),
                  0.0f, m, static_cast<int>(hd));
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(T), static_cast<int>(hd),
                  static_cast<int>(hd), 1.0f, qhat, static_cast<int>(hd), m, static_cast<int>(hd), 0.0f,
                  a.out + b * T * D + h * hd, static_cast<int>(D));
    }
  }
}

void attention_sima_ref(const AttentionArgs& a) {
  check_args(a);
  const int64_t T = a.T, H = a.n_head, hd = a.head_dim, D = H * hd;
  std::vector<double> iq(static_cast<size_t>(hd)), ik(static_cast<size_t>(hd)), acc(static_cast<size_t>(hd));
  for (int64_t b = 0; b < a.B; ++b) {
    const bool all = !a.key_mask || !any_valid(a, b);
    for (int64_t h = 0; h < H; ++h) {
      const float* q = a.q + b * T * a.q_stride + h * hd;
      const float* k = a.k + b * T * a.k_stride + h * hd;
      const float* v = a.v + b * T * a.v_stride + h * hd;
      inv_l1(a, q, a.q_stride, b, all, iq.data());
      inv_l1(a, k, a.k_stride, b, all, ik.data());
      for (int64_t i = 0; i < T; ++i) {
        std::fill(acc.begin(), acc.end(), 0.0);
        for (int64_t j = 0; j < T; ++j) {
          if (!all && !a.key_valid(b, j)) continue;
          double w = 0;
          for (int64_t d = 0; d < hd; ++d)
            w += q[i * a.q_stride + d] * iq[d] * (k[j * a.k_stride + d] * ik[d]);
          for (int64_t d = 0; d < hd; ++d) acc[d] += w * v[j * a.v_stride + d];
        }
        for (int64_t d = 0; d < hd; ++d) a.out[(b * T + i) * D + h * hd + d] = static_cast<float>(acc[d]);
      }
    }
  }
}

}  // namespace edgerun::kernels
