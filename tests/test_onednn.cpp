// The oneDNN backend (src/kernels/onednn) against the CPU references on odd shapes: Conv over 1
// to 3 spatial axes (groups, depthwise, strides, dilations, pads, every epilogue it claims, a
// folded BatchNorm) under each conv layout, ConvTranspose, and the pools; its scratch covers what
// the primitives ask; it refuses what it does not claim; a second run gives the same bits.
// tests/test_nd_ops.cpp runs its rows on this backend too (register_builtin_backends).
#include <gtest/gtest.h>

#ifdef EDGERUN_HAVE_DNNL
#include <dnnl.hpp>

#include <cmath>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "graph/backend.h"
#include "graph/nd_bind.h"
#include "kernels/cpu/cpu_backend.h"
#include "kernels/cpu/nd_kernels.h"
#include "kernels/onednn/onednn_backend.h"
#include "nd_test_util.h"

using namespace edgerun;

namespace {

using test::NoRows;

struct OneOp {
  Graph g;
  std::vector<std::vector<float>> data;  // per input value
  const Op& op() const { return g.ops[0]; }
};

// A bound one-op graph over float inputs of `shapes`, filled with random values (BN variances
// positive).
std::unique_ptr<OneOp> build(OpKind kind, const std::vector<Shape>& shapes, const std::function<void(NdAttrs&)>& attrs,
                             uint32_t seed = 7) {
  auto b = std::make_unique<OneOp>();
  Graph& g = b->g;
  g.nd = true;
  std::vector<ValueId> ins;
  for (size_t i = 0; i < shapes.size(); ++i) {
    const ValueId v = g.add_nd_value("in" + std::to_string(i), DType::F32, {});
    g.values[v].is_input = true;
    g.values[v].declared = Shape(shapes[i].size(), -1);
    g.values[v].dim_params.assign(shapes[i].size(), "");
    g.nd_inputs.push_back(v);
    ins.push_back(v);
  }
  OpParams p;
  attrs(p.nd);
  g.add_nd_op(kind, "op", ins, {"out"}, {}, p);
  g.output = g.ops.back().output;
  bind_nd_graph(g, shapes, kernels::cpu_nd_evaluator());
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-2.0f, 2.0f), pos(0.2f, 2.0f);
  for (size_t i = 0; i < shapes.size(); ++i) {
    std::vector<float> d(static_cast<size_t>(shape_numel(shapes[i])));
    for (float& x : d) x = (p.nd.folded_bn && i == 6) ? pos(rng) : u(rng);
    b->data.push_back(std::move(d));
  }
  return b;
}

std::vector<Tensor> inputs(OneOp& b) {
  std::vector<Tensor> in;
  for (size_t i = 0; i < b.data.size(); ++i) in.push_back(Tensor{DType::F32, b.g.values[b.op().inputs[i]].dims, b.data[i].data()});
  return in;
}

// Runs the op on be with scratch filled with `poison`; the output bytes.
std::vector<float> run_on(OneOp& b, Backend& be, unsigned char poison = 0xcd) {
  std::vector<Tensor> in = inputs(b);
  std::vector<float> y(static_cast<size_t>(shape_numel(b.g.values[b.op().output].dims)), std::nanf(""));
  std::vector<Tensor> out{Tensor{DType::F32, b.g.values[b.op().output].dims, y.data()}};
  NoRows rows;
  std::vector<unsigned char> scratch(be.scratch_bytes(b.g, b.op(), {}, rows) + 1, poison);
  OpCall c = nd_call(b.g, b.op(), in, out);
  c.scratch = scratch.data() + 1;  // an unaligned base
  be.run(c);
  return y;
}

