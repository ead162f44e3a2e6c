// Activation layouts (graph/backend.h, assign_layouts): which values of an N-D graph are stored
// channels-last, under a backend that runs convolutions and pools channels-last; and, on
// oneDNN, that a conv or pool over channels-last operands gives the very bits of the same op on
// row-major ones, so the layout rule never changes a result.
#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "graph/backend.h"
#include "graph/nd_bind.h"
#include "kernels/cpu/cpu_backend.h"
#include "nd_test_util.h"

#ifdef EDGERUN_HAVE_DNNL
#include "kernels/onednn/onednn_backend.h"
#endif

using namespace edgerun;

namespace {

using test::NoRows;

// Claims what the CPU backend claims and says Conv and Pool run channels-last.
class ChannelsLastConvs final : public Backend {
 public:
  const char* name() const override { return "cl"; }
  Support supports(const Graph& g, const Op& op) const override { return kernels::cpu_backend().supports(g, op); }
  uint64_t scratch_bytes(const Graph&, const Op&, const PassShape&, const RowGather&) const override { return 0; }
  int channels_last_input(const Graph&, const Op& op) const override {
    return op.kind == OpKind::Conv || op.kind == OpKind::Pool ? 0 : -1;
  }
  void run(const OpCall&) override {}
};

struct Net {
  Graph g;
  ValueId in(const std::string& name, const Shape& s) {
    const ValueId v = g.add_nd_value(name, DType::F32, {});
    g.values[v].is_input = true;
    g.values[v].declared = s;
    g.values[v].dim_params.assign(s.size(), "");
    g.nd_inputs.push_back(v);
    shapes.push_back(s);
    return v;
  }
  ValueId op(OpKind k, const std::string& name, std::vector<ValueId> ins, const std::function<void(NdAttrs&)>& set = {}) {
    OpParams p;
    if (set) set(p.nd);
    return g.add_nd_op(k, name, std::move(ins), {name}, {}, p);
  }
  void bind(ValueId out) {
    g.nd = true;
    g.output = out;
    g.nd_outputs = {out};
    bind_nd_graph(g, shapes, kernels::cpu_nd_evaluator());
  }
  bool cl(ValueId v) const { return g.values[v].channels_last; }
  std::vector<Shape> shapes;
};

void pad1(NdAttrs& a) { a.conv.pads = {1, 1, 1, 1}; }

}  // namespace

// in -> conv -> relu -> conv -> add(residual) -> pool -> conv -> flatten -> out: the chain from
// the first conv's output to the last conv's output is channels-last; the graph's input, its
// output and the Flatten (which reads row-major order) are not.
TEST(Layouts, AChainOfConvsKeepsItsActivationsChannelsLast) {
  Net n;
  const ValueId x = n.in("x", {1, 3, 8, 8});
  const ValueId w1 = n.in("w1", {8, 3, 3, 3}), w2 = n.in("w2", {8, 8, 3, 3}), w3 = n.in("w3", {4, 8, 1, 1});
  const ValueId c1 = n.op(OpKind::Conv, "c1", {x, w1}, pad1);
  const ValueId r = n.op(OpKind::Unary, "r", {c1}, [](NdAttrs& a) { a.unary = UnaryFn::Relu; });
  const ValueId c2 = n.op(OpKind::Conv, "c2", {r, w2}, pad1);
  const ValueId s = n.op(OpKind::Binary, "s", {c2, r}, [](NdAttrs& a) { a.binary = BinaryFn::Add; });
  const ValueId p = n.op(OpKind::Pool, "p", {s}, [](NdAttrs& a) {
    a.pool.kind = PoolKind::Max, a.pool.kernel = {2, 2}, a.pool.strides = {2, 2};
  });
  const ValueId c3 = n.op(OpKind::Conv, "c3", {p, w3});
  const ValueId f = n.op(OpKind::Copy, "f", {c3}, [](NdAttrs& a) { a.reshaping = Reshaping::Flatten, a.axis = 1; });
  n.bind(f);
  ChannelsLastConvs be;
  assign_layouts(n.g, std::vector<Backend*>(n.g.ops.size(), &be));
  for (ValueId v : {c1, r, c2, s, p}) EXPECT_TRUE(n.cl(v)) << n.g.values[v].name;
  for (ValueId v : {x, w1, w2, w3, c3, f}) EXPECT_FALSE(n.cl(v)) << n.g.values[v].name;
}

