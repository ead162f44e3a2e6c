// The N-D op harness: every N-D op kind (graph/op_kind.h, the ops ONNX graphs map onto) on a
// few odd shapes, bound as a one-op graph and run through every registered backend that
// claims it, held against its plain reference: conv_ref for Conv (with a folded BN applied as
// its definition says), matmul_ref for MatMul, and otherwise the CPU backend's kernels, which
// are themselves the plain loops (nd_kernels.h). With the CPU backend alone the comparison is
// of the optimized conv and matmul against their references and of the kernels against
// themselves; a further backend (oneDNN) is held against them row by row. The numerics of each
// op against ONNX's own expected outputs are the conformance runner's (tests/tools/
// onnx_conformance.cpp, CTest onnx.conformance).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "graph/backend.h"
#include "graph/nd_bind.h"
#include "graph/op_schema.h"
#include "kernels/cpu/cpu_backend.h"
#include "kernels/cpu/nd_kernels.h"
#include "runtime/backends.h"
#include "nd_test_util.h"

using namespace edgerun;

namespace {

using test::NoRows;

// A one-op graph: inputs (random data, or given constants), the op, its bound outputs.
struct NdCase {
  std::string label;
  OpKind kind;
  std::vector<std::pair<DType, Shape>> inputs;  // graph inputs, filled with random values
  std::vector<std::vector<int64_t>> constants;  // int64 constant inputs appended after them
  int n_outputs = 1;
  std::function<void(NdAttrs&)> attrs = [](NdAttrs&) {};
};

struct Bound {
  Graph g;
  std::vector<std::vector<uint8_t>> data;  // per value
};

void fill_random(std::vector<uint8_t>& bytes, DType dt, std::mt19937& rng) {
  std::uniform_real_distribution<float> u(-2.0f, 2.0f);
  const size_t n = bytes.size() / static_cast<size_t>(dtype_size(dt));
  for (size_t i = 0; i < n; ++i) {
    if (dt == DType::F32) reinterpret_cast<float*>(bytes.data())[i] = u(rng);
    else if (dt == DType::I64) reinterpret_cast<int64_t*>(bytes.data())[i] = static_cast<int64_t>(rng() % 3);
    else if (dt == DType::BOOL) bytes[i] = static_cast<uint8_t>(rng() & 1);
  }
}

std::unique_ptr<Bound> build(const NdCase& k, uint32_t seed) {
  auto b = std::make_unique<Bound>();
  Graph& g = b->g;
  g.nd = true;
  std::vector<ValueId> ins;
  std::vector<Shape> shapes;
  for (size_t i = 0; i < k.inputs.size(); ++i) {
    const ValueId v = g.add_nd_value("in" + std::to_string(i), k.inputs[i].first, {});
    g.values[v].is_input = true;
    g.values[v].declared = Shape(k.inputs[i].second.size(), -1);
    g.values[v].dim_params.assign(k.inputs[i].second.size(), "");
    g.nd_inputs.push_back(v);
    ins.push_back(v);
    shapes.push_back(k.inputs[i].second);
  }
  for (size_t i = 0; i < k.constants.size(); ++i) {
    Constant c;
    c.dtype = DType::I64;
    c.shape = {static_cast<int64_t>(k.constants[i].size())};
    c.folded.resize(std::max<size_t>(1, k.constants[i].size() * 8));
    if (!k.constants[i].empty()) std::memcpy(c.folded.data(), k.constants[i].data(), k.constants[i].size() * 8);
    c.data = c.folded.data();
    g.constants.push_back(std::move(c));
    const ValueId v = g.add_nd_value("const" + std::to_string(i), DType::I64, g.constants.back().shape);
    g.values[v].constant = static_cast<int32_t>(g.constants.size() - 1);
    ins.push_back(v);
  }
  OpParams p;
  k.attrs(p.nd);
  std::vector<std::string> outs;
  for (int i = 0; i < k.n_outputs; ++i) outs.push_back("out" + std::to_string(i));
  g.add_nd_op(k.kind, k.label, ins, outs, {}, p);
  g.output = g.ops.back().output;
  bind_nd_graph(g, shapes, kernels::cpu_nd_evaluator());
  std::mt19937 rng(seed);
  b->data.resize(g.values.size());
  for (size_t v = 0; v < g.values.size(); ++v) {
    b->data[v].assign(static_cast<size_t>(std::max<int64_t>(1, shape_numel(g.values[v].dims) * dtype_size(g.values[v].dtype))), 0);
    if (g.values[v].is_input) fill_random(b->data[v], g.values[v].dtype, rng);
  }
  return b;
}

// Runs op 0 of b on backend be; returns its outputs' bytes.
std::vector<std::vector<uint8_t>> run_on(Bound& b, Backend& be) {
  Graph& g = b.g;
  const Op& op = g.ops[0];
  std::vector<Tensor> in, out;
  for (ValueId v : op.inputs) {
    const Value& val = g.values[v];
    void* d = val.constant != kNone ? const_cast<void*>(g.constants[val.constant].data) : b.data[v].data();
    in.push_back(Tensor{val.dtype, val.dims, d});
  }
  std::vector<std::vector<uint8_t>> result;
  for (ValueId v : op.outputs) result.push_back(std::vector<uint8_t>(b.data[v].size(), 0xcd));
  for (size_t i = 0; i < op.outputs.size(); ++i)
    out.push_back(Tensor{g.values[op.outputs[i]].dtype, g.values[op.outputs[i]].dims, result[i].data()});
  NoRows rows;
  std::vector<char> scratch(be.scratch_bytes(g, op, {}, rows) + 64);
  OpCall c = nd_call(g, op, in, out);
  c.scratch = scratch.data();
  be.run(c);
  return result;
}

const std::vector<NdCase>& cases() {
  using S = Shape;
  const DType F = DType::F32, I = DType::I64, B = DType::BOOL;
  static const std::vector<NdCase> t = {
      {"conv3x3 pad1", OpKind::Conv, {{F, S{1, 3, 9, 7}}, {F, S{5, 3, 3, 3}}, {F, S{5}}}, {}, 1,
       [](NdAttrs& a) { a.conv.pads = {1, 1, 1, 1}; }},
      {"conv depthwise s2 d2", OpKind::Conv, {{F, S{2, 6, 11, 10}}, {F, S{6, 1, 3, 3}}}, {}, 1,
       [](NdAttrs& a) { a.conv.group = 6, a.conv.strides = {2, 2}, a.conv.dilations = {2, 2}, a.conv.pads = {2, 1, 2, 1}; }},
      {"conv im2col in tiles", OpKind::Conv, {{F, S{1, 32, 80, 80}}, {F, S{16, 32, 3, 3}}}, {}, 1,
       [](NdAttrs& a) { a.conv.pads = {1, 1, 1, 1}; }},
      {"conv1x1 relu", OpKind::Conv, {{F, S{1, 16, 5, 5}}, {F, S{8, 16, 1, 1}}}, {}, 1,
       [](NdAttrs& a) { a.conv.epi.fn = UnaryFn::Relu; }},
      {"conv1d same", OpKind::Conv, {{F, S{1, 4, 13}}, {F, S{3, 4, 4}}}, {}, 1,
       [](NdAttrs& a) { a.auto_pad = AutoPad::SameUpper; }},
      {"convT s2", OpKind::ConvTranspose, {{F, S{1, 4, 5, 5}}, {F, S{4, 3, 3, 3}}, {F, S{3}}}, {}, 1,
       [](NdAttrs& a) { a.conv.strides = {2, 2}, a.conv.pads = {1, 1, 1, 1}, a.conv.output_padding = {1, 1}; }},
      {"maxpool 3x3 s2 ceil", OpKind::Pool, {{F, S{1, 3, 10, 9}}}, {}, 1,
       [](NdAttrs& a) { a.pool.kind = PoolKind::Max, a.pool.kernel = {3, 3}, a.pool.strides = {2, 2}, a.pool.pads = {1, 1, 1, 1}, a.pool.ceil_mode = true; }},
      {"avgpool exclude pad", OpKind::Pool, {{F, S{2, 2, 7, 7}}}, {}, 1,
       [](NdAttrs& a) { a.pool.kind = PoolKind::Average, a.pool.kernel = {3, 3}, a.pool.pads = {1, 1, 1, 1}; }},
      {"global avg", OpKind::Pool, {{F, S{2, 5, 3, 4}}}, {}, 1, [](NdAttrs& a) { a.pool.kind = PoolKind::GlobalAverage; }},
      {"matmul batched bcast", OpKind::MatMul, {{F, S{2, 1, 5, 7}}, {F, S{3, 7, 9}}}},
      {"matmul vec", OpKind::MatMul, {{F, S{7}}, {F, S{7, 4}}}},
      {"gemm tA tB", OpKind::Gemm, {{F, S{6, 3}}, {F, S{5, 6}}, {F, S{5}}}, {}, 1,
       [](NdAttrs& a) { a.gemm.trans_a = true, a.gemm.trans_b = true, a.gemm.alpha = 0.5f, a.gemm.beta = 2.0f; }},
      {"unary sigmoid", OpKind::Unary, {{F, S{3, 17}}}, {}, 1, [](NdAttrs& a) { a.unary = UnaryFn::Sigmoid; }},
      {"unary hardswish", OpKind::Unary, {{F, S{33}}}, {}, 1, [](NdAttrs& a) { a.unary = UnaryFn::HardSwish; }},
      {"binary mul bcast", OpKind::Binary, {{F, S{3, 1, 5}}, {F, S{4, 1}}}, {}, 1, [](NdAttrs& a) { a.binary = BinaryFn::Mul; }},
      {"binary equal i64", OpKind::Binary, {{I, S{2, 3}}, {I, S{3}}}, {}, 1, [](NdAttrs& a) { a.binary = BinaryFn::Equal; }},
      {"where", OpKind::Where, {{B, S{2, 1}}, {F, S{2, 3}}, {F, S{3}}}},
      {"cast f32 to i64", OpKind::Cast, {{F, S{9}}}, {}, 1, [](NdAttrs& a) { a.to = DType::I64; }},
      {"sum of three", OpKind::Variadic, {{F, S{2, 3}}, {F, S{3}}, {F, S{2, 1}}}, {}, 1, [](NdAttrs& a) { a.binary = BinaryFn::Add; }},
      {"softmax axis1", OpKind::Softmax, {{F, S{2, 5, 3}}}, {}, 1, [](NdAttrs& a) { a.axis = 1; }},
      {"layernorm last", OpKind::LayerNormNd, {{F, S{3, 4, 10}}, {F, S{10}}, {F, S{10}}}, {}, 1, [](NdAttrs& a) { a.axis = -1; }},
      {"batchnorm", OpKind::BatchNorm, {{F, S{2, 3, 4}}, {F, S{3}}, {F, S{3}}, {F, S{3}}, {F, S{3}}}},
      {"reduce mean keep", OpKind::Reduce, {{F, S{2, 3, 4}}}, {}, 1, [](NdAttrs& a) { a.reduce = ReduceFn::Mean, a.axes = {1, -1}; }},
      {"argmax", OpKind::ArgExtreme, {{F, S{3, 7}}}, {}, 1, [](NdAttrs& a) { a.axis = 1; }},
      {"topk", OpKind::TopK, {{F, S{2, 9}}}, {{3}}, 2, [](NdAttrs& a) { a.axis = -1; }},
      {"concat", OpKind::Concat, {{F, S{2, 3}}, {F, S{2, 5}}}, {}, 1, [](NdAttrs& a) { a.axis = 1; }},
      {"split", OpKind::Split, {{F, S{7, 2}}}, {{3, 4}}, 2},
      {"transpose", OpKind::Transpose, {{F, S{2, 3, 4}}}, {}, 1, [](NdAttrs& a) { a.perm = {2, 0, 1}; }},
      {"slice neg step", OpKind::Slice, {{F, S{5, 6}}}, {{-1, 1}, {-10, 5}, {0, 1}, {-2, 2}}},
      {"gather axis1", OpKind::Gather, {{F, S{3, 5}}, {I, S{2, 2}}}, {}, 1, [](NdAttrs& a) { a.axis = 1; }},
      {"expand", OpKind::Expand, {{F, S{3, 1}}}, {{2, 3, 4}}},
      {"pad reflect", OpKind::Pad, {{F, S{1, 4, 5}}}, {{0, 1, 2, 0, 2, 1}}, 1, [](NdAttrs& a) { a.pad_mode = PadMode::Reflect; }},
      {"resize nearest x2", OpKind::Resize, {{F, S{1, 2, 3, 3}}}, {{}, {}, {1, 2, 6, 5}}, 1,
       [](NdAttrs& a) { a.resize.mode = ResizeMode::Nearest, a.resize.coord = CoordMode::Asymmetric, a.resize.nearest = NearestMode::Floor; }},
      {"reshape -1", OpKind::Copy, {{F, S{2, 3, 4}}}, {{0, -1}}, 1, [](NdAttrs& a) { a.reshaping = Reshaping::Reshape; }},
      {"range", OpKind::Range, {}, {{2}, {11}, {3}}},
      {"fill", OpKind::Fill, {}, {{2, 3}, {7}}},
      {"shape", OpKind::ShapeOf, {{F, S{2, 3, 5}}}},
      {"gather elements axis1", OpKind::GatherElements, {{F, S{3, 4}}, {I, S{3, 2}}}, {}, 1, [](NdAttrs& a) { a.axis = 1; }},
      {"trilu lower k1", OpKind::Trilu, {{F, S{2, 4, 5}}}, {{1}}, 1, [](NdAttrs& a) { a.largest = false; }},
  };
  return t;
}

void reference(const NdCase& k, Bound& b, std::vector<std::vector<uint8_t>>& want) {
  const Graph& g = b.g;
  const Op& op = g.ops[0];
  auto t = [&](ValueId v, void* d) { return Tensor{g.values[v].dtype, g.values[v].dims, d}; };
  if (op.kind == OpKind::Conv) {
    const float* bias = op.inputs.size() > 2 ? reinterpret_cast<const float*>(b.data[op.inputs[2]].data()) : nullptr;
    ConvParams p = op.p.nd.conv;
    kernels::conv_ref(t(op.inputs[0], b.data[op.inputs[0]].data()), t(op.inputs[1], b.data[op.inputs[1]].data()), bias, p,
                      t(op.output, want[0].data()));
  } else if (op.kind == OpKind::MatMul) {
    kernels::matmul_ref(t(op.inputs[0], b.data[op.inputs[0]].data()), t(op.inputs[1], b.data[op.inputs[1]].data()), nullptr,
                        t(op.output, want[0].data()));
  } else {
    want = run_on(b, kernels::cpu_backend());
  }
  (void)k;
}

double max_rel(const std::vector<uint8_t>& got, const std::vector<uint8_t>& want, DType dt) {
  if (dt != DType::F32) return got == want ? 0.0 : 1.0;
  const float* a = reinterpret_cast<const float*>(got.data());
  const float* w = reinterpret_cast<const float*>(want.data());
  double err = 0, mag = 0;
  for (size_t i = 0; i < got.size() / 4; ++i) {
    if (std::isnan(a[i]) != std::isnan(w[i])) return 1e30;
    err = std::max(err, static_cast<double>(std::fabs(a[i] - w[i])));
    mag = std::max(mag, static_cast<double>(std::fabs(w[i])));
  }
  return mag > 0 ? err / mag : err;
}

}  // namespace