// The plain reference: conv_ref (the folded BN as its definition says, then the epilogue),
// conv_transpose, pool.
std::vector<float> reference(OneOp& b) {
  const Op& op = b.op();
  std::vector<Tensor> in = inputs(b);
  std::vector<float> y(static_cast<size_t>(shape_numel(b.g.values[op.output].dims)));
  const Tensor out{DType::F32, b.g.values[op.output].dims, y.data()};
  const float* bias = in.size() > 2 ? b.data[2].data() : nullptr;
  const NdAttrs& a = op.p.nd;
  if (op.kind == OpKind::Conv) {
    ConvParams p = a.conv;
    if (a.folded_bn) p.epi = Epilogue{};
    kernels::conv_ref(in[0], in[1], bias, p, out);
    if (a.folded_bn) {
      const int64_t M = in[1].shape[0];
      std::vector<float> mul(M), add(M);
      for (int64_t m = 0; m < M; ++m) {
        mul[m] = b.data[3][m] / std::sqrt(b.data[6][m] + a.bn_eps);
        add[m] = b.data[4][m] - b.data[5][m] * mul[m];
      }
      kernels::channel_affine(out, mul.data(), add.data(), a.conv.epi);
    }
  } else if (op.kind == OpKind::ConvTranspose) {
    kernels::conv_transpose(in[0], in[1], bias, a.conv, out);
  } else {
    kernels::pool(in[0], a.pool, out);
  }
  return y;
}

double max_rel(const std::vector<float>& got, const std::vector<float>& want) {
  double err = 0, mag = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    if (std::isnan(got[i]) != std::isnan(want[i])) return 1e30;
    err = std::max(err, static_cast<double>(std::fabs(got[i] - want[i])));
    mag = std::max(mag, static_cast<double>(std::fabs(want[i])));
  }
  return mag > 0 ? err / mag : err;
}

struct Case {
  std::string label;
  OpKind kind;
  std::vector<Shape> shapes;
  std::function<void(NdAttrs&)> attrs;
};

Epilogue epi(UnaryFn f, float alpha = 0.01f, float beta = 0.5f, float lo = 0, float hi = 0) {
  Epilogue e;
  e.fn = f, e.alpha = alpha, e.beta = beta, e.lo = lo, e.hi = hi;
  return e;
}

