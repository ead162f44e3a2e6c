// One harness for every CPU kernel: the optimized version against its plain-loop reference on
// odd shapes (primes, 1, non-multiples of the SIMD width), plus exact checks of simple ops.
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

TEST(Kernels, LinearMatchesReferenceBothLayouts) {
  for (auto [M, K, N] : {std::tuple{1, 1, 1}, {1, 65, 33}, {7, 13, 5}, {17, 33, 31}, {3, 64, 129}}) {
    for (bool in_out : {false, true}) {
      auto x = rnd(M * K, 1), w = rnd(K * N, 2), b = rnd(N, 3);
      std::vector<float> y(M * N, NAN), r(M * N);
      linear(x.data(), M, K, w.data(), N, in_out, b.data(), y.data());
      linear_ref(x.data(), M, K, w.data(), N, in_out, b.data(), r.data());
      EXPECT_LT(max_rel(y, r), 1e-5) << M << "x" << K << "x" << N << " in_out=" << in_out;
      linear(x.data(), M, K, w.data(), N, in_out, nullptr, y.data());
      linear_ref(x.data(), M, K, w.data(), N, in_out, nullptr, r.data());
      EXPECT_LT(max_rel(y, r), 1e-5);
    }
  }
}

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

TEST(Kernels, LayerNormMatchesReference) {
  for (auto [M, D] : {std::pair{1, 1}, {5, 7}, {9, 48}, {3, 769}}) {
    auto x = rnd(M * D, 4, 3.0f), g = rnd(D, 5), b = rnd(D, 6);
    std::vector<float> y(M * D, NAN), r(M * D);
    layernorm(x.data(), M, D, g.data(), b.data(), 1e-5f, y.data());
    layernorm_ref(x.data(), M, D, g.data(), b.data(), 1e-5f, r.data());
    EXPECT_LT(max_rel(y, r), 2e-5) << M << "x" << D;
  }
}

TEST(Kernels, ActivationsMatchReference) {
  auto x = rnd(1001, 7, 4.0f);
  x.push_back(0.0f);
  x.push_back(-30.0f);
  x.push_back(30.0f);
  x.push_back(-100.0f);
  x.push_back(100.0f);
  for (ActKind a : {ActKind::GeluErf, ActKind::GeluTanh, ActKind::Relu, ActKind::Tanh,
                    ActKind::QuickGelu, ActKind::Silu}) {
    std::vector<float> y(x.size(), NAN), r(x.size());
    activation(x.data(), static_cast<int64_t>(x.size()), a, y.data());
    activation_ref(x.data(), static_cast<int64_t>(x.size()), a, r.data());
    EXPECT_LT(max_rel(y, r), 1e-6) << "act " << int(a);
  }
}

TEST(Kernels, PatchEmbedMatchesReference) {
  const int64_t B = 2, C = 3, H = 12, W = 12, P = 4, D = 5, Np = 9;
  auto px = rnd(B * C * H * W, 8), w = rnd(D * C * P * P, 9), b = rnd(D, 10), cls = rnd(D, 11),
       pos = rnd((Np + 1) * D, 12);
  std::vector<float> y(B * (Np + 1) * D, NAN), r(y.size()), scratch(Np * C * P * P);
  patch_embed(px.data(), B, C, H, W, P, w.data(), b.data(), cls.data(), pos.data(), D,
              scratch.data(), y.data());
  patch_embed_ref(px.data(), B, C, H, W, P, w.data(), b.data(), cls.data(), pos.data(), D, r.data());
  EXPECT_LT(max_rel(y, r), 1e-5);
}

