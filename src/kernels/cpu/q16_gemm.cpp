// q16 scalar rules (rounding, rescale, quantize) and the exact int16 GEMM C = A B^T in int64:
// a plain reference and two SIMD versions chosen at run time. The library is built for
// x86-64-v2, so the SIMD bodies carry target attributes and run only where
// __builtin_cpu_supports says the CPU has them.
// Exactness: with |a|, |b| <= 32767 one vpmaddwd pair sum is at most 2 * 32767^2 < 2^31, so it
// never overflows. Pair sums are then added into int32 lanes for at most L steps, L chosen per
// call from the operands' actual maxima so that L * 2 * max|A| * max|B| < 2^31 (vpdpwssd wraps
// rather than saturating, and the bound keeps it from wrapping), then widened into int64.
// GCC 12 reports the intrinsics' own _mm*_undefined_* placeholders as maybe-uninitialized.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>

#include "core/error.h"
#include "kernels/cpu/q16.h"

namespace edgerun::q16 {

int128 mul_shift_round(int64_t x, int64_t mult, int s) {
  return shift_round(static_cast<int128>(x) * mult, s);
}

void fixed_multiplier(double c, int64_t* mult, int* s) {
  ER_CHECK(c > 0 && std::isfinite(c), "fixed_multiplier needs a positive constant, got ", c);
  int e = 0;
  const double m = std::frexp(c, &e);  // c = m 2^e, m in [0.5, 1)
  *s = 31 - e;                          // c 2^s = m 2^31 in [2^30, 2^31)
  *mult = std::llround(std::ldexp(m, 31));
  if (*mult == (int64_t{1} << 31)) {  // m rounded up to 1.0
    *mult >>= 1;
    --*s;
  }
}

int64_t div_round(int64_t x, int64_t d) {
  const int64_t q = x / d, r = x % d;  // truncating
  const int64_t r2 = 2 * (r < 0 ? -r : r);
  if (r2 >= d) return x >= 0 ? q + 1 : q - 1;
  return q;
}

namespace {
// x = v 2^-e, already scaled: the product by a power of two is exact in fp32 (an overflow gives
// inf and saturates; an underflow is below 0.5 and rounds to 0 either way). Clamping first keeps
// the rounding in the exactly representable range.
inline int16_t quantize_scaled(float x) {
  if (x != x) return 0;  // NaN
  x = x > 32767.0f ? 32767.0f : (x < -32767.0f ? -32767.0f : x);
  const float t = std::trunc(x), r = x - t;  // r exact
  return static_cast<int16_t>(t + static_cast<float>((r >= 0.5f) - (r <= -0.5f)));  // half away
}
}  // namespace

int16_t quantize(float v, int e) { return quantize_scaled(v * std::ldexp(1.0f, -e)); }

void quantize(const float* x, int64_t n, int e, int16_t* out) {
  const float s = std::ldexp(1.0f, -e);
  for (int64_t i = 0; i < n; ++i) out[i] = quantize_scaled(x[i] * s);
}

void quantize_rows(const float* x, int64_t ld, int64_t rows, int64_t cols, int e, int16_t* out) {
  for (int64_t r = 0; r < rows; ++r) quantize(x + r * ld, cols, e, out + r * cols);
}

int exponent_for(double amax) {
  if (!(amax > 0) || !std::isfinite(amax)) return -15;
  int e = static_cast<int>(std::ceil(std::log2(amax / kMax)));
  while (std::ldexp(amax, -e) > kMax) ++e;  // log2's rounding, either way
  while (std::ldexp(amax, -(e - 1)) <= kMax) --e;
  return std::clamp(e, kMinExp, kMaxExp);
}

double max_abs(const float* x, int64_t n) {
  double m = 0;
  for (int64_t i = 0; i < n; ++i) m = std::max(m, std::fabs(static_cast<double>(x[i])));
  return m;
}

// ---------------------------------------------------------------------------------------------

void gemm_ref(const int16_t* A, int64_t lda, const int16_t* B, int64_t ldb, int64_t M, int64_t N,
              int64_t K, int64_t* C, int64_t ldc) {
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      int64_t acc = 0;
      for (int64_t k = 0; k < K; ++k) acc += static_cast<int64_t>(A[i * lda + k]) * B[j * ldb + k];
      C[i * ldc + j] = acc;
    }
}

namespace {

int32_t max_abs_i16(const int16_t* X, int64_t ld, int64_t rows, int64_t K) {
  int32_t m = 0;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t k = 0; k < K; ++k) m = std::max(m, std::abs(static_cast<int32_t>(X[r * ld + k])));
  return m;
}