TEST(NdOpsTable, EveryNdKindHasARow) {
  std::vector<bool> seen(kOpKindCount, false);
  for (const NdCase& c : cases()) seen[static_cast<size_t>(c.kind)] = true;
  for (int k = 0; k < kOpKindCount; ++k)
    if (op_schema(static_cast<OpKind>(k)).nd)
      EXPECT_TRUE(seen[static_cast<size_t>(k)]) << op_kind_name(static_cast<OpKind>(k)) << " has no row";
}

TEST(NdOps, EveryCaseOnEveryBackendMatchesItsReference) {
  register_builtin_backends();
  int ran = 0;
  for (const NdCase& k : cases()) {
    auto b = build(k, 11);
    const Op& op = b->g.ops[0];
    std::vector<std::vector<uint8_t>> want;
    for (ValueId v : op.outputs) want.push_back(std::vector<uint8_t>(b->data[v].size(), 0));
    reference(k, *b, want);
    for (Backend* be : backends()) {
      if (!be->supports(b->g, op).ok) continue;
      const auto got = run_on(*b, *be);
      for (size_t i = 0; i < got.size(); ++i) {
        const double e = max_rel(got[i], want[i], b->g.values[op.outputs[i]].dtype);
        EXPECT_LE(e, 1e-5) << k.label << " on " << be->name() << " output " << i;
      }
      ++ran;
    }
  }
  EXPECT_GE(ran, static_cast<int>(cases().size()));
}
