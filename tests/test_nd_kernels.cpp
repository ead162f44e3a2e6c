// The CPU kernels of the N-D ops (kernels/cpu/nd_kernels.h) on small hand-checked cases (exact
// for data movement, within 1e-5 for float math; the Resize cases are ONNX's backend-test
// values), and the errors a bad index or dtype raises. Conv, pooling and matmul:
// tests/test_nd_kernels_conv.cpp.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "kernels/cpu/nd_kernels.h"
#include "nd_kernels_test_util.h"

using namespace edgerun;
using namespace edgerun::kernels;
using namespace edgerun::test::ndk;

// ---- elementwise ----

TEST(NdKernels, UnaryFloatFunctions) {
  const F x{-2, -0.5f, 0, 1.5f};
  Epilogue e;
  e.alpha = 0.1f;
  expect_close(unary_f(UnaryFn::Relu, x), {0, 0, 0, 1.5f});
  expect_close(unary_f(UnaryFn::LeakyRelu, x, e), {-0.2f, -0.05f, 0, 1.5f});
  e.alpha = 0.2f, e.beta = 0.5f;
  expect_close(unary_f(UnaryFn::HardSigmoid, x, e), {0.1f, 0.4f, 0.5f, 0.8f});
  expect_close(unary_f(UnaryFn::HardSwish, x), {-1.0f / 3, -0.5f * 5 / 12, 0, 1.125f});
  e.lo = -1, e.hi = 1;
  expect_close(unary_f(UnaryFn::Clip, x, e), {-1, -0.5f, 0, 1});
  expect_close(unary_f(UnaryFn::Sigmoid, {0, 2}), {0.5f, 0.88079708f});
  expect_close(unary_f(UnaryFn::Tanh, {0, 1}), {0, 0.76159416f});
  expect_close(unary_f(UnaryFn::Exp, {0, 1}), {1, 2.71828183f});
  expect_close(unary_f(UnaryFn::Log, {1, 2.71828183f}), {0, 1});
  expect_close(unary_f(UnaryFn::Sqrt, {4, 2}), {2, 1.41421356f});
  expect_close(unary_f(UnaryFn::Erf, {0, 1}), {0, 0.84270079f});
  expect_close(unary_f(UnaryFn::Reciprocal, {4, -0.5f}), {0.25f, -2});
  expect_close(unary_f(UnaryFn::Floor, x), {-2, -1, 0, 1});
  expect_close(unary_f(UnaryFn::Ceil, x), {-2, 0, 0, 2});
  expect_close(unary_f(UnaryFn::Neg, x), {2, 0.5f, 0, -1.5f});
  expect_close(unary_f(UnaryFn::Abs, x), {2, 0.5f, 0, 1.5f});
}

TEST(NdKernels, UnaryIntegerBoolAndInPlace) {
  std::vector<int32_t> x{-3, 0, 5}, y(3);
  Epilogue e;
  unary(UnaryFn::Neg, e, view(x, {3}), view(y, {3}));
  EXPECT_EQ(y, (std::vector<int32_t>{3, 0, -5}));
  unary(UnaryFn::Relu, e, view(x, {3}), view(y, {3}));
  EXPECT_EQ(y, (std::vector<int32_t>{0, 0, 5}));
  e.lo = -std::numeric_limits<float>::infinity(), e.hi = 2;  // an absent min
  unary(UnaryFn::Clip, e, view(x, {3}), view(y, {3}));
  EXPECT_EQ(y, (std::vector<int32_t>{-3, 0, 2}));
  B b{0, 1, 1}, nb(3);
  unary(UnaryFn::Not, e, bools(b, {3}), bools(nb, {3}));
  EXPECT_EQ(nb, (B{1, 0, 0}));
  F v{-1, 2};  // y aliases x
  unary(UnaryFn::Relu, e, view(v, {2}), view(v, {2}));
  EXPECT_EQ(v, (F{0, 2}));
  const std::string err = test::error_of<UnsupportedError>([&] { unary(UnaryFn::Sigmoid, e, view(x, {3}), view(y, {3})); });
  EXPECT_TRUE(test::contains(err, "unary") && test::contains(err, "I32")) << err;
}