// Pair-sum steps an int32 lane may take before it must be widened; 0: operands outside the q16
// range (only -32768 can do that), so only the plain loop is exact.
int64_t steps_before_widening(int32_t max_a, int32_t max_b) {
  const int64_t per_step = 2 * static_cast<int64_t>(max_a) * max_b;
  if (per_step == 0) return INT64_MAX;
  return INT32_MAX / per_step;
}

// Both SIMD kernels compute an R x 4 tile of C at a time (R rows of A against 4 rows of B), with
// the int32 lane sums of each output widened into an int64 tile on the stack every L steps.
// Rows and columns past the edge are computed from a repeated valid row and not stored.
constexpr int kAvx2Rows = 2, kVnniRows = 4, kCols = 4;

__attribute__((target("avx2"))) void widen_into(int64_t* acc64, __m256i acc32) {  // 4 int64 lanes
  __m256i lo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(acc64));
  lo = _mm256_add_epi64(lo, _mm256_cvtepi32_epi64(_mm256_castsi256_si128(acc32)));
  lo = _mm256_add_epi64(lo, _mm256_cvtepi32_epi64(_mm256_extracti128_si256(acc32, 1)));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(acc64), lo);
}

// 16 int16 per step (vpmaddwd + vpaddd), scalar tail.
__attribute__((target("avx2"))) void gemm_avx2(const int16_t* A, int64_t lda, const int16_t* B,
                                               int64_t ldb, int64_t M, int64_t N, int64_t K,
                                               int64_t* C, int64_t ldc, int64_t L) {
  constexpr int R = kAvx2Rows;
  const int64_t K16 = K / 16 * 16;
  for (int64_t i0 = 0; i0 < M; i0 += R) {
    const int64_t nr = std::min<int64_t>(R, M - i0);
    const int16_t* a[R];
    for (int64_t r = 0; r < R; ++r) a[r] = A + (i0 + std::min(r, nr - 1)) * lda;
    for (int64_t j0 = 0; j0 < N; j0 += kCols) {
      const int64_t nc = std::min<int64_t>(kCols, N - j0);
      const int16_t* b[kCols];
      for (int64_t c = 0; c < kCols; ++c) b[c] = B + (j0 + std::min(c, nc - 1)) * ldb;
      __m256i s32[R][kCols];
      alignas(32) int64_t s64[R][kCols][4] = {};
      for (int r = 0; r < R; ++r)
        for (int c = 0; c < kCols; ++c) s32[r][c] = _mm256_setzero_si256();
      int64_t steps = 0;
      for (int64_t k = 0; k < K16; k += 16) {
        __m256i vb[kCols];
        for (int c = 0; c < kCols; ++c) vb[c] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b[c] + k));
        for (int r = 0; r < R; ++r) {
          const __m256i va = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a[r] + k));
          for (int c = 0; c < kCols; ++c) s32[r][c] = _mm256_add_epi32(s32[r][c], _mm256_madd_epi16(va, vb[c]));
        }
        if (++steps == L) {
          for (int r = 0; r < R; ++r)
            for (int c = 0; c < kCols; ++c) {
              widen_into(s64[r][c], s32[r][c]);
              s32[r][c] = _mm256_setzero_si256();
            }
          steps = 0;
        }
      }
      for (int64_t r = 0; r < nr; ++r)
        for (int64_t c = 0; c < nc; ++c) {
          widen_into(s64[r][c], s32[r][c]);
          int64_t acc = s64[r][c][0] + s64[r][c][1] + s64[r][c][2] + s64[r][c][3];
          for (int64_t k = K16; k < K; ++k) acc += static_cast<int64_t>(a[r][k]) * b[c][k];
          C[(i0 + r) * ldc + j0 + c] = acc;
        }
    }
  }
}

__attribute__((target("avx512f,avx512bw,avx512vnni"))) void widen_into512(int64_t* acc64, __m512i acc32) {
  __m512i lo = _mm512_loadu_si512(acc64);
  lo = _mm512_add_epi64(lo, _mm512_cvtepi32_epi64(_mm512_castsi512_si256(acc32)));
  lo = _mm512_add_epi64(lo, _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(acc32, 1)));
  _mm512_storeu_si512(acc64, lo);
}

