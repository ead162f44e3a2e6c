// Branch-free float approximations that GCC auto-vectorizes (std::exp/erf/tanh calls block
// vectorization). Accuracy: fast_exp ~2 ulp on [-87, 88]; fast_erf abs error < 2e-7.
// EDGERUN_SIMD_CLONES compiles a hot elementwise kernel for AVX-512, AVX2+FMA and the baseline,
// picked at load time (the library itself targets x86-64-v2 so it runs on any x86-64 machine).
#pragma once
#include <bit>
#include <cstdint>

// Sanitizer builds define EDGERUN_NO_SIMD_CLONES: clones dispatch through ifunc resolvers, which
// run before ThreadSanitizer's runtime is up and crash it.
#ifdef EDGERUN_NO_SIMD_CLONES
#define EDGERUN_SIMD_CLONES
#else
#define EDGERUN_SIMD_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#endif

namespace edgerun::kernels {

inline __attribute__((always_inline)) float fast_exp(float x) {
  // Plain selects and the 1.5 * 2^23 rounding trick: fminf/fmaxf and roundevenf block GCC's
  // vectorizer, these do not (round-to-nearest-even, the default mode, is what the trick uses).
  x = x < -87.0f ? -87.0f : x;
  x = x > 88.0f ? 88.0f : x;
  // x = n ln2 + r, |r| <= ln2/2; exp(r) by a degree-6 minimax polynomial (Cephes expf).
  float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  float r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  int32_t e = static_cast<int32_t>(n) + 127;
  return p * std::bit_cast<float>(e << 23);
}

// erf via the complementary function of Numerical Recipes (erfcc), relative error < 1.2e-7.
inline __attribute__((always_inline)) float fast_erf(float x) {
  float z = __builtin_fabsf(x);
  float t = 1.0f / (1.0f + 0.5f * z);
  float poly =
      -z * z - 1.26551223f +
      t * (1.00002368f +
           t * (0.37409196f +
                t * (0.09678418f +
                     t * (-0.18628806f +
                          t * (0.27886807f +
                               t * (-1.13520398f +
                                    t * (1.48851587f + t * (-0.82215223f + t * 0.17087277f))))))));
  float r = 1.0f - t * fast_exp(poly);
  return __builtin_copysignf(r, x);
}

inline __attribute__((always_inline)) float fast_tanh(float x) {
  // tanh(x) = 1 - 2 / (exp(2x) + 1); saturates cleanly at both ends through fast_exp's clamp.
  return 1.0f - 2.0f / (fast_exp(2.0f * x) + 1.0f);
}

}  // namespace edgerun::kernels