const std::vector<Case>& conv_cases() {
  using S = Shape;
  static const std::vector<Case> t = {
      {"3x3 pad1 bias", OpKind::Conv, {S{1, 3, 9, 7}, S{5, 3, 3, 3}, S{5}}, [](NdAttrs& a) { a.conv.pads = {1, 1, 1, 1}; }},
      {"3x3 19->37 s2 asym pads", OpKind::Conv, {S{2, 19, 17, 13}, S{37, 19, 3, 3}, S{37}},
       [](NdAttrs& a) { a.conv.strides = {2, 2}, a.conv.pads = {1, 0, 2, 1}; }},
      {"5x3 dilated 2", OpKind::Conv, {S{1, 8, 15, 14}, S{16, 8, 5, 3}}, [](NdAttrs& a) { a.conv.dilations = {2, 1}, a.conv.pads = {2, 1, 3, 0}; }},
      {"grouped 4", OpKind::Conv, {S{1, 24, 10, 9}, S{32, 6, 3, 3}, S{32}}, [](NdAttrs& a) { a.conv.group = 4, a.conv.pads = {1, 1, 1, 1}; }},
      {"depthwise s2 d2", OpKind::Conv, {S{2, 6, 11, 10}, S{6, 1, 3, 3}},
       [](NdAttrs& a) { a.conv.group = 6, a.conv.strides = {2, 2}, a.conv.dilations = {2, 2}, a.conv.pads = {2, 1, 2, 1}; }},
      {"depthwise 32 relu", OpKind::Conv, {S{1, 32, 14, 14}, S{32, 1, 3, 3}, S{32}},
       [](NdAttrs& a) { a.conv.group = 32, a.conv.pads = {1, 1, 1, 1}, a.conv.epi = epi(UnaryFn::Relu); }},
      {"1x1 70->33", OpKind::Conv, {S{1, 70, 7, 9}, S{33, 70, 1, 1}, S{33}}, [](NdAttrs&) {}},
      {"1x1 s2", OpKind::Conv, {S{1, 64, 13, 13}, S{48, 64, 1, 1}}, [](NdAttrs& a) { a.conv.strides = {2, 2}; }},
      {"7x7 s2 stem", OpKind::Conv, {S{1, 3, 37, 33}, S{16, 3, 7, 7}, S{16}},
       [](NdAttrs& a) { a.conv.strides = {2, 2}, a.conv.pads = {3, 3, 3, 3}; }},
      {"relu", OpKind::Conv, {S{1, 16, 6, 5}, S{24, 16, 3, 3}}, [](NdAttrs& a) { a.conv.epi = epi(UnaryFn::Relu); }},
      {"leaky", OpKind::Conv, {S{1, 16, 6, 5}, S{24, 16, 3, 3}, S{24}}, [](NdAttrs& a) { a.conv.epi = epi(UnaryFn::LeakyRelu, 0.1f); }},
      {"clip relu6", OpKind::Conv, {S{1, 16, 6, 5}, S{24, 16, 3, 3}, S{24}}, [](NdAttrs& a) { a.conv.epi = epi(UnaryFn::Clip, 0, 0, 0.0f, 6.0f); }},
      {"clip one-sided", OpKind::Conv, {S{1, 16, 6, 5}, S{24, 16, 3, 3}, S{24}},
       [](NdAttrs& a) { a.conv.epi = epi(UnaryFn::Clip, 0, 0, -INFINITY, 1.5f); }},
      {"hardswish", OpKind::Conv, {S{1, 16, 6, 5}, S{24, 16, 3, 3}, S{24}}, [](NdAttrs& a) { a.conv.epi = epi(UnaryFn::HardSwish); }},
      {"hardsigmoid", OpKind::Conv, {S{1, 16, 6, 5}, S{24, 16, 3, 3}, S{24}},
       [](NdAttrs& a) { a.conv.epi = epi(UnaryFn::HardSigmoid, 0.2f, 0.5f); }},
      {"sigmoid", OpKind::Conv, {S{1, 16, 6, 5}, S{24, 16, 3, 3}, S{24}}, [](NdAttrs& a) { a.conv.epi = epi(UnaryFn::Sigmoid); }},
      {"tanh", OpKind::Conv, {S{1, 16, 6, 5}, S{24, 16, 3, 3}, S{24}}, [](NdAttrs& a) { a.conv.epi = epi(UnaryFn::Tanh); }},
      {"folded bn relu", OpKind::Conv, {S{1, 20, 9, 8}, S{36, 20, 3, 3}, S{36}, S{36}, S{36}, S{36}, S{36}},
       [](NdAttrs& a) { a.conv.pads = {1, 1, 1, 1}, a.folded_bn = true, a.bn_eps = 1e-3f, a.conv.epi = epi(UnaryFn::Relu); }},
      {"1-D same", OpKind::Conv, {S{1, 4, 13}, S{3, 4, 4}}, [](NdAttrs& a) { a.auto_pad = AutoPad::SameUpper; }},
      {"1-D 40->24 s2", OpKind::Conv, {S{2, 40, 29}, S{24, 40, 5}, S{24}}, [](NdAttrs& a) { a.conv.strides = {2}, a.conv.pads = {2, 1}; }},
      {"3-D", OpKind::Conv, {S{1, 5, 6, 7, 5}, S{18, 5, 3, 3, 3}, S{18}}, [](NdAttrs& a) { a.conv.pads = {1, 0, 1, 1, 1, 0}; }},
      {"convT s2 outpad", OpKind::ConvTranspose, {S{1, 4, 5, 5}, S{4, 3, 3, 3}, S{3}},
       [](NdAttrs& a) { a.conv.strides = {2, 2}, a.conv.pads = {1, 1, 1, 1}, a.conv.output_padding = {1, 1}; }},
      {"convT 32->20 s2", OpKind::ConvTranspose, {S{1, 32, 7, 6}, S{32, 20, 4, 4}, S{20}},
       [](NdAttrs& a) { a.conv.strides = {2, 2}, a.conv.pads = {1, 1, 1, 1}; }},
      {"convT grouped", OpKind::ConvTranspose, {S{1, 8, 5, 4}, S{8, 3, 3, 3}}, [](NdAttrs& a) { a.conv.group = 2; }},
      {"convT 1-D", OpKind::ConvTranspose, {S{2, 6, 9}, S{6, 5, 3}, S{5}}, [](NdAttrs& a) { a.conv.strides = {3}, a.conv.pads = {1, 0}; }},
  };
  return t;
}

