// numpy MatMul with broadcast batch axes (one sgemm per batch, or one for the whole batch when b
// is a single matrix), its plain-loop reference, and ONNX Gemm.
#include <cblas.h>

#include <algorithm>
#include <functional>

#include "kernels/cpu/nd_common.h"
#include "kernels/cpu/nd_kernels.h"

namespace edgerun::kernels {

using namespace nd;

namespace {

struct MatmulShape {
  int64_t M = 1, K = 1, N = 1;
  Shape batch;                       // the broadcast batch shape
  std::vector<int64_t> a_st, b_st;   // matrix strides of a and b over `batch` (0: broadcast)
  bool b_single = false;             // b is one matrix for every batch
};

// numpy's promotion: a 1-D a is (1, K), a 1-D b is (K, 1), and the added axis is dropped from y.
MatmulShape matmul_shape(const Tensor& a, const Tensor& b, const Tensor& y) {
  require_f32("MatMul", a);
  require_f32("MatMul", b);
  require_f32("MatMul", y);
  const Shape& sa = a.shape;
  const Shape& sb = b.shape;
  ER_CHECK(!sa.empty() && !sb.empty(), "MatMul of a scalar");
  MatmulShape s;
  const int64_t ka = sa.back(), kb = sb.size() == 1 ? sb[0] : sb[sb.size() - 2];
  ER_CHECK(ka == kb, "MatMul: ", shape_str(sa), " . ", shape_str(sb));
  s.K = ka;
  s.M = sa.size() >= 2 ? sa[sa.size() - 2] : 1;
  s.N = sb.size() >= 2 ? sb.back() : 1;
  const Shape ba(sa.begin(), sa.end() - std::min<size_t>(sa.size(), 2));
  const Shape bb(sb.begin(), sb.end() - std::min<size_t>(sb.size(), 2));
  s.batch = broadcast_shape(ba, bb);
  s.a_st = broadcast_strides(ba, s.batch);
  s.b_st = broadcast_strides(bb, s.batch);
  s.b_single = shape_numel(bb) == 1;
  ER_CHECK(y.numel() == shape_numel(s.batch) * s.M * s.N, "MatMul: ", shape_str(sa), " . ",
           shape_str(sb), " -> ", shape_str(y.shape));
  return s;
}

// f(A, B, Y) for each batch matrix: A (M, K), B (K, N), Y (M, N).
void for_each_batch(const MatmulShape& s, const Tensor& a, const Tensor& b, const Tensor& y,
                    const std::function<void(const float*, const float*, float*)>& f) {
  const float* pa = a.f32();
  const float* pb = b.f32();
  float* py = y.f32();
  for_each_offset<2>(s.batch, {s.a_st, s.b_st}, {0, 0}, [&](int64_t i, const std::array<int64_t, 2>& o) {
    f(pa + o[0] * s.M * s.K, pb + o[1] * s.K * s.N, py + i * s.M * s.N);
  });
}

void fill_rows(float* y, int64_t rows, int64_t n, const float* bias) {
  for (int64_t r = 0; r < rows; ++r) std::copy_n(bias, n, y + r * n);
}

void sgemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, const float* B,
           float beta, float* Y) {
  if (M == 0 || N == 0) return;
  if (K == 0) {  // BLAS takes no empty inner dimension (its leading dimensions must be >= 1)
    if (beta == 0.0f) std::fill_n(Y, M * N, 0.0f);
    return;
  }
  if (M == 1) {  // one row (batch 1 through a classifier): BLAS's matrix-vector product reads B at memory speed
    if (tb)
      cblas_sgemv(CblasRowMajor, CblasNoTrans, static_cast<int>(N), static_cast<int>(K), alpha, B, static_cast<int>(K), A,
                  1, beta, Y, 1);
    else
      cblas_sgemv(CblasRowMajor, CblasTrans, static_cast<int>(K), static_cast<int>(N), alpha, B, static_cast<int>(N), A,
                  1, beta, Y, 1);
    return;
  }
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
              static_cast<int>(M), static_cast<int>(N), static_cast<int>(K), alpha, A,
              static_cast<int>(ta ? M : K), B, static_cast<int>(tb ? K : N), beta, Y, static_cast<int>(N));
}

}  // namespace

void matmul(const Tensor& a, const Tensor& b, const float* bias, const Tensor& y) {
  const MatmulShape s = matmul_shape(a, b, y);
  const float beta = bias ? 1.0f : 0.0f;
  const int64_t nb = shape_numel(s.batch);
  if (s.b_single && nb > 0 && s.a_st == contiguous_strides(s.batch)) {
    // One weight matrix under a contiguous batch of a: the batch folds into M.
    if (bias) fill_rows(y.f32(), nb * s.M, s.N, bias);
    sgemm(false, false, nb * s.M, s.N, s.K, 1.0f, a.f32(), b.f32(), beta, y.f32());
    return;
  }
  for_each_batch(s, a, b, y, [&](const float* A, const float* B, float* Y) {
    if (bias) fill_rows(Y, s.M, s.N, bias);
    sgemm(false, false, s.M, s.N, s.K, 1.0f, A, B, beta, Y);
  });
}

void matmul_ref(const Tensor& a, const Tensor& b, const float* bias, const Tensor& y) {
  const MatmulShape s = matmul_shape(a, b, y);
  for_each_batch(s, a, b, y, [&](const float* A, const float* B, float* Y) {
    for (int64_t i = 0; i < s.M; ++i)
      for (int64_t j = 0; j < s.N; ++j) {
        float acc = 0;
        for (int64_t k = 0; k < s.K; ++k) acc += A[i * s.K + k] * B[k * s.N + j];
        Y[i * s.N + j] = acc + (bias ? bias[j] : 0.0f);
      }
  });
}

void gemm(const Tensor& a, const Tensor& b, const Tensor* c, const GemmParams& p, const Tensor& y) {
  require_f32("Gemm", a);
  require_f32("Gemm", b);
  require_f32("Gemm", y);
  ER_CHECK(a.shape.size() == 2 && b.shape.size() == 2 && y.shape.size() == 2, "Gemm: a ",
           shape_str(a.shape), ", b ", shape_str(b.shape), ", y ", shape_str(y.shape));
  const int64_t M = p.trans_a ? a.shape[1] : a.shape[0], K = p.trans_a ? a.shape[0] : a.shape[1];
  const int64_t N = p.trans_b ? b.shape[0] : b.shape[1];
  ER_CHECK((p.trans_b ? b.shape[1] : b.shape[0]) == K && y.shape == (Shape{M, N}), "Gemm: a ",
           shape_str(a.shape), ", b ", shape_str(b.shape), ", y ", shape_str(y.shape));
  float* py = y.f32();
  float beta = 0.0f;
  if (c && p.beta != 0.0f) {
    require_f32("Gemm", *c);
    const float* pc = c->f32();
    for_each_broadcast<1>(y.shape, {&c->shape},
                          [&](int64_t i, const std::array<int64_t, 1>& o) { py[i] = p.beta * pc[o[0]]; });
    beta = 1.0f;
  }
  sgemm(p.trans_a, p.trans_b, M, N, K, p.alpha, a.f32(), b.f32(), beta, py);
}

}  // namespace edgerun::kernels