TEST(NdKernels, BinaryBroadcastsColumnByRow) {
  F a{1, 2, 3}, b{10, 20, 30, 40}, y = nans(12);
  binary(BinaryFn::Add, view(a, {3, 1}), view(b, {1, 4}), view(y, {3, 4}));
  EXPECT_EQ(y, (F{11, 21, 31, 41, 12, 22, 32, 42, 13, 23, 33, 43}));
  binary(BinaryFn::Sub, view(b, {1, 4}), view(a, {3, 1}), view(y, {3, 4}));
  EXPECT_EQ(y, (F{9, 19, 29, 39, 8, 18, 28, 38, 7, 17, 27, 37}));
}

TEST(NdKernels, BinaryBroadcastsScalarAndRankMismatch) {
  F s{2}, x{1, 2, 3, 4, 5, 6}, y = nans(6);
  binary(BinaryFn::Mul, view(s, {}), view(x, {2, 3}), view(y, {2, 3}));
  EXPECT_EQ(y, (F{2, 4, 6, 8, 10, 12}));
  F big(24), row{1, 2, 3, 4}, out = nans(24);
  for (int i = 0; i < 24; ++i) big[i] = static_cast<float>(i);
  binary(BinaryFn::Sub, view(big, {2, 3, 4}), view(row, {4}), view(out, {2, 3, 4}));
  for (int i = 0; i < 24; ++i) EXPECT_EQ(out[i], static_cast<float>(i - 1 - i % 4)) << i;
}

TEST(NdKernels, IntegerDivTruncatesTowardZero) {
  I64 a{7, -7, 7, -7}, b{2, 2, -2, -2}, y(4);
  binary(BinaryFn::Div, view(a, {4}), view(b, {4}), view(y, {4}));
  EXPECT_EQ(y, (I64{3, -3, -3, 3}));
  I64 z{0};
  EXPECT_THROW(binary(BinaryFn::Div, view(a, {4}), view(z, {1}), view(y, {4})), InputError);
}

TEST(NdKernels, PowTakesFloatBaseAndIntOrFloatExponent) {
  F a{2, 3, 4}, y = nans(3);
  I64 e{3};
  binary(BinaryFn::Pow, view(a, {3}), view(e, {1}), view(y, {3}));
  EXPECT_EQ(y, (F{8, 27, 64}));
  F h{0.5f};
  binary(BinaryFn::Pow, view(a, {3}), view(h, {}), view(y, {3}));
  expect_close(y, {1.41421356f, 1.73205081f, 2});
}

TEST(NdKernels, ComparisonsWriteBoolAndLogicTakesBool) {
  F a{1, 2, 3}, b{2};
  B y(3);
  binary(BinaryFn::Less, view(a, {3}), view(b, {1}), bools(y, {3}));
  EXPECT_EQ(y, (B{1, 0, 0}));
  binary(BinaryFn::Greater, view(a, {3}), view(b, {1}), bools(y, {3}));
  EXPECT_EQ(y, (B{0, 0, 1}));
  binary(BinaryFn::Equal, view(a, {3}), view(b, {1}), bools(y, {3}));
  EXPECT_EQ(y, (B{0, 1, 0}));
  B p{1, 1, 0}, q{1, 0, 0};
  binary(BinaryFn::And, bools(p, {3}), bools(q, {3}), bools(y, {3}));
  EXPECT_EQ(y, (B{1, 0, 0}));
  binary(BinaryFn::Or, bools(p, {3}), bools(q, {3}), bools(y, {3}));
  EXPECT_EQ(y, (B{1, 1, 0}));
  binary(BinaryFn::Equal, bools(p, {3}), bools(q, {3}), bools(y, {3}));
  EXPECT_EQ(y, (B{1, 0, 1}));
  std::vector<int8_t> i{-5, 7}, j{3}, m(2);
  binary(BinaryFn::Max, view(i, {2}), view(j, {1}), view(m, {2}));
  EXPECT_EQ(m, (std::vector<int8_t>{3, 7}));
  binary(BinaryFn::Min, view(i, {2}), view(j, {1}), view(m, {2}));
  EXPECT_EQ(m, (std::vector<int8_t>{-5, 3}));
}

