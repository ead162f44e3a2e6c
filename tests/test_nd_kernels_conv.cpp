// The CPU kernels of conv, ConvTranspose, pooling, MatMul and Gemm (kernels/cpu/nd_kernels.h):
// hand-checked cases, and conv and matmul against their plain references on odd shapes.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "nd_kernels_test_util.h"

using namespace edgerun;
using namespace edgerun::kernels;
using namespace edgerun::test::ndk;

// ---- conv ----

namespace {

struct ConvCase {
  Shape x, w;
  int64_t group;
  std::vector<int64_t> s, d, pads;
};

Shape conv_out(const ConvCase& c) {
  Shape y{c.x[0], c.w[0]};
  const size_t ns = c.x.size() - 2;
  for (size_t i = 0; i < ns; ++i)
    y.push_back((c.x[2 + i] + c.pads[i] + c.pads[ns + i] - c.d[i] * (c.w[2 + i] - 1) - 1) / c.s[i] + 1);
  return y;
}

ConvParams params(const ConvCase& c) {
  ConvParams p;
  p.group = c.group;
  p.kernel.assign(c.w.begin() + 2, c.w.end());
  p.strides = c.s;
  p.dilations = c.d;
  p.pads = c.pads;
  return p;
}

}  // namespace

TEST(NdKernels, ConvHandChecked) {
  F x{1, 2, 3, 4, 5, 6, 7, 8, 9}, w{1, 1, 1, 1}, bias{1}, y = nans(4), r = nans(4);
  ConvParams p = params({{1, 1, 3, 3}, {1, 1, 2, 2}, 1, {1, 1}, {1, 1}, {0, 0, 0, 0}});
  std::vector<char> scratch(conv_scratch_bytes(view(x, {1, 1, 3, 3}), view(w, {1, 1, 2, 2}), p, view(y, {1, 1, 2, 2})));
  conv(view(x, {1, 1, 3, 3}), view(w, {1, 1, 2, 2}), bias.data(), p, view(y, {1, 1, 2, 2}), scratch.data());
  EXPECT_EQ(y, (F{13, 17, 25, 29}));
  p.strides = {2, 2};
  p.pads = {1, 1, 1, 1};
  conv_ref(view(x, {1, 1, 3, 3}), view(w, {1, 1, 2, 2}), nullptr, p, view(r, {1, 1, 2, 2}));
  EXPECT_EQ(r, (F{1, 5, 11, 28}));
}

TEST(NdKernels, ConvMatchesReferenceOnOddShapes) {
  const ConvCase cases[] = {
      {{2, 4, 7, 6}, {6, 2, 3, 3}, 2, {1, 1}, {1, 1}, {1, 1, 1, 1}},             // groups
      {{1, 3, 9, 8}, {3, 1, 3, 3}, 3, {2, 2}, {1, 1}, {0, 1, 1, 2}},             // depthwise, stride 2, asymmetric pads
      {{1, 2, 9, 7}, {3, 2, 3, 2}, 1, {1, 1}, {2, 2}, {2, 1, 2, 1}},             // dilation 2
      {{2, 3, 11}, {4, 3, 3}, 1, {2}, {1}, {1, 0}},                              // 1-D
      {{1, 2, 5, 4, 6}, {3, 2, 2, 3, 2}, 1, {1, 2, 1}, {1, 1, 2}, {1, 0, 1, 0, 1, 1}},  // 3-D
      {{2, 5, 3, 4}, {7, 5, 1, 1}, 1, {1, 1}, {1, 1}, {0, 0, 0, 0}},             // pointwise, no scratch
  };
  uint32_t seed = 1;
  for (const ConvCase& c : cases) {
    const Shape ys = conv_out(c);
    F x = rnd(shape_numel(c.x), seed++), w = rnd(shape_numel(c.w), seed++), bias = rnd(c.w[0], seed++);
    F y = nans(shape_numel(ys)), r = nans(shape_numel(ys));
    ConvParams p = params(c);
    p.epi.fn = UnaryFn::Clip, p.epi.lo = -1.5f, p.epi.hi = 2.0f;
    const uint64_t bytes = conv_scratch_bytes(view(x, c.x), view(w, c.w), p, view(y, ys));
    if (c.w[2] == 1) EXPECT_EQ(bytes, 0u);
    std::vector<char> scratch(bytes);
    conv(view(x, c.x), view(w, c.w), bias.data(), p, view(y, ys), bytes ? scratch.data() : nullptr);
    conv_ref(view(x, c.x), view(w, c.w), bias.data(), p, view(r, ys));
    EXPECT_LT(test::max_rel_err(y, r), 1e-5) << shape_str(c.x) << " * " << shape_str(c.w);
  }
}