TEST(Kernels, EmbeddingsAddInOrder) {
  const int64_t B = 1, T = 2, D = 3;
  std::vector<float> word{1, 2, 3, 4, 5, 6}, pos{10, 20, 30, 40, 50, 60, 70, 80, 90},
      type{100, 200, 300, 1000, 2000, 3000}, out(6);
  std::vector<int64_t> tt{1, 0};
  embeddings(word.data(), B, T, D, pos.data(), 1, type.data(), tt.data(), out.data());
  EXPECT_EQ(out, (std::vector<float>{1041, 2052, 3063, 174, 285, 396}));
}

namespace {
struct AttnCase {
  int64_t B, T, past, H, hd;
  bool causal, fused, mask, cache;
};
}  // namespace

TEST(Kernels, AttentionMatchesReference) {
  for (AttnCase c : {AttnCase{1, 1, 0, 1, 1, false, false, false, false},
                     AttnCase{2, 7, 0, 3, 5, false, false, true, false},
                     AttnCase{2, 9, 0, 3, 16, true, true, false, false},
                     AttnCase{1, 5, 0, 2, 7, true, true, false, true},
                     AttnCase{2, 1, 6, 3, 5, true, true, false, true},
                     AttnCase{1, 3, 4, 4, 3, true, true, false, true}}) {
    const int64_t D = c.H * c.hd, stride = c.fused ? 3 * D : D, keys = c.past + c.T;
    auto q = rnd(c.B * c.T * stride, 13), k = rnd(c.B * c.T * stride, 14), v = rnd(c.B * c.T * stride, 15);
    const float* kp = c.fused ? q.data() + D : k.data();
    const float* vp = c.fused ? q.data() + 2 * D : v.data();
    std::vector<int64_t> mask(c.B * keys, 1);
    if (c.mask) mask[keys - 1] = mask[keys - 2] = 0;  // pad the first sequence's last 2 keys
    const int64_t cap = keys + 2;
    auto cache_init = rnd(c.B * c.H * cap * c.hd, 16);
    std::vector<float> kc1 = cache_init, vc1 = cache_init, kc2 = cache_init, vc2 = cache_init;
    std::vector<float> y(c.B * c.T * D, NAN), r(y.size()), s1(attention_scratch_floats(c.T, keys)),
        s2(s1.size());
    AttentionArgs a;
    a.B = c.B; a.T = c.T; a.past = c.past; a.n_head = c.H; a.head_dim = c.hd;
    a.q = q.data(); a.k = kp; a.v = vp; a.q_stride = a.k_stride = a.v_stride = stride;
    a.scale = 1.0f / std::sqrt(float(c.hd));
    a.causal = c.causal;
    a.key_mask = c.mask ? mask.data() : nullptr;
    a.cache_cap = cap;
    AttentionArgs b = a;
    a.out = y.data(); a.scratch = s1.data();
    b.out = r.data(); b.scratch = s2.data();
    if (c.cache) {
      a.k_cache = kc1.data(); a.v_cache = vc1.data();
      b.k_cache = kc2.data(); b.v_cache = vc2.data();
    }
    attention(a);
    attention_ref(b);
    EXPECT_LT(max_rel(y, r), 2e-5) << "B" << c.B << " T" << c.T << " past" << c.past;
    if (c.cache) {
      EXPECT_EQ(kc1, kc2);
      EXPECT_EQ(vc1, vc2);
      // The T new keys and values land at positions [past, past + T) of each (b, h) row.
      for (int64_t b = 0; b < c.B; ++b)
        for (int64_t h = 0; h < c.H; ++h)
          for (int64_t t = 0; t < c.T; ++t)
            for (int64_t d = 0; d < c.hd; ++d) {
              const size_t at = static_cast<size_t>(((b * c.H + h) * cap + c.past + t) * c.hd + d);
              const size_t src = static_cast<size_t>((b * c.T + t) * stride + h * c.hd + d);
              ASSERT_EQ(kc1[at], kp[src]) << "key cache b" << b << " h" << h << " t" << t;
              ASSERT_EQ(vc1[at], vp[src]) << "value cache b" << b << " h" << h << " t" << t;
            }
    }
  }
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