TEST(NdKernels, WhereBroadcastsAllThree) {
  B c{1, 0};
  F a{1, 2, 3}, b{-1}, y = nans(6);
  where(bools(c, {2, 1}), view(a, {1, 3}), view(b, {}), view(y, {2, 3}));
  EXPECT_EQ(y, (F{1, 2, 3, -1, -1, -1}));
}

TEST(NdKernels, CastTruncatesAndTestsNonZero) {
  F x{1.7f, -1.7f, 2.5f, 0};
  std::vector<int32_t> i(4);
  cast(view(x, {4}), view(i, {4}));
  EXPECT_EQ(i, (std::vector<int32_t>{1, -1, 2, 0}));
  B b(4);
  F z{0, 0.1f, -3, std::nanf("")};
  cast(view(z, {4}), bools(b, {4}));
  EXPECT_EQ(b, (B{0, 1, 1, 1}));
  I64 l{-3, 1LL << 40};
  F f(2);
  cast(view(l, {2}), view(f, {2}));
  EXPECT_EQ(f, (F{-3, 1099511627776.0f}));
  cast(bools(b, {4}), view(x, {4}));
  EXPECT_EQ(x, (F{0, 1, 1, 1}));
}

TEST(NdKernels, CastToHalfRoundsToNearestEven) {
  // 1 + 2^-11 is halfway between 1 and the next half (even: 1); 1 + 3 * 2^-11 rounds up;
  // 65520 is halfway to 2^16, past the largest half: inf; 3 * 2^-25 is halfway between the
  // subnormals 1 and 2 (even: 2); 2^-25 is halfway to 0 (even: 0).
  F x{1.0f, 1.0f + 0x1p-11f, 1.0f + 3 * 0x1p-11f, 0.1f, -2, 65504, 65520, 0x1p-24f, 3 * 0x1p-25f, 0x1p-25f,
      std::numeric_limits<float>::infinity()};
  std::vector<uint16_t> h(x.size());
  cast(view(x, {11}), view(h, {11}, DType::F16));
  EXPECT_EQ(h, (std::vector<uint16_t>{0x3c00, 0x3c00, 0x3c02, 0x2e66, 0xc000, 0x7bff, 0x7c00, 0x0001, 0x0002,
                                      0x0000, 0x7c00}));
  F back = nans(11);
  cast(view(h, {11}, DType::F16), view(back, {11}));
  EXPECT_EQ(back[3], 0.0999755859375f);
  EXPECT_EQ(back[7], 0x1p-24f);
  std::vector<uint16_t> bf(2);
  F one{1.0f, -2.0f};
  cast(view(one, {2}), view(bf, {2}, DType::BF16));
  EXPECT_EQ(bf, (std::vector<uint16_t>{0x3f80, 0xc000}));
}

TEST(NdKernels, VariadicSumMeanMaxBroadcast) {
  F a{1, 2}, b{10, 20, 30, 40}, c{100}, y = nans(4);
  const Tensor xs[] = {view(a, {2, 1}), view(b, {2, 2}), view(c, {1})};
  variadic(BinaryFn::Add, false, xs, 3, view(y, {2, 2}));
  EXPECT_EQ(y, (F{111, 121, 132, 142}));
  variadic(BinaryFn::Add, true, xs, 3, view(y, {2, 2}));
  expect_close(y, {37, 121.0f / 3, 44, 142.0f / 3});
  variadic(BinaryFn::Max, false, xs, 2, view(y, {2, 2}));
  EXPECT_EQ(y, (F{10, 20, 30, 40}));
  variadic(BinaryFn::Min, false, xs, 2, view(y, {2, 2}));
  EXPECT_EQ(y, (F{1, 1, 2, 2}));
}

// ---- normalizations ----

TEST(NdKernels, SoftmaxAndLogSoftmaxOverAnyAxis) {
  F x{1, 2, 3}, y = nans(3);
  softmax(view(x, {1, 3}), 1, false, view(y, {1, 3}));
  expect_close(y, {0.09003057f, 0.24472847f, 0.66524096f});
  softmax(view(x, {1, 3}), 1, true, view(y, {1, 3}));
  expect_close(y, {-2.40760596f, -1.40760596f, -0.40760596f});
  F m{1, 5, 3, 5}, z = nans(4);  // axis 0 of (2, 2): columns {1, 3} and {5, 5}
  softmax(view(m, {2, 2}), 0, false, view(z, {2, 2}));
  expect_close(z, {0.11920292f, 0.5f, 0.88079708f, 0.5f});
}