TEST(NdKernels, ConvTransposeHandChecked) {
  F x{1, 2}, w{1, 1, 1}, y = nans(5);
  ConvParams p = params({{1, 1, 2}, {1, 1, 3}, 1, {2}, {1}, {0, 0}});
  conv_transpose(view(x, {1, 1, 2}), view(w, {1, 1, 3}), nullptr, p, view(y, {1, 1, 5}));
  EXPECT_EQ(y, (F{1, 1, 3, 2, 2}));
  F y6 = nans(6), bias{10};
  p.output_padding = {1};
  conv_transpose(view(x, {1, 1, 2}), view(w, {1, 1, 3}), bias.data(), p, view(y6, {1, 1, 6}));
  EXPECT_EQ(y6, (F{11, 11, 13, 12, 12, 10}));
  F y3 = nans(3);
  p.pads = {1, 1};
  p.output_padding = {0};
  conv_transpose(view(x, {1, 1, 2}), view(w, {1, 1, 3}), nullptr, p, view(y3, {1, 1, 3}));
  EXPECT_EQ(y3, (F{1, 3, 2}));
}

TEST(NdKernels, ConvTransposeIsTheAdjointOfConv) {
  // <conv(x; w), g> == <x, conv_transpose(g; w)>: a conv weight (M, C/group, k) is the weight of
  // the transposed conv from M channels back to C, so the two agree on strides, dilations, pads
  // and groups or this identity breaks.
  const ConvCase cases[] = {{{1, 4, 7, 8}, {6, 2, 3, 2}, 2, {2, 3}, {2, 1}, {1, 0, 2, 1}},
                            {{2, 2, 9}, {3, 2, 4}, 1, {3}, {1}, {2, 1}}};
  for (const ConvCase& c : cases) {
    const Shape ys = conv_out(c);
    F x = rnd(shape_numel(c.x), 7), w = rnd(shape_numel(c.w), 8), g = rnd(shape_numel(ys), 9);
    F y = nans(shape_numel(ys)), xt = nans(shape_numel(c.x));
    const ConvParams p = params(c);
    conv_ref(view(x, c.x), view(w, c.w), nullptr, p, view(y, ys));
    conv_transpose(view(g, ys), view(w, c.w), nullptr, p, view(xt, c.x));
    double lhs = 0, rhs = 0;
    for (size_t i = 0; i < y.size(); ++i) lhs += double(y[i]) * g[i];
    for (size_t i = 0; i < x.size(); ++i) rhs += double(x[i]) * xt[i];
    EXPECT_NEAR(lhs, rhs, 1e-4 * (1 + std::fabs(lhs))) << shape_str(c.x);
  }
}

// ---- pooling ----

TEST(NdKernels, MaxPoolPaddingNeverWinsAndDilation) {
  F x{-1, -2, -3, -4}, y = nans(9);
  PoolParams p;
  p.kernel = {2, 2}, p.strides = {1, 1}, p.dilations = {1, 1}, p.pads = {1, 1, 1, 1};
  pool(view(x, {1, 1, 2, 2}), p, view(y, {1, 1, 3, 3}));
  EXPECT_EQ(y, (F{-1, -1, -2, -1, -1, -2, -3, -3, -4}));
  F v{1, 5, 2, 4, 3}, d = nans(3);
  p.kernel = {2}, p.strides = {1}, p.dilations = {2}, p.pads = {0, 0};
  pool(view(v, {1, 1, 5}), p, view(d, {1, 1, 3}));
  EXPECT_EQ(d, (F{2, 5, 3}));
}

TEST(NdKernels, AveragePoolDivisorAndGlobalPools) {
  F x{1, 2, 3, 4}, y = nans(9);
  PoolParams p;
  p.kind = PoolKind::Average;
  p.kernel = {2, 2}, p.strides = {1, 1}, p.pads = {1, 1, 1, 1};
  pool(view(x, {1, 1, 2, 2}), p, view(y, {1, 1, 3, 3}));
  expect_close(y, {1, 1.5f, 2, 2, 2.5f, 3, 3, 3.5f, 4});
  p.count_include_pad = true;
  pool(view(x, {1, 1, 2, 2}), p, view(y, {1, 1, 3, 3}));
  expect_close(y, {0.25f, 0.75f, 0.5f, 1, 2.5f, 1.5f, 0.75f, 1.75f, 1});
  // ceil_mode: the last window hangs past the input; the positions past it count for neither.
  F r{1, 2, 3}, c = nans(2);
  p.kernel = {2}, p.strides = {2}, p.pads = {0, 0}, p.ceil_mode = true;
  pool(view(r, {1, 1, 3}), p, view(c, {1, 1, 2}));
  expect_close(c, {1.5f, 3});
  F g{1, 2, 3, 4, -5, -6, -7, -8}, ga = nans(2);
  PoolParams q;
  q.kind = PoolKind::GlobalAverage;
  pool(view(g, {1, 2, 2, 2}), q, view(ga, {1, 2, 1, 1}));
  expect_close(ga, {2.5f, -6.5f});
  q.kind = PoolKind::GlobalMax;
  pool(view(g, {1, 2, 2, 2}), q, view(ga, {1, 2, 1, 1}));
  EXPECT_EQ(ga, (F{4, -5}));
}