// An elementwise op that broadcasts (a squeeze-excite scale) reads positions by row-major index:
// its operands stay row-major, and so does everything joined to them by elementwise ops.
TEST(Layouts, BroadcastingAndForeignOpsStayRowMajor) {
  Net n;
  const ValueId x = n.in("x", {1, 4, 6, 6});
  const ValueId w = n.in("w", {4, 4, 3, 3}), se = n.in("se", {1, 4, 1, 1});
  const ValueId c1 = n.op(OpKind::Conv, "c1", {x, w}, pad1);
  const ValueId h = n.op(OpKind::Unary, "h", {c1}, [](NdAttrs& a) { a.unary = UnaryFn::HardSwish; });
  const ValueId m = n.op(OpKind::Binary, "m", {h, se}, [](NdAttrs& a) { a.binary = BinaryFn::Mul; });
  const ValueId c2 = n.op(OpKind::Conv, "c2", {m, w}, pad1);
  const ValueId c3 = n.op(OpKind::Conv, "c3", {c2, w}, pad1);
  const ValueId sm = n.op(OpKind::Softmax, "sm", {c3}, [](NdAttrs& a) { a.axis = 1; });
  n.bind(sm);
  ChannelsLastConvs be;
  assign_layouts(n.g, std::vector<Backend*>(n.g.ops.size(), &be));
  EXPECT_TRUE(n.cl(c2));  // between two convs
  for (ValueId v : {c1, h, m, c3, sm}) EXPECT_FALSE(n.cl(v)) << n.g.values[v].name;
  // Under a backend that runs nothing channels-last, nothing is.
  assign_layouts(n.g, std::vector<Backend*>(n.g.ops.size(), &kernels::cpu_backend()));
  for (const Value& v : n.g.values) EXPECT_FALSE(v.channels_last) << v.name;
}

#ifdef EDGERUN_HAVE_DNNL
namespace {

// (N, C, H, W) <-> (N, H, W, C)
std::vector<float> to_nhwc(const std::vector<float>& x, const Shape& s) {
  std::vector<float> y(x.size());
  const int64_t C = s[1], HW = s[2] * s[3];
  for (int64_t n = 0; n < s[0]; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t i = 0; i < HW; ++i) y[(n * HW + i) * C + c] = x[(n * C + c) * HW + i];
  return y;
}

// Runs op 0 of g on oneDNN over x (in op's input-0 layout) and w; the output as stored.
std::vector<float> run_first(Graph& g, const std::vector<float>& x, const std::vector<float>& w) {
  Backend& be = onednn::onednn_backend();
  const Op& op = g.ops[0];
  std::vector<Tensor> in{Tensor{DType::F32, g.values[op.inputs[0]].dims, const_cast<float*>(x.data())}};
  if (op.inputs.size() > 1) in.push_back(Tensor{DType::F32, g.values[op.inputs[1]].dims, const_cast<float*>(w.data())});
  std::vector<float> y(static_cast<size_t>(shape_numel(g.values[op.output].dims)));
  std::vector<Tensor> out{Tensor{DType::F32, g.values[op.output].dims, y.data()}};
  NoRows rows;
  std::vector<unsigned char> scratch(be.scratch_bytes(g, op, {}, rows) + 64);
  OpCall c = nd_call(g, op, in, out);
  c.scratch = scratch.data();
  be.run(c);
  return y;
}

}  // namespace

TEST(Layouts, OneDnnGivesTheSameBitsChannelsLast) {
  struct Case {
    const char* label;
    OpKind kind;
    Shape x, w;
    std::function<void(NdAttrs&)> attrs;
  };
  const std::vector<Case> cases = {
      {"3x3 conv 32->48", OpKind::Conv, {1, 32, 14, 14}, {48, 32, 3, 3}, pad1},
      {"depthwise 3x3 stride 2", OpKind::Conv, {1, 24, 15, 15}, {24, 1, 3, 3}, [](NdAttrs& a) {
         a.conv.pads = {1, 1, 1, 1}, a.conv.strides = {2, 2}, a.conv.group = 24;
       }},
      {"max pool 3x3 stride 2", OpKind::Pool, {1, 16, 13, 13}, {}, [](NdAttrs& a) {
         a.pool.kind = PoolKind::Max, a.pool.kernel = {3, 3}, a.pool.strides = {2, 2}, a.pool.pads = {1, 1, 1, 1};
       }},
      {"global average pool", OpKind::Pool, {1, 40, 7, 7}, {}, [](NdAttrs& a) { a.pool.kind = PoolKind::GlobalAverage; }},
  };
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (const Case& k : cases) {
    std::vector<float> x(static_cast<size_t>(shape_numel(k.x))), w(static_cast<size_t>(shape_numel(k.w)));
    for (float& v : x) v = u(rng);
    for (float& v : w) v = u(rng);
    auto make = [&] {
      Net n;
      std::vector<ValueId> ins{n.in("x", k.x)};
      if (!k.w.empty()) ins.push_back(n.in("w", k.w));
      n.bind(n.op(k.kind, "op", ins, k.attrs));
      return n;
    };
    Net plain = make(), cl = make();
    const std::vector<float> want = to_nhwc(run_first(plain.g, x, w), plain.g.values[plain.g.output].dims);
    // The op's operands as a graph's inner values would be: channels-last.
    cl.g.values[cl.g.ops[0].inputs[0]].channels_last = true;
    cl.g.values[cl.g.output].channels_last = true;
    const std::vector<float> got = run_first(cl.g, to_nhwc(x, k.x), w);
    ASSERT_EQ(got.size(), want.size()) << k.label;
    EXPECT_EQ(std::memcmp(got.data(), want.data(), got.size() * 4), 0) << k.label;
  }
}
#endif