TEST(NdKernels, LayerNormBatchNormChannelAffine) {
  F x{1, 3, 2, 6}, y = nans(4), scale{2, 1}, bias{0.5f, 0};
  layer_norm(view(x, {2, 2}), 1, 0.0f, scale.data(), bias.data(), view(y, {2, 2}));
  expect_close(y, {-1.5f, 1, -1.5f, 1});
  layer_norm(view(x, {2, 2}), 0, 0.0f, F{1, 1, 1, 1}.data(), nullptr, view(y, {2, 2}));
  expect_close(y, {-1.0690449f, 0, -0.5345225f, 1.6035675f});
  F b{1, 2, 3, 4}, bn = nans(4), s{1, 2}, bb{0, 1}, mean{1, 3}, var{4, 1};
  batch_norm(view(b, {1, 2, 2}), s.data(), bb.data(), mean.data(), var.data(), 0.0f, view(bn, {1, 2, 2}));
  expect_close(bn, {0, 0.5f, 1, 3});
  F c{1, -2, 3, -4, 5, -6, 7, -8};  // (2, 2, 2)
  Epilogue relu;
  relu.fn = UnaryFn::Relu;
  channel_affine(view(c, {2, 2, 2}), F{2, -1}.data(), F{1, 0}.data(), relu);
  EXPECT_EQ(c, (F{3, 0, 0, 4, 11, 0, 0, 8}));
}

// ---- reductions ----

TEST(NdKernels, ReduceOverAxes) {
  F x{1, 2, 3, 4, 5, 6}, y2 = nans(2), y3 = nans(3), y1 = nans(1);
  reduce(ReduceFn::Sum, view(x, {2, 3}), {1}, view(y2, {2, 1}));
  EXPECT_EQ(y2, (F{6, 15}));
  reduce(ReduceFn::Mean, view(x, {2, 3}), {0}, view(y3, {3}));
  EXPECT_EQ(y3, (F{2.5f, 3.5f, 4.5f}));
  reduce(ReduceFn::Max, view(x, {2, 3}), {}, view(y1, {}));
  EXPECT_EQ(y1, (F{6}));
  reduce(ReduceFn::Min, view(x, {2, 3}), {1}, view(y2, {2}));
  EXPECT_EQ(y2, (F{1, 4}));
  reduce(ReduceFn::Prod, view(x, {2, 3}), {1}, view(y2, {2}));
  EXPECT_EQ(y2, (F{6, 120}));
  F c{1, 2, 3, 4, 5, 6, 7, 8};
  reduce(ReduceFn::Sum, view(c, {2, 2, 2}), {0, 2}, view(y2, {1, 2, 1}));
  EXPECT_EQ(y2, (F{14, 22}));
  I64 l{-5, 3, 9, 2}, r(2);
  reduce(ReduceFn::Max, view(l, {2, 2}), {0}, view(r, {2}));
  EXPECT_EQ(r, (I64{9, 3}));
  reduce(ReduceFn::Sum, view(l, {2, 2}), {1}, view(r, {2}));
  EXPECT_EQ(r, (I64{-2, 11}));
}

TEST(NdKernels, ArgMaxArgMinTies) {
  F x{1, 3, 3, 2, 0, 0};
  I64 y(2), y3(3);
  arg_extreme(view(x, {2, 3}), 1, true, false, view(y, {2}));
  EXPECT_EQ(y, (I64{1, 0}));
  arg_extreme(view(x, {2, 3}), 1, true, true, view(y, {2}));
  EXPECT_EQ(y, (I64{2, 0}));
  arg_extreme(view(x, {2, 3}), 1, false, false, view(y, {2}));
  EXPECT_EQ(y, (I64{0, 1}));
  arg_extreme(view(x, {2, 3}), 1, false, true, view(y, {2, 1}));
  EXPECT_EQ(y, (I64{0, 2}));
  arg_extreme(view(x, {2, 3}), 0, true, false, view(y3, {3}));
  EXPECT_EQ(y3, (I64{1, 0, 0}));
}

