// Linear (fully connected) layer: one OpenBLAS sgemm with the bias broadcast into C first.
// The reference is the plain triple loop with a float accumulator.
#include <cblas.h>

#include <cstring>

#include "kernels/cpu/kernels.h"

extern "C" {
void openblas_set_num_threads(int);
int openblas_get_num_threads(void);
char* openblas_get_corename(void);
}

namespace edgerun::kernels {

void set_blas_threads(int n) { openblas_set_num_threads(n); }
int get_blas_threads() { return openblas_get_num_threads(); }
const char* blas_core_name() { return openblas_get_corename(); }

void linear(const float* x, int64_t M, int64_t K, const float* w, int64_t N, bool w_in_out,
            const float* bias, float* y, int64_t ldy) {
  if (ldy == 0) ldy = N;
  float beta = 0.0f;
  if (bias) {
    for (int64_t i = 0; i < M; ++i) std::memcpy(y + i * ldy, bias, static_cast<size_t>(N) * 4);
    beta = 1.0f;
  }
  if (M == 1) {
    // One row (a decode step): a matrix-vector product. OpenBLAS 0.3.21's sgemm does not forward
    // M = 1 to its GEMV kernels, which stream the weights at memory bandwidth.
    if (w_in_out)
      cblas_sgemv(CblasRowMajor, CblasTrans, static_cast<int>(K), static_cast<int>(N), 1.0f, w,
                  static_cast<int>(N), x, 1, beta, y, 1);
    else
      cblas_sgemv(CblasRowMajor, CblasNoTrans, static_cast<int>(N), static_cast<int>(K), 1.0f, w,
                  static_cast<int>(K), x, 1, beta, y, 1);
    return;
  }
  cblas_sgemm(CblasRowMajor, CblasNoTrans, w_in_out ? CblasNoTrans : CblasTrans,
              static_cast<int>(M), static_cast<int>(N), static_cast<int>(K), 1.0f, x,
              static_cast<int>(K), w, static_cast<int>(w_in_out ? N : K), beta, y,
              static_cast<int>(ldy));
}

void linear_row_tile(const float* x, int64_t M, int64_t lda, int64_t kt, const float* w, int64_t N,
                     const float* bias, bool first, float* y) {
  float beta = 1.0f;
  if (first) {
    if (bias)
      for (int64_t i = 0; i < M; ++i) std::memcpy(y + i * N, bias, static_cast<size_t>(N) * 4);
    else
      beta = 0.0f;
  }
  if (M == 1) {  // as linear(): OpenBLAS's sgemm does not forward M = 1 to its GEMV kernels
    cblas_sgemv(CblasRowMajor, CblasTrans, static_cast<int>(kt), static_cast<int>(N), 1.0f, w, static_cast<int>(N), x,
                1, beta, y, 1);
    return;
  }
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(M), static_cast<int>(N), static_cast<int>(kt),
              1.0f, x, static_cast<int>(lda), w, static_cast<int>(N), beta, y, static_cast<int>(N));
}

void linear_row_tile_ref(const float* x, int64_t M, int64_t lda, int64_t kt, const float* w, int64_t N,
                         const float* bias, bool first, float* y) {
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      float acc = 0.0f;
      for (int64_t k = 0; k < kt; ++k) acc += x[i * lda + k] * w[k * N + j];
      y[i * N + j] = (first ? (bias ? bias[j] : 0.0f) : y[i * N + j]) + acc;
    }
}

void linear_ref(const float* x, int64_t M, int64_t K, const float* w, int64_t N, bool w_in_out,
                const float* bias, float* y, int64_t ldy) {
  if (ldy == 0) ldy = N;
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      float acc = 0.0f;
      for (int64_t k = 0; k < K; ++k)
        acc += x[i * K + k] * (w_in_out ? w[k * N + j] : w[j * K + k]);
      y[i * ldy + j] = acc + (bias ? bias[j] : 0.0f);
    }
}

}  // namespace edgerun::kernels
