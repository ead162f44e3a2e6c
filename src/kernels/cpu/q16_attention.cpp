// q16 attention for every variant (docs/q16.md "Attention"): per (sequence, head) Q, K, V are
// quantized on their exponents and every product runs through the exact int16 GEMM. softmax
// keeps its exp and division in fp32 between the two GEMMs; shiftmax (shifts, adds, a
// leading-one search), taylor (a column accumulator, one fixed-point multiplier for scale / n)
// and sima (column L1 norms, one division per element) are integer throughout. Probabilities
// and L1-normalized values sit on the fixed exponent -15. Not causal; no KV cache.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "core/error.h"
#include "kernels/cpu/fast_math.h"
#include "kernels/cpu/q16.h"

namespace edgerun::q16 {

namespace {
constexpr int kProbExp = -15;  // probabilities and L1-normalized values: k 2^-15, 1.0 -> 32767
constexpr double kLog2e = 1.4426950408889634;

uint64_t round64(uint64_t n) { return (n + 63) / 64 * 64; }

// Scratch carved per (sequence, head); the layout is the same in every call of one variant.
struct Work {
  int16_t *qq, *kq, *vq, *kt, *vt, *p, *wt;
  int64_t *s, *z, *col_a, *col_b;
};
bool quadratic(AttnVariant v) { return v == AttnVariant::Softmax || v == AttnVariant::Shiftmax; }

Work carve(AttnVariant v, int64_t T, int64_t hd, void* scratch) {
  char* c = static_cast<char*>(scratch);
  auto take = [&](uint64_t bytes) {
    char* p = c;
    c += round64(bytes);
    return p;
  };
  const uint64_t th = static_cast<uint64_t>(T * hd), tt = quadratic(v) ? static_cast<uint64_t>(T * T) : 0,
                 hh = static_cast<uint64_t>(hd * hd);
  Work w{};
  w.qq = reinterpret_cast<int16_t*>(take(th * 2));
  w.kq = reinterpret_cast<int16_t*>(take(th * 2));
  w.vq = reinterpret_cast<int16_t*>(take(th * 2));
  w.kt = reinterpret_cast<int16_t*>(take(th * 2));
  w.vt = reinterpret_cast<int16_t*>(take(th * 2));
  w.p = reinterpret_cast<int16_t*>(take(tt * 2));
  w.wt = reinterpret_cast<int16_t*>(take(hh * 2));
  w.s = reinterpret_cast<int64_t*>(take(std::max(tt, hh) * 8));
  w.z = reinterpret_cast<int64_t*>(take(th * 8));
  w.col_a = reinterpret_cast<int64_t*>(take(static_cast<uint64_t>(hd) * 8));
  w.col_b = reinterpret_cast<int64_t*>(take(static_cast<uint64_t>(hd) * 8));
  return w;
}

// Tokens that count for sequence b: the valid ones, or all when none is valid (kernels.h);
// *none says which (softmax and shiftmax then weigh every key equally, as the fp32 kernels).
std::vector<char> counted_tokens(const kernels::AttentionArgs& a, int64_t b, int64_t* n, bool* none = nullptr) {
  std::vector<char> c(static_cast<size_t>(a.T));
  int64_t k = 0;
  for (int64_t j = 0; j < a.T; ++j) k += (c[j] = a.key_valid(b, j));
  if (none) *none = k == 0;
  if (k == 0) {
    std::fill(c.begin(), c.end(), 1);
    k = a.T;
  }
  *n = k;
  return c;
}

// 2^d in Q.15 for d <= 0 in Q.15: (1 + frac) shifted right by -floor(d), rounded half away.
int64_t pow2_q15(int64_t d) {
  const int64_t ip = d >> 15;  // floor (arithmetic shift)
  const int64_t f = d - ip * 32768;
  if (-ip >= 40) return 0;
  return static_cast<int64_t>(shift_round(32768 + f, static_cast<int>(-ip)));
}
// log2(x 2^-15) in Q.15 for x >= 1 (Mitchell): leading-one position plus the bits below it.
int64_t log2_q15(int64_t x) {
  const int e = 63 - __builtin_clzll(static_cast<uint64_t>(x));
  const int64_t frac = x - (int64_t{1} << e);
  return (static_cast<int64_t>(e - 15) << 15) + static_cast<int64_t>(shift_round(frac, e - 15));
}

// out[i, d] on e_out from int64 z (T, hd) on e_z.
void write_out(const kernels::AttentionArgs& a, int64_t b, int64_t h, const int64_t* z, int e_z, int e_out) {
  const int64_t T = a.T, hd = a.head_dim, D = a.n_head * hd;
  const float sc = std::ldexp(1.0f, e_out);
  for (int64_t i = 0; i < T; ++i)
    for (int64_t d = 0; d < hd; ++d)
      a.out[(b * T + i) * D + h * hd + d] = static_cast<float>(requant(z[i * hd + d], e_out - e_z)) * sc;
}

// Probabilities of row i of the scores (int64 on e_s) onto p (int16, 2^-15).
void softmax_row(const int64_t* s, int64_t T, int e_s, float scale, const std::vector<char>& use, float* x,
                 int16_t* p) {
  const double f = std::ldexp(static_cast<double>(scale), e_s);
  float mx = -std::numeric_limits<float>::infinity();
  for (int64_t j = 0; j < T; ++j) {
    x[j] = static_cast<float>(static_cast<double>(s[j]) * f);
    if (use[j]) mx = std::max(mx, x[j]);
  }
  float sum = 0;
  for (int64_t j = 0; j < T; ++j) {
    x[j] = use[j] ? kernels::fast_exp(x[j] - mx) : 0.0f;
    sum += x[j];
  }
  for (int64_t j = 0; j < T; ++j) p[j] = quantize(x[j] / sum, kProbExp);
}

void shiftmax_row(const int64_t* s, int64_t T, int e_s, int64_t mult, int m, const std::vector<char>& use,
                  int64_t* u, int16_t* p) {
  // u = s * scale * log2(e) in Q.15: s 2^e_s mult 2^-m 2^15.
  int64_t mx = std::numeric_limits<int64_t>::min();
  for (int64_t j = 0; j < T; ++j) {
    u[j] = static_cast<int64_t>(mul_shift_round(s[j], mult, m - e_s - 15));
    if (use[j]) mx = std::max(mx, u[j]);
  }
  int64_t sum = 0;
  for (int64_t j = 0; j < T; ++j)
    if (use[j]) sum += pow2_q15(u[j] - mx);  // >= 32768: the max term is 2^0
  const int64_t l = log2_q15(sum);
  for (int64_t j = 0; j < T; ++j) p[j] = use[j] ? saturate(pow2_q15(u[j] - mx - l)) : 0;
}
}  // namespace

uint64_t attention_scratch_bytes(AttnVariant v, int64_t T, int64_t hd) {
  const uint64_t th = static_cast<uint64_t>(T * hd), tt = quadratic(v) ? static_cast<uint64_t>(T * T) : 0,
                 hh = static_cast<uint64_t>(hd * hd);
  return 5 * round64(th * 2) + round64(tt * 2) + round64(hh * 2) + round64(std::max(tt, hh) * 8) +
         round64(th * 8) + 2 * round64(static_cast<uint64_t>(hd) * 8);
}

void attention(AttnVariant v, const kernels::AttentionArgs& a, const AttentionExp& e, void* scratch) {
  ER_CHECK(!a.causal && !a.k_cache && a.past == 0, "q16 attention is not causal and keeps no KV cache");
  const int64_t T = a.T, H = a.n_head, hd = a.head_dim;
  Work w = carve(v, T, hd, scratch);
  int64_t mult = 0;
  int m = 0;
  if (v == AttnVariant::Shiftmax) fixed_multiplier(static_cast<double>(a.scale) * kLog2e, &mult, &m);
  std::vector<int64_t> u(static_cast<size_t>(T));
  std::vector<float> x(static_cast<size_t>(T));
  for (int64_t b = 0; b < a.B; ++b) {
    int64_t n = 0;
    bool none = false;
    const std::vector<char> use = counted_tokens(a, b, &n, &none);
    if (v == AttnVariant::Taylor) fixed_multiplier(static_cast<double>(a.scale) / static_cast<double>(n), &mult, &m);
    for (int64_t h = 0; h < H; ++h) {
      quantize_rows(a.q + b * T * a.q_stride + h * hd, a.q_stride, T, hd, e.q, w.qq);
      quantize_rows(a.k + b * T * a.k_stride + h * hd, a.k_stride, T, hd, e.k, w.kq);
      quantize_rows(a.v + b * T * a.v_stride + h * hd, a.v_stride, T, hd, e.v, w.vq);
      for (int64_t j = 0; j < T; ++j)
        for (int64_t d = 0; d < hd; ++d) w.vt[d * T + j] = w.vq[j * hd + d];
      if (quadratic(v)) {
        gemm(w.qq, hd, w.kq, hd, T, T, hd, w.s, T);  // S = Q K^T on e.q + e.k
        if (none) std::fill(w.s, w.s + T * T, int64_t{0});
        for (int64_t i = 0; i < T; ++i) {
          if (v == AttnVariant::Softmax) softmax_row(w.s + i * T, T, e.q + e.k, a.scale, use, x.data(), w.p + i * T);
          else shiftmax_row(w.s + i * T, T, e.q + e.k, mult, m, use, u.data(), w.p + i * T);
        }
        gemm(w.p, T, w.vt, T, T, hd, T, w.z, hd);  // P V on -15 + e.v
        write_out(a, b, h, w.z, kProbExp + e.v, e.out);
        continue;
      }
      // Linear variants: K^ (transposed, 0 on tokens that do not count), M = K^^T V, then Q M.
      int e_kt = 0;
      if (v == AttnVariant::Taylor) {
        std::fill(w.col_a, w.col_a + hd, int64_t{0});
        std::fill(w.col_b, w.col_b + hd, int64_t{0});
        for (int64_t j = 0; j < T; ++j)  // the column accumulator
          if (use[j])
            for (int64_t d = 0; d < hd; ++d) w.col_a[d] += w.kq[j * hd + d], w.col_b[d] += w.vq[j * hd + d];
        for (int64_t d = 0; d < hd; ++d) {
          w.col_a[d] = div_round(w.col_a[d], n);          // key mean on e.k
          w.col_b[d] = div_round(w.col_b[d] * 65536, n);  // value mean on e.v - 16
        }
        for (int64_t j = 0; j < T; ++j)
          for (int64_t d = 0; d < hd; ++d)  // centred keys reach 2 x 32767: one more exponent bit
            w.kt[d * T + j] = use[j] ? requant(static_cast<int64_t>(w.kq[j * hd + d]) - w.col_a[d], 1) : 0;
        e_kt = e.k + 1;
      } else {  // sima: Q and K over their column L1 norms, on 2^-15
        const int64_t eps_q = std::max<int64_t>(1, std::llround(std::ldexp(kernels::kSimaEps, -e.q)));
        const int64_t eps_k = std::max<int64_t>(1, std::llround(std::ldexp(kernels::kSimaEps, -e.k)));
        std::fill(w.col_a, w.col_a + hd, eps_q);
        std::fill(w.col_b, w.col_b + hd, eps_k);
        for (int64_t j = 0; j < T; ++j)
          if (use[j])
            for (int64_t d = 0; d < hd; ++d) w.col_a[d] += std::abs(w.qq[j * hd + d]), w.col_b[d] += std::abs(w.kq[j * hd + d]);
        for (int64_t j = 0; j < T; ++j)
          for (int64_t d = 0; d < hd; ++d) {
            w.kt[d * T + j] = use[j] ? saturate(div_round(int64_t{w.kq[j * hd + d]} * 32768, w.col_b[d])) : 0;
            w.qq[j * hd + d] = saturate(div_round(int64_t{w.qq[j * hd + d]} * 32768, w.col_a[d]));
          }
        e_kt = kProbExp;
      }
      gemm(w.kt, T, w.vt, T, hd, hd, T, w.s, hd);  // M (hd, hd) on e_kt + e.v
      const int e_m = e_kt + e.v;
      for (int64_t c = 0; c < hd; ++c)
        for (int64_t d = 0; d < hd; ++d) {
          const int64_t mv = w.s[c * hd + d];
          // taylor: W = M scale / n through the fixed-point multiplier; sima: M itself.
          w.wt[d * hd + c] = v == AttnVariant::Taylor ? saturate(mul_shift_round(mv, mult, m + e.mid - e_m))
                                                       : requant(mv, e.mid - e_m);
        }
      const int e_qm = (v == AttnVariant::Taylor ? e.q : kProbExp) + e.mid;
      gemm(w.qq, hd, w.wt, hd, T, hd, hd, w.z, hd);  // Z (T, hd) on e_qm
      if (v == AttnVariant::Sima) {
        write_out(a, b, h, w.z, e_qm, e.out);
        continue;
      }
      // taylor: Z + v_mean, aligned exactly onto the finer exponent, then one rounding.
      const int e_f = std::min(e_qm, e.v - 16);
      const int64_t D = H * hd;
      const float sc = std::ldexp(1.0f, e.out);
      for (int64_t i = 0; i < T; ++i)
        for (int64_t d = 0; d < hd; ++d) {
          const int128 t = shift_round(w.z[i * hd + d], e_f - e_qm) + shift_round(w.col_b[d], e_f - (e.v - 16));
          a.out[(b * T + i) * D + h * hd + d] = static_cast<float>(requant(t, e.out - e_f)) * sc;
        }
    }
  }
}

double attention_mid_amax(AttnVariant v, const kernels::AttentionArgs& a) {
  if (quadratic(v)) return 0.0;
  const int64_t T = a.T, H = a.n_head, hd = a.head_dim;
  double amax = 0;
  std::vector<double> col(static_cast<size_t>(hd)), m(static_cast<size_t>(hd * hd));
  for (int64_t b = 0; b < a.B; ++b) {
    int64_t n = 0;
    const std::vector<char> use = counted_tokens(a, b, &n);
    for (int64_t h = 0; h < H; ++h) {
      const float* k = a.k + b * T * a.k_stride + h * hd;
      const float* vv = a.v + b * T * a.v_stride + h * hd;
      for (int64_t d = 0; d < hd; ++d) {
        double s = 0;
        for (int64_t j = 0; j < T; ++j)
          if (use[j]) s += v == AttnVariant::Taylor ? k[j * a.k_stride + d] : std::fabs(k[j * a.k_stride + d]);
        col[d] = v == AttnVariant::Taylor ? s / static_cast<double>(n) : 1.0 / (s + kernels::kSimaEps);
      }
      std::fill(m.begin(), m.end(), 0.0);
      for (int64_t j = 0; j < T; ++j) {
        if (!use[j]) continue;
        for (int64_t c = 0; c < hd; ++c) {
          const double kh = v == AttnVariant::Taylor ? k[j * a.k_stride + c] - col[c] : k[j * a.k_stride + c] * col[c];
          for (int64_t d = 0; d < hd; ++d) m[c * hd + d] += kh * vv[j * a.v_stride + d];
        }
      }
      const double f = v == AttnVariant::Taylor ? a.scale / static_cast<double>(n) : 1.0;
      for (double x : m) amax = std::max(amax, std::fabs(x * f));
    }
  }
  return amax;
}

}  // namespace edgerun::q16