TEST(NdKernels, TopKSortedLowerIndexFirstOnTies) {
  F x{1, 3, 3, 2, 5, 4, 6, 4}, v = nans(6);
  I64 i(6);
  topk(view(x, {2, 4}), 3, 1, true, view(v, {2, 3}), view(i, {2, 3}));
  EXPECT_EQ(v, (F{3, 3, 2, 6, 5, 4}));
  EXPECT_EQ(i, (I64{1, 2, 3, 2, 0, 1}));
  F v2 = nans(4);
  I64 i2(4);
  topk(view(x, {2, 4}), 2, 1, false, view(v2, {2, 2}), view(i2, {2, 2}));
  EXPECT_EQ(v2, (F{1, 2, 4, 4}));
  EXPECT_EQ(i2, (I64{0, 3, 1, 3}));
  I64 c{1, 4, 3, 2, 2, 6}, cv(4), ci(4);  // (3, 2) along axis 0
  topk(view(c, {3, 2}), 2, 0, true, view(cv, {2, 2}), view(ci, {2, 2}));
  EXPECT_EQ(cv, (I64{3, 6, 2, 4}));
  EXPECT_EQ(ci, (I64{1, 2, 2, 0}));
}

// ---- data movement ----

TEST(NdKernels, ConcatAndSplitAreInverse) {
  std::vector<int8_t> a{1, 2}, b{3, 4, 5, 6}, y(6);
  const Tensor parts[] = {view(a, {2, 1}), view(b, {2, 2})};
  concat(parts, 2, 1, view(y, {2, 3}));
  EXPECT_EQ(y, (std::vector<int8_t>{1, 3, 4, 2, 5, 6}));
  std::vector<int8_t> p(2), q(4);
  const Tensor outs[] = {view(p, {2, 1}), view(q, {2, 2})};
  split(view(y, {2, 3}), 1, outs, 2);
  EXPECT_EQ(p, a);
  EXPECT_EQ(q, b);
  F f0{1, 2}, f1{3, 4, 5, 6}, fy = nans(6);
  const Tensor rows[] = {view(f0, {1, 2}), view(f1, {2, 2})};
  concat(rows, 2, 0, view(fy, {3, 2}));
  EXPECT_EQ(fy, (F{1, 2, 3, 4, 5, 6}));
}

TEST(NdKernels, TransposeAndSlice) {
  F x{1, 2, 3, 4, 5, 6}, y = nans(6);
  transpose(view(x, {2, 3}), {1, 0}, view(y, {3, 2}));
  EXPECT_EQ(y, (F{1, 4, 2, 5, 3, 6}));
  I64 t(24), u(24);
  for (int i = 0; i < 24; ++i) t[i] = i;
  transpose(view(t, {2, 3, 4}), {2, 0, 1}, view(u, {4, 2, 3}));
  for (int64_t a = 0; a < 4; ++a)
    for (int64_t b = 0; b < 2; ++b)
      for (int64_t c = 0; c < 3; ++c) EXPECT_EQ(u[(a * 2 + b) * 3 + c], (b * 3 + c) * 4 + a);
  I64 s(12), r(4);
  for (int i = 0; i < 12; ++i) s[i] = i;
  slice(view(s, {3, 4}), {2, 3}, {-1, -2}, view(r, {2, 2}));
  EXPECT_EQ(r, (I64{11, 9, 7, 5}));
  slice(view(s, {3, 4}), {0, 1}, {2, 2}, view(r, {2, 2}));
  EXPECT_EQ(r, (I64{1, 3, 9, 11}));
}

TEST(NdKernels, GatherWrapsNegativeIndices) {
  F d{1, 2, 3, 4, 5, 6}, y = nans(6);
  I64 i{2, -1, 0};
  gather(view(d, {3, 2}), view(i, {3}), 0, view(y, {3, 2}));
  EXPECT_EQ(y, (F{5, 6, 5, 6, 1, 2}));
  std::vector<int32_t> j{1, 0};
  gather(view(d, {3, 2}), view(j, {2}), 1, view(y, {3, 2}));
  EXPECT_EQ(y, (F{2, 1, 4, 3, 6, 5}));
  I64 k{1};
  F one = nans(3);
  gather(view(d, {3, 2}), view(k, {}), 1, view(one, {3}));  // scalar index: the axis goes
  EXPECT_EQ(one, (F{2, 4, 6}));
}

