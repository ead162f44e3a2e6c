// q16: edgerun's 16-bit fixed point (DESIGN.md "Numerics"; the algorithms are written out in
// docs/q16.md, which src/sim implements independently and must match bit for bit).
// A q16 tensor is int16 values k in [-32767, 32767] with one power-of-two exponent e per tensor
// (value = k * 2^e), calibrated once and stored in the model's sidecar. Products accumulate
// exactly in int64; every rescale rounds half away from zero and then saturates to int16.
// Leaves out: per-channel scales, zero points, int8.
#pragma once
#include <cstdint>

#include "core/q16_format.h"
#include "kernels/cpu/kernels.h"

namespace edgerun::q16 {

__extension__ typedef __int128 int128;  // exact products of int64 by a 31-bit multiplier

constexpr int32_t kMax = 32767;  // symmetric: -32768 is never produced
// kMinExp, kMaxExp: core/q16_format.h.

// ---- The rounding rule and rescales (q16_gemm.cpp) ----
// x / 2^s rounded half away from zero for s > 0; x * 2^-s (exact) for s <= 0. No saturation.
// Needs |x| < 2^126 and s >= -62 with |x| < 2^64 (callers' operands are far smaller).
inline int128 shift_round(int128 x, int s) {
  if (s <= 0) return x * (int128{1} << -s);
  if (s > 126) return 0;
  constexpr int128 kLim = int128{1} << 62;
  if (s < 62 && x < kLim && x > -kLim) {  // the common case, in int64: the same rule
    const int64_t v = static_cast<int64_t>(x), half = int64_t{1} << (s - 1);
    return v >= 0 ? (v + half) >> s : -((-v + half) >> s);
  }
  const int128 half = int128{1} << (s - 1);
  return x >= 0 ? (x + half) >> s : -((-x + half) >> s);
}
inline int16_t saturate(int128 x) {
  return static_cast<int16_t>(x > kMax ? kMax : (x < -kMax ? -kMax : x));
}
// The rescale of DESIGN.md: round half away, then saturate.
inline int16_t requant(int128 x, int s) { return saturate(shift_round(x, s)); }
// x * mult / 2^s rounded half away, through an exact 128-bit product.
int128 mul_shift_round(int64_t x, int64_t mult, int s);
// A positive constant c as mult * 2^-s with mult in [2^30, 2^31) (mult = round(c 2^s)).
void fixed_multiplier(double c, int64_t* mult, int* s);
// x / d rounded half away from zero, d > 0.
int64_t div_round(int64_t x, int64_t d);
// v -> saturate(round_half_away(v * 2^-e)); NaN -> 0.
int16_t quantize(float v, int e);
void quantize(const float* x, int64_t n, int e, int16_t* out);
// Rows of a strided matrix: out (rows, cols) contiguous.
void quantize_rows(const float* x, int64_t ld, int64_t rows, int64_t cols, int e, int16_t* out);
// k * 2^e as fp32: exact for int16 k and e in [kMinExp, kMaxExp].
inline float dequantize(int64_t k, int e) { return static_cast<float>(k) * __builtin_ldexpf(1.0f, e); }
// Smallest exponent e with amax * 2^-e <= 32767 (amax <= 0 or not finite: -15).
int exponent_for(double amax);
double max_abs(const float* x, int64_t n);

// ---- int16 GEMM (q16_gemm.cpp): exact, several implementations, one answer ----
enum class GemmImpl : uint8_t { Auto, Plain, Avx2, Avx512Vnni };
const char* gemm_impl_name(GemmImpl g);
bool gemm_impl_available(GemmImpl g);  // CPU support, checked at run time
// The implementation gemm() uses: Auto picks the best available (VNNI, then AVX2, then plain).
// Tests force each in turn; all must agree bit for bit with gemm_ref.
void set_gemm_impl(GemmImpl g);
GemmImpl gemm_impl_active();
// C (M, N) = A (M, K) . B (N, K)^T in int64, exactly. Entries of A and B must lie in
// [-32767, 32767] (the q16 range: then a vpmaddwd pair sum cannot overflow int32).
void gemm(const int16_t* A, int64_t lda, const int16_t* B, int64_t ldb, int64_t M, int64_t N,
          int64_t K, int64_t* C, int64_t ldc);
void gemm_ref(const int16_t* A, int64_t lda, const int16_t* B, int64_t ldb, int64_t M, int64_t N,
              int64_t K, int64_t* C, int64_t ldc);
void gemm_with(GemmImpl g, const int16_t* A, int64_t lda, const int16_t* B, int64_t ldb, int64_t M,
               int64_t N, int64_t K, int64_t* C, int64_t ldc);

// ---- Ops (q16_linear.cpp, q16_attention.cpp) ----
// Linear y (M, N) = x (M, K) W^T + b, W stored (N, K): x quantized on e_x, W on e_w (taken as is
// when w_i16 is given, else quantized from w_f32), bias rounded onto 2^(e_x + e_w) in int64,
// exact GEMM, one requant onto e_y; y holds the int16 results as fp32 values k * 2^e_y.
struct LinearExp {
  int x = 0, w = 0, y = 0;
};
uint64_t linear_scratch_bytes(int64_t M, int64_t K, int64_t N, bool w_i16);
void linear(const float* x, int64_t M, int64_t K, const float* w_f32, const int16_t* w_i16,
            int64_t N, const float* bias, const LinearExp& e, float* y, void* scratch);

// Attention in q16 for every variant (softmax keeps its exp and division in fp32; shiftmax,
// taylor and sima are integer throughout). q, k, v are quantized on e.q, e.k, e.v; e.mid is
// taylor's W = scale K^^T V / n or sima's M = K^^T V; the context is written on e.out. Same
// masking rules as the fp32 kernels; not causal, no KV cache.
struct AttentionExp {
  int q = 0, k = 0, v = 0, mid = 0, out = 0;
};
uint64_t attention_scratch_bytes(AttnVariant v, int64_t T, int64_t head_dim);
void attention(AttnVariant v, const kernels::AttentionArgs& a, const AttentionExp& e, void* scratch);
// Calibration: max |intermediate| of the fp32 formulas (taylor W, sima M) over every (sequence,
// head); 0 for softmax and shiftmax, whose probabilities sit on the fixed exponent -15.
double attention_mid_amax(AttnVariant v, const kernels::AttentionArgs& a);

}  // namespace edgerun::q16
