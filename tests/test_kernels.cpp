// Exact checks of CPU kernels that the op harness (test_ops.cpp: every op against its plain
// reference on odd shapes) does not make: writes outside a column chunk, row tiles' partial sums, the order of additions,
// causality.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "kernels/cpu/kernels.h"
#include "test_util.h"

using namespace edgerun;
using namespace edgerun::kernels;

namespace {
std::vector<float> rnd(size_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 g(seed);
  std::normal_distribution<float> d(0.0f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = d(g);
  return v;
}
// Infinite where one side is NaN and the other is not: outputs start as NaN, so an element a
// kernel never wrote fails.
double max_rel(const std::vector<float>& a, const std::vector<float>& b) { return edgerun::test::max_rel_err(a, b); }
}  // namespace

TEST(Kernels, LinearWritesAColumnChunkInPlace) {
  // An output chunk of width 5 written at column 3 of a 11-wide output, rows 1 and 4.
  for (int64_t M : {1, 4}) {
    const int64_t K = 9, N = 5, ld = 11;
    auto x = rnd(M * K, 30), w = rnd(N * K, 31);
    std::vector<float> y(M * ld, -7.0f), r(M * ld, -7.0f);
    linear(x.data(), M, K, w.data(), N, false, nullptr, y.data() + 3, ld);
    linear_ref(x.data(), M, K, w.data(), N, false, nullptr, r.data() + 3, ld);
    EXPECT_LT(max_rel(y, r), 1e-5);
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j : {0, 1, 2, 8, 9, 10}) EXPECT_EQ(y[i * ld + j], -7.0f) << "wrote outside its chunk";
  }
}

TEST(Kernels, RowTilesSumToTheWholeLinear) {
  // A (K, N) weight in row tiles of 4, 4 and 3 over a 11-wide input: the tiles' partial sums,
  // the first with the bias, give the whole product, against the plain reference tile by tile.
  for (int64_t M : {1, 3}) {
    const int64_t K = 11, N = 6;
    auto x = rnd(M * K, 40), w = rnd(K * N, 41), b = rnd(N, 42);
    std::vector<float> y(M * N, NAN), r(M * N, NAN), whole(M * N);
    for (int64_t k0 = 0; k0 < K; k0 += 4) {
      const int64_t kt = std::min<int64_t>(4, K - k0);
      linear_row_tile(x.data() + k0, M, K, kt, w.data() + k0 * N, N, b.data(), k0 == 0, y.data());
      linear_row_tile_ref(x.data() + k0, M, K, kt, w.data() + k0 * N, N, b.data(), k0 == 0, r.data());
    }
    linear_ref(x.data(), M, K, w.data(), N, true, b.data(), whole.data());
    EXPECT_LT(max_rel(y, r), 1e-5) << M;
    EXPECT_LT(max_rel(y, whole), 1e-5) << M;
  }
}

TEST(Kernels, EmbeddingsAddInOrder) {
  const int64_t B = 1, T = 2, D = 3;
  std::vector<float> word{1, 2, 3, 4, 5, 6}, pos{10, 20, 30, 40, 50, 60, 70, 80, 90},
      type{100, 200, 300, 1000, 2000, 3000}, out(6);
  std::vector<int64_t> tt{1, 0};
  embeddings(word.data(), B, T, D, pos.data(), 1, type.data(), tt.data(), out.data());
  EXPECT_EQ(out, (std::vector<float>{1041, 2052, 3063, 174, 285, 396}));
}

TEST(Kernels, CausalAttentionIgnoresFutureKeys) {
  // Changing a later token must not change earlier outputs.
  const int64_t T = 4, D = 4;
  auto qkv = rnd(T * 3 * D, 20);
  std::vector<float> y1(T * D), y2(T * D), s(T * T);
  AttentionArgs a;
  a.B = 1; a.T = T; a.n_head = 2; a.head_dim = 2;
  a.q = qkv.data(); a.k = qkv.data() + D; a.v = qkv.data() + 2 * D;
  a.q_stride = a.k_stride = a.v_stride = 3 * D;
  a.causal = true; a.scratch = s.data(); a.out = y1.data();
  attention(a);
  for (int64_t j = 0; j < 3 * D; ++j) qkv[(T - 1) * 3 * D + j] += 5.0f;
  a.out = y2.data();
  attention(a);
  for (int64_t i = 0; i < (T - 1) * D; ++i) EXPECT_EQ(y1[i], y2[i]);
}