// ---- matmul, gemm ----

TEST(NdKernels, MatmulMatchesReferenceWithBroadcastBatches) {
  struct Case { Shape a, b, y; };
  const Case cases[] = {
      {{2, 3}, {3, 2}, {2, 2}},
      {{2, 1, 3, 5}, {4, 5, 2}, {2, 4, 3, 2}},  // batch broadcast both ways
      {{5}, {2, 5, 3}, {2, 3}},                // 1-D a
      {{2, 3, 5}, {5}, {2, 3}},                // 1-D b
      {{5}, {5}, {}},                          // dot product
      {{2, 3, 7, 5}, {5, 4}, {2, 3, 7, 4}},    // one weight: the batch folds into M
      {{3, 7, 5}, {1, 5, 1}, {3, 7, 1}},
  };
  uint32_t seed = 40;
  for (const Case& c : cases) {
    F a = rnd(shape_numel(c.a), seed++), b = rnd(shape_numel(c.b), seed++);
    const int64_t n = c.b.size() >= 2 ? c.b.back() : 1;
    F bias = rnd(n, seed++), y = nans(shape_numel(c.y)), r = nans(shape_numel(c.y));
    for (const float* bp : {static_cast<const float*>(nullptr), static_cast<const float*>(bias.data())}) {
      matmul(view(a, c.a), view(b, c.b), bp, view(y, c.y));
      matmul_ref(view(a, c.a), view(b, c.b), bp, view(r, c.y));
      EXPECT_LT(test::max_rel_err(y, r), 1e-5) << shape_str(c.a) << " . " << shape_str(c.b);
    }
  }
  F a{1, 2, 3, 4, 5, 6}, b{1, 0, 0, 1, 1, 1}, y = nans(4);
  matmul_ref(view(a, {2, 3}), view(b, {3, 2}), nullptr, view(y, {2, 2}));
  EXPECT_EQ(y, (F{4, 5, 10, 11}));
}

TEST(NdKernels, GemmTransposesScalesAndBroadcastsC) {
  F a{1, 2, 3, 4}, b{5, 6, 7, 8}, y = nans(4);
  GemmParams p;
  gemm(view(a, {2, 2}), view(b, {2, 2}), nullptr, p, view(y, {2, 2}));
  EXPECT_EQ(y, (F{19, 22, 43, 50}));
  p.trans_a = true;
  gemm(view(a, {2, 2}), view(b, {2, 2}), nullptr, p, view(y, {2, 2}));
  EXPECT_EQ(y, (F{26, 30, 38, 44}));
  p.trans_a = false, p.trans_b = true;
  gemm(view(a, {2, 2}), view(b, {2, 2}), nullptr, p, view(y, {2, 2}));
  EXPECT_EQ(y, (F{17, 23, 39, 53}));
  p.trans_b = false, p.alpha = 2, p.beta = 0.5f;
  F col{10, 20}, row{10, 20};
  Tensor c = view(col, {2, 1});
  gemm(view(a, {2, 2}), view(b, {2, 2}), &c, p, view(y, {2, 2}));
  EXPECT_EQ(y, (F{43, 49, 96, 110}));
  c = view(row, {2});
  gemm(view(a, {2, 2}), view(b, {2, 2}), &c, p, view(y, {2, 2}));
  EXPECT_EQ(y, (F{43, 54, 91, 110}));
  F a23{1, 2, 3, 4, 5, 6}, b32{1, 2, 3, 4, 5, 6}, y22 = nans(4);  // (2, 3) . (3, 2)
  p = GemmParams{};
  gemm(view(a23, {2, 3}), view(b32, {3, 2}), nullptr, p, view(y22, {2, 2}));
  EXPECT_EQ(y22, (F{22, 28, 49, 64}));
}