// 32 int16 per step (vpdpwssd), the tail as one masked step (masked loads read nothing past the
// row and give zeros, which add nothing).
__attribute__((target("avx512f,avx512bw,avx512vnni"))) void gemm_vnni(
    const int16_t* A, int64_t lda, const int16_t* B, int64_t ldb, int64_t M, int64_t N, int64_t K,
    int64_t* C, int64_t ldc, int64_t L) {
  constexpr int R = kVnniRows;
  for (int64_t i0 = 0; i0 < M; i0 += R) {
    const int64_t nr = std::min<int64_t>(R, M - i0);
    const int16_t* a[R];
    for (int64_t r = 0; r < R; ++r) a[r] = A + (i0 + std::min(r, nr - 1)) * lda;
    for (int64_t j0 = 0; j0 < N; j0 += kCols) {
      const int64_t nc = std::min<int64_t>(kCols, N - j0);
      const int16_t* b[kCols];
      for (int64_t c = 0; c < kCols; ++c) b[c] = B + (j0 + std::min(c, nc - 1)) * ldb;
      __m512i s32[R][kCols];
      alignas(64) int64_t s64[R][kCols][8] = {};
      for (int r = 0; r < R; ++r)
        for (int c = 0; c < kCols; ++c) s32[r][c] = _mm512_setzero_si512();
      int64_t steps = 0;
      for (int64_t k = 0; k < K; k += 32) {
        const __mmask32 m = K - k >= 32 ? ~__mmask32{0} : static_cast<__mmask32>((uint64_t{1} << (K - k)) - 1);
        __m512i vb[kCols];
        for (int c = 0; c < kCols; ++c) vb[c] = _mm512_maskz_loadu_epi16(m, b[c] + k);
        for (int r = 0; r < R; ++r) {
          const __m512i va = _mm512_maskz_loadu_epi16(m, a[r] + k);
          for (int c = 0; c < kCols; ++c) s32[r][c] = _mm512_dpwssd_epi32(s32[r][c], va, vb[c]);
        }
        if (++steps == L) {
          for (int r = 0; r < R; ++r)
            for (int c = 0; c < kCols; ++c) {
              widen_into512(s64[r][c], s32[r][c]);
              s32[r][c] = _mm512_setzero_si512();
            }
          steps = 0;
        }
      }
      for (int64_t r = 0; r < nr; ++r)
        for (int64_t c = 0; c < nc; ++c) {
          widen_into512(s64[r][c], s32[r][c]);
          int64_t acc = 0;
          for (int l = 0; l < 8; ++l) acc += s64[r][c][l];
          C[(i0 + r) * ldc + j0 + c] = acc;
        }
    }
  }
}

std::atomic<GemmImpl> g_impl{GemmImpl::Auto};

GemmImpl best_available() {
  if (gemm_impl_available(GemmImpl::Avx512Vnni)) return GemmImpl::Avx512Vnni;
  if (gemm_impl_available(GemmImpl::Avx2)) return GemmImpl::Avx2;
  return GemmImpl::Plain;
}

}  // namespace

const char* gemm_impl_name(GemmImpl g) {
  switch (g) {
    case GemmImpl::Auto: return "auto";
    case GemmImpl::Plain: return "plain";
    case GemmImpl::Avx2: return "avx2-vpmaddwd";
    case GemmImpl::Avx512Vnni: return "avx512-vnni-vpdpwssd";
  }
  return "?";
}

bool gemm_impl_available(GemmImpl g) {
  switch (g) {
    case GemmImpl::Auto:
    case GemmImpl::Plain: return true;
    case GemmImpl::Avx2: return __builtin_cpu_supports("avx2");
    case GemmImpl::Avx512Vnni:
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512vnni");
  }
  return false;
}

void set_gemm_impl(GemmImpl g) {
  ER_CHECK(gemm_impl_available(g), "q16 GEMM ", gemm_impl_name(g), " is not supported by this CPU");
  g_impl = g;
}

GemmImpl gemm_impl_active() {
  const GemmImpl g = g_impl.load();
  return g == GemmImpl::Auto ? best_available() : g;
}

void gemm_with(GemmImpl g, const int16_t* A, int64_t lda, const int16_t* B, int64_t ldb, int64_t M,
               int64_t N, int64_t K, int64_t* C, int64_t ldc) {
  if (g == GemmImpl::Auto) g = best_available();
  ER_CHECK(gemm_impl_available(g), "q16 GEMM ", gemm_impl_name(g), " is not supported by this CPU");
  if (M <= 0 || N <= 0) return;
  if (g == GemmImpl::Plain || K <= 0) return gemm_ref(A, lda, B, ldb, M, N, K, C, ldc);
  const int64_t L = steps_before_widening(max_abs_i16(A, lda, M, K), max_abs_i16(B, ldb, N, K));
  if (L == 0) return gemm_ref(A, lda, B, ldb, M, N, K, C, ldc);
  if (g == GemmImpl::Avx512Vnni) return gemm_vnni(A, lda, B, ldb, M, N, K, C, ldc, L);
  gemm_avx2(A, lda, B, ldb, M, N, K, C, ldc, L);
}

void gemm(const int16_t* A, int64_t lda, const int16_t* B, int64_t ldb, int64_t M, int64_t N,
          int64_t K, int64_t* C, int64_t ldc) {
  gemm_with(gemm_impl_active(), A, lda, B, ldb, M, N, K, C, ldc);
}

}  // namespace edgerun::q16
