// q16 Linear (docs/q16.md "Linear"): y = requant(x_q W_q^T + round(b 2^-(e_x+e_w)), e_y), the
// only rounding after the exact int64 GEMM being the final one. The output is handed on as fp32
// values k 2^e_y (exact: |k| < 2^24), so the fp32 arena and every executor stay as they are.
// Leaves out: GPT-2's Conv1D (K, N) layout and output-column chunks (q16 runs ViT and BERT).
#include <cmath>

#include "kernels/cpu/q16.h"

namespace edgerun::q16 {

namespace {
uint64_t round64(uint64_t n) { return (n + 63) / 64 * 64; }
// A bias on the accumulator's exponent, rounded half away (it is a rescale too); clamped far
// outside any real accumulator so that a hostile file cannot overflow the conversion.
int64_t bias_on(float b, int e) {
  if (std::isnan(b)) return 0;
  const double v = std::round(std::ldexp(static_cast<double>(b), -e));
  return static_cast<int64_t>(v > 0x1p62 ? 0x1p62 : (v < -0x1p62 ? -0x1p62 : v));
}
}  // namespace

uint64_t linear_scratch_bytes(int64_t M, int64_t K, int64_t N, bool w_i16) {
  return round64(static_cast<uint64_t>(M * K) * 2) + (w_i16 ? 0 : round64(static_cast<uint64_t>(N * K) * 2)) +
         round64(static_cast<uint64_t>(M * N) * 8);
}

void linear(const float* x, int64_t M, int64_t K, const float* w_f32, const int16_t* w_i16,
            int64_t N, const float* bias, const LinearExp& e, float* y, void* scratch) {
  char* s = static_cast<char*>(scratch);
  auto* xq = reinterpret_cast<int16_t*>(s);
  s += round64(static_cast<uint64_t>(M * K) * 2);
  const int16_t* wq = w_i16;
  if (!wq) {
    auto* w = reinterpret_cast<int16_t*>(s);
    quantize(w_f32, N * K, e.w, w);
    wq = w;
    s += round64(static_cast<uint64_t>(N * K) * 2);
  }
  auto* acc = reinterpret_cast<int64_t*>(s);
  quantize(x, M * K, e.x, xq);
  gemm(xq, K, wq, K, M, N, K, acc, N);
  const int e_acc = e.x + e.w;
  const float sc = std::ldexp(1.0f, e.y);
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      const int128 b = bias ? bias_on(bias[j], e_acc) : 0;
      y[i * N + j] = static_cast<float>(requant(static_cast<int128>(acc[i * N + j]) + b, e.y - e_acc)) * sc;
    }
}

}  // namespace edgerun::q16