TEST(NdKernels, GatherOutOfRangeIsAnInputError) {
  F d{1, 2, 3, 4, 5, 6}, y = nans(2);
  for (int64_t bad : {3, -4}) {
    I64 i{bad};
    const std::string err = test::error_of<InputError>([&] { gather(view(d, {3, 2}), view(i, {1}), 0, view(y, {1, 2})); });
    EXPECT_TRUE(test::contains(err, "index " + std::to_string(bad)) && test::contains(err, "size 3")) << err;
  }
}

TEST(NdKernels, ExpandPadRangeFill) {
  F x{1, 2, 3}, e = nans(12);
  expand(view(x, {3, 1}), view(e, {2, 3, 2}));
  EXPECT_EQ(e, (F{1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3}));
  F m{1, 2, 3, 4}, pc = nans(9);
  pad(view(m, {2, 2}), {1, 0, 0, 1}, PadMode::Constant, 9.5, view(pc, {3, 3}));
  EXPECT_EQ(pc, (F{9.5f, 9.5f, 9.5f, 1, 2, 9.5f, 3, 4, 9.5f}));
  I64 v{1, 2, 3}, rf(7), ed(6), cr(4);
  pad(view(v, {3}), {2, 2}, PadMode::Reflect, 0, view(rf, {7}));
  EXPECT_EQ(rf, (I64{3, 2, 1, 2, 3, 2, 1}));
  pad(view(v, {3}), {2, 1}, PadMode::Edge, 0, view(ed, {6}));
  EXPECT_EQ(ed, (I64{1, 1, 1, 2, 3, 3}));
  pad(view(v, {3}), {-1, 2}, PadMode::Constant, 7, view(cr, {4}));  // negative: crop
  EXPECT_EQ(cr, (I64{2, 3, 7, 7}));
  F rg = nans(4);
  range(1, 0.5, view(rg, {4}));
  EXPECT_EQ(rg, (F{1, 1.5f, 2, 2.5f}));
  I64 ri(4);
  range(10, -3, view(ri, {4}));
  EXPECT_EQ(ri, (I64{10, 7, 4, 1}));
  I64 five{5}, f(3);
  fill(view(five, {1}), view(f, {3}));
  EXPECT_EQ(f, (I64{5, 5, 5}));
}

// ---- resize (expected values: ONNX's backend tests, and the rounding rules by hand) ----

namespace {
F resized(F x, const Shape& xs, const Shape& ys, ResizeParams p) {
  F y = nans(shape_numel(ys));
  resize(view(x, xs), p, view(y, ys));
  return y;
}
ResizeParams rp(ResizeMode m, CoordMode c, NearestMode n, std::vector<float> scales) {
  ResizeParams p;
  p.mode = m, p.coord = c, p.nearest = n, p.scales = std::move(scales);
  return p;
}
}  // namespace