const std::vector<Case>& pool_cases() {
  using S = Shape;
  static const std::vector<Case> t = {
      {"max 3x3 s2 ceil", OpKind::Pool, {S{1, 3, 10, 9}},
       [](NdAttrs& a) { a.pool.kind = PoolKind::Max, a.pool.kernel = {3, 3}, a.pool.strides = {2, 2}, a.pool.pads = {1, 1, 1, 1}, a.pool.ceil_mode = true; }},
      {"max 3x3 s2 resnet", OpKind::Pool, {S{1, 64, 56, 56}},
       [](NdAttrs& a) { a.pool.kind = PoolKind::Max, a.pool.kernel = {3, 3}, a.pool.strides = {2, 2}, a.pool.pads = {1, 1, 1, 1}; }},
      {"max dilated", OpKind::Pool, {S{2, 5, 11, 12}},
       [](NdAttrs& a) { a.pool.kind = PoolKind::Max, a.pool.kernel = {2, 3}, a.pool.dilations = {2, 2}, a.pool.pads = {1, 0, 1, 2}; }},
      {"avg exclude pad", OpKind::Pool, {S{2, 2, 7, 7}},
       [](NdAttrs& a) { a.pool.kind = PoolKind::Average, a.pool.kernel = {3, 3}, a.pool.pads = {1, 1, 1, 1}; }},
      {"avg include pad", OpKind::Pool, {S{1, 17, 8, 9}},
       [](NdAttrs& a) { a.pool.kind = PoolKind::Average, a.pool.kernel = {3, 2}, a.pool.pads = {1, 1, 1, 0}, a.pool.count_include_pad = true; }},
      {"avg ceil exclude", OpKind::Pool, {S{1, 4, 9, 9}},
       [](NdAttrs& a) { a.pool.kind = PoolKind::Average, a.pool.kernel = {2, 2}, a.pool.strides = {2, 2}, a.pool.ceil_mode = true; }},
      {"global avg", OpKind::Pool, {S{2, 5, 3, 4}}, [](NdAttrs& a) { a.pool.kind = PoolKind::GlobalAverage; }},
      {"global avg 2048x7x7", OpKind::Pool, {S{1, 2048, 7, 7}}, [](NdAttrs& a) { a.pool.kind = PoolKind::GlobalAverage; }},
      {"global max", OpKind::Pool, {S{1, 7, 5, 6}}, [](NdAttrs& a) { a.pool.kind = PoolKind::GlobalMax; }},
      {"max 1-D", OpKind::Pool, {S{2, 3, 17}}, [](NdAttrs& a) { a.pool.kind = PoolKind::Max, a.pool.kernel = {4}, a.pool.strides = {3}; }},
      {"avg 3-D", OpKind::Pool, {S{1, 3, 6, 5, 7}},
       [](NdAttrs& a) { a.pool.kind = PoolKind::Average, a.pool.kernel = {2, 2, 3}, a.pool.pads = {0, 1, 1, 1, 0, 1}; }},
  };
  return t;
}

constexpr onednn::ConvLayout kLayouts[] = {onednn::ConvLayout::Plain, onednn::ConvLayout::BlockedWeights,
                                           onednn::ConvLayout::Blocked};

}  // namespace

TEST(OneDnn, ConvsOnEveryLayoutMatchTheReference) {
  for (onednn::ConvLayout l : kLayouts) {
    auto be = onednn::make_onednn_backend(l);
    for (const Case& k : conv_cases()) {
      auto b = build(k.kind, k.shapes, k.attrs);
      const Support s = be->supports(b->g, b->op());
      ASSERT_TRUE(s.ok) << k.label << ": " << s.reason;
      const double e = max_rel(run_on(*b, *be), reference(*b));
      EXPECT_LE(e, 1e-5) << k.label << " on " << onednn::to_string(l) << " ("
                         << onednn::onednn_impl(*be, b->g, b->op()) << ")";
    }
  }
}