TEST(NdKernels, ResizeNearestModes) {
  const F q{1, 2, 3, 4};
  EXPECT_EQ(resized(q, {1, 1, 2, 2}, {1, 1, 2, 6}, rp(ResizeMode::Nearest, CoordMode::HalfPixel, NearestMode::RoundPreferFloor, {1, 1, 1, 3})),
            (F{1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4}));
  EXPECT_EQ(resized({1, 2, 3, 4, 5, 6, 7, 8}, {1, 1, 2, 4}, {1, 1, 1, 2},
                    rp(ResizeMode::Nearest, CoordMode::HalfPixel, NearestMode::RoundPreferFloor, {1, 1, 0.6f, 0.6f})),
            (F{1, 3}));
  F r16(16);
  for (int i = 0; i < 16; ++i) r16[i] = static_cast<float>(i + 1);
  const F ceil_row = resized(r16, {1, 1, 4, 4}, {1, 1, 8, 8}, rp(ResizeMode::Nearest, CoordMode::HalfPixel, NearestMode::Ceil, {1, 1, 2, 2}));
  EXPECT_EQ(F(ceil_row.begin(), ceil_row.begin() + 8), (F{1, 2, 2, 3, 3, 4, 4, 4}));
  // asymmetric x 2: source coordinates 0, 0.5, 1, ..., 3.5, so every other one is a tie.
  const F v{10, 20, 30, 40};
  auto asym = [&](NearestMode n, CoordMode c = CoordMode::Asymmetric) {
    return resized(v, {4}, {8}, rp(ResizeMode::Nearest, c, n, {2}));
  };
  EXPECT_EQ(asym(NearestMode::RoundPreferFloor), (F{10, 10, 20, 20, 30, 30, 40, 40}));
  EXPECT_EQ(asym(NearestMode::RoundPreferCeil), (F{10, 20, 20, 30, 30, 40, 40, 40}));
  EXPECT_EQ(asym(NearestMode::Floor), (F{10, 10, 20, 20, 30, 30, 40, 40}));
  EXPECT_EQ(asym(NearestMode::Ceil), (F{10, 20, 20, 30, 30, 40, 40, 40}));
  EXPECT_EQ(asym(NearestMode::RoundPreferFloor, CoordMode::TfHalfPixelForNn), (F{10, 20, 20, 30, 30, 40, 40, 40}));
  EXPECT_EQ(asym(NearestMode::Floor, CoordMode::AlignCorners), (F{10, 10, 10, 20, 20, 30, 30, 40}));
}

TEST(NdKernels, ResizeLinearCoordinateModes) {
  const F q{1, 2, 3, 4};
  expect_close(resized(q, {1, 1, 2, 2}, {1, 1, 4, 4}, rp(ResizeMode::Linear, CoordMode::HalfPixel, NearestMode::Floor, {1, 1, 2, 2})),
               {1, 1.25f, 1.75f, 2, 1.5f, 1.75f, 2.25f, 2.5f, 2.5f, 2.75f, 3.25f, 3.5f, 3, 3.25f, 3.75f, 4});
  const float t = 1.0f / 3;
  expect_close(resized(q, {1, 1, 2, 2}, {1, 1, 4, 4}, rp(ResizeMode::Linear, CoordMode::AlignCorners, NearestMode::Floor, {1, 1, 2, 2})),
               {1, 1 + t, 1 + 2 * t, 2, 1 + 2 * t, 2, 2 + t, 2 + 2 * t, 2 + t, 2 + 2 * t, 3, 3 + t, 3, 3 + t, 3 + 2 * t, 4});
  expect_close(resized({1, 2, 3, 4, 5, 6, 7, 8}, {1, 1, 2, 4}, {1, 1, 1, 2},
                       rp(ResizeMode::Linear, CoordMode::HalfPixel, NearestMode::Floor, {1, 1, 0.6f, 0.6f})),
               {2.6666665f, 4.3333331f});
  F r16(16);
  for (int i = 0; i < 16; ++i) r16[i] = static_cast<float>(i + 1);
  expect_close(resized(r16, {1, 1, 4, 4}, {1, 1, 3, 1},
                       rp(ResizeMode::Linear, CoordMode::PytorchHalfPixel, NearestMode::Floor, {1, 1, 0.75f, 0.25f})),
               {1.6666666f, 7, 12.333333f});
  expect_close(resized({10, 20}, {2}, {4}, rp(ResizeMode::Linear, CoordMode::Asymmetric, NearestMode::Floor, {2})),
               {10, 15, 20, 20});
}

// ---- dtype errors ----

TEST(NdKernels, UnsupportedDtypesNameTheOpAndDtype) {
  std::vector<int32_t> x{1, 2}, y(2);
  const std::string err = test::error_of<UnsupportedError>([&] { softmax(view(x, {1, 2}), 1, false, view(y, {1, 2})); });
  EXPECT_TRUE(test::contains(err, "Softmax") && test::contains(err, "I32")) << err;
  std::vector<int8_t> b{1, 2}, bo(2);
  const std::string e2 = test::error_of<UnsupportedError>([&] { reduce(ReduceFn::Sum, view(b, {2}), {}, view(bo, {1, 2})); });
  EXPECT_TRUE(test::contains(e2, "reduce") && test::contains(e2, "I8")) << e2;
}