TEST(OneDnn, PoolsMatchTheReference) {
  Backend& be = onednn::onednn_backend();
  for (const Case& k : pool_cases()) {
    auto b = build(k.kind, k.shapes, k.attrs);
    const Support s = be.supports(b->g, b->op());
    ASSERT_TRUE(s.ok) << k.label << ": " << s.reason;
    EXPECT_LE(max_rel(run_on(*b, be), reference(*b)), 1e-5) << k.label << " (" << onednn::onednn_impl(be, b->g, b->op()) << ")";
  }
}

TEST(OneDnn, OneAndTwoThreadsMatchTheReference) {
  auto be = onednn::make_onednn_backend(onednn::kConvLayout);
  auto b = build(OpKind::Conv, {Shape{1, 64, 28, 28}, Shape{64, 64, 3, 3}, Shape{64}}, [](NdAttrs& a) { a.conv.pads = {1, 1, 1, 1}; });
  const std::vector<float> want = reference(*b);
  for (int t : {1, 2}) {
    be->set_threads(t);
    EXPECT_LE(max_rel(run_on(*b, *be), want), 1e-5) << t << " threads";
  }
}

TEST(OneDnn, SameOpTwiceGivesTheSameBits) {
  for (onednn::ConvLayout l : kLayouts) {
    auto be = onednn::make_onednn_backend(l);
    for (const auto* table : {&conv_cases(), &pool_cases()})
      for (const Case& k : *table) {
        auto b = build(k.kind, k.shapes, k.attrs);
        const std::vector<float> y1 = run_on(*b, *be, 0x00), y2 = run_on(*b, *be, 0xff);
        EXPECT_EQ(std::memcmp(y1.data(), y2.data(), y1.size() * 4), 0) << k.label << " on " << onednn::to_string(l);
      }
  }
}

// The scratch covers the primitive's own scratchpad and the operands it takes in blocked
// layouts (asked of oneDNN here, as the backend would), and the folded weights.
TEST(OneDnn, ScratchCoversThePrimitive) {
  using dnnl::memory;
  dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  const int64_t C = 64, M = 64, H = 56;
  auto b = build(OpKind::Conv, {Shape{1, C, H, H}, Shape{M, C, 3, 3}, Shape{M}}, [](NdAttrs& a) { a.conv.pads = {1, 1, 1, 1}; });
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  const memory::dims st{1, 1}, dil{0, 0}, pad{1, 1};
  const memory::desc any_x({1, C, H, H}, memory::data_type::f32, memory::format_tag::any);
  const memory::desc any_w({M, C, 3, 3}, memory::data_type::f32, memory::format_tag::any);
  const memory::desc b_md({M}, memory::data_type::f32, memory::format_tag::x);
  const dnnl::convolution_forward::desc d(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, any_x,
                                          any_w, b_md, any_x, st, dil, pad, pad);
  const dnnl::convolution_forward::primitive_desc pd(d, attr, eng);
  const memory::desc plain_x({1, C, H, H}, memory::data_type::f32, memory::format_tag::nchw);
  const memory::desc plain_w({M, C, 3, 3}, memory::data_type::f32, memory::format_tag::oihw);
  uint64_t need = pd.scratchpad_desc().get_size();
  if (pd.src_desc() != plain_x) need += pd.src_desc().get_size() + pd.dst_desc().get_size();
  if (pd.weights_desc() != plain_w) need += pd.weights_desc().get_size();
  NoRows rows;
  auto blocked = onednn::make_onednn_backend(onednn::ConvLayout::Blocked);
  EXPECT_GE(blocked->scratch_bytes(b->g, b->op(), {}, rows), need) << pd.impl_info_str();
  // Folded BN adds the scaled weights and bias.
  auto f = build(OpKind::Conv, {Shape{1, C, H, H}, Shape{M, C, 3, 3}, Shape{M}, Shape{M}, Shape{M}, Shape{M}, Shape{M}},
                 [](NdAttrs& a) { a.conv.pads = {1, 1, 1, 1}, a.folded_bn = true; });
  EXPECT_GE(blocked->scratch_bytes(f->g, f->op(), {}, rows), need + static_cast<uint64_t>(M * C * 9 + M) * 4);
}

// A conv whose weights were packed once (Backend::pack: the folded BN and the reorder into the
// primitive's layout, as the loader does when it loads the layer) gives the bits of the conv that
// reorders its plain weights per call.
TEST(OneDnn, PackedWeightsGiveTheBitsOfPlainOnes) {
  Backend& be = onednn::onednn_backend();
  int packed = 0;
  for (const Case& k : conv_cases()) {
    if (k.kind != OpKind::Conv) continue;
    auto b = build(k.kind, k.shapes, k.attrs);
    const std::vector<float> want = run_on(*b, be);
    Graph& g = b->g;
    const Op& op = g.ops[0];
    // The weights become a slot (what the loader binds), the other inputs but x constants.
    WeightSlot ws;
    ws.name = "w";
    ws.shape = g.values[op.inputs[1]].dims;
    g.values[op.inputs[1]].slot = g.add_slot(ws);
    for (size_t i = 2; i < op.inputs.size(); ++i) {
      if (op.inputs[i] == kNone) continue;
      Constant c;
      c.shape = g.values[op.inputs[i]].dims;
      c.data = b->data[i].data();
      g.values[op.inputs[i]].constant = static_cast<int32_t>(g.constants.size());
      g.constants.push_back(std::move(c));
    }
    const uint64_t n = be.packed_bytes(g, op, 1);
    if (n == 0) continue;  // the primitive reads these weights as stored
    WeightSlot& slot = g.slots[static_cast<size_t>(g.values[op.inputs[1]].slot)];
    slot.packer = &be, slot.pack_op = 0, slot.packed_bytes = n;
    std::vector<float> w = b->data[1];  // pack overwrites its input
    std::vector<float> dst(n / 4 + 16);
    float* aligned = reinterpret_cast<float*>((reinterpret_cast<uintptr_t>(dst.data()) + 63) / 64 * 64);
    be.pack(g, op, 1, w.data(), aligned);
    std::vector<float> plain = b->data[1];
    b->data[1].assign(aligned, aligned + n / 4);  // run_on passes data[1] as the weights
    const std::vector<float> got = run_on(*b, be);
    b->data[1] = plain;
    ASSERT_EQ(got.size(), want.size()) << k.label;
    EXPECT_EQ(std::memcmp(got.data(), want.data(), got.size() * 4), 0) << k.label;
    ++packed;
  }
  EXPECT_GT(packed, 4);
}

TEST(OneDnn, RefusesWhatItDoesNotClaim) {
  Backend& be = onednn::onednn_backend();
  using S = Shape;
  auto no = [&](const char* label, OpKind kind, const std::vector<Shape>& shapes, const std::function<void(NdAttrs&)>& attrs) {
    auto b = build(kind, shapes, attrs);
    const Support s = be.supports(b->g, b->op());
    EXPECT_FALSE(s.ok) << label;
    EXPECT_FALSE(s.reason.empty()) << label;
  };
  no("matmul", OpKind::MatMul, {S{4, 8}, S{8, 3}}, [](NdAttrs&) {});
  no("gemm", OpKind::Gemm, {S{4, 8}, S{8, 3}}, [](NdAttrs&) {});
  no("unary", OpKind::Unary, {S{4, 8}}, [](NdAttrs& a) { a.unary = UnaryFn::Sigmoid; });
  no("conv erf epilogue", OpKind::Conv, {S{1, 3, 5, 5}, S{4, 3, 3, 3}}, [](NdAttrs& a) { a.conv.epi = epi(UnaryFn::Erf); });
  no("avg ceil counting pads past the input", OpKind::Pool, {S{1, 2, 6, 6}}, [](NdAttrs& a) {
    a.pool.kind = PoolKind::Average, a.pool.kernel = {3, 3}, a.pool.strides = {2, 2}, a.pool.pads = {1, 1, 1, 1},
    a.pool.ceil_mode = true, a.pool.count_include_pad = true;
  });
  // Transformer ops are never this backend's.
  Graph g;
  Op op;
  op.kind = OpKind::LayerNorm;
  EXPECT_FALSE(be.supports(g, op).ok);
}

#else
TEST(OneDnn, Skipped) { GTEST_SKIP() << "built without oneDNN (libdnnl-dev)"; }
#endif
