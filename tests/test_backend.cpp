// The op registry and the backend interface (graph/op_schema.h, graph/backend.h): add_op
// validates through the schemas, which count FLOPs and bytes; every op is assigned a backend
// when the engine is built, so an op none supports fails there, naming it; and a second backend
// plugs in through the registry alone (no executor, planner or model change).
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "core/memory_budget.h"
#include "edgerun/errors.h"
#include "graph/backend.h"
#include "graph/op_schema.h"
#include "kernels/cpu/cpu_backend.h"
#include "models/model.h"
#include "runtime/backends.h"
#include "runtime/engine.h"
#include "test_models.h"
#include "test_util.h"

using namespace edgerun;

namespace {

const std::string& gpt2_dir() {
  static const std::string dir = [] {
    edgerun::test::TestModelSpec s;
    s.n_layer = 2;
    return edgerun::test::make_test_model(edgerun::test::binary_temp_dir(), "gpt2_backend", s);
  }();
  return dir;
}

HostArray prompt() {
  HostArray ids(DType::I64, {1, 5});
  for (int64_t i = 0; i < 5; ++i) ids.as<int64_t>()[i] = 2 * i + 1;
  return ids;
}

HostArray forward(ModelGraph& mg) {
  MemoryBudget budget;
  EngineOptions eo;
  eo.threads = 1;
  Engine e(mg, budget, eo);
  RunRequest rq;
  HostArray ids = prompt();
  rq.input_ids = &ids;
  return e.forward(rq);
}

// A backend that claims every op the CPU backend does and runs it there, counting the calls.
class CountingBackend final : public Backend {
 public:
  const char* name() const override { return "counting"; }
  Support supports(const Graph& g, const Op& op) const override { return cpu().supports(g, op); }
  uint64_t scratch_bytes(const Graph& g, const Op& op, const PassShape& s, const RowGather& r) const override {
    return cpu().scratch_bytes(g, op, s, r);
  }
  void run(const OpCall& c) override {
    ++runs;
    cpu().run(c);
  }
  int runs = 0;

 private:
  static Backend& cpu() { return kernels::cpu_backend(); }
};

}  // namespace

TEST(Backend, AnOpNoBackendSupportsFailsAtEngineConstructionNamingIt) {
  ModelGraph mg = build_model(gpt2_dir());
  Op* attn = nullptr;
  for (Op& op : mg.graph.ops)
    if (op.kind == OpKind::Attention && !attn) attn = &op;
  ASSERT_NE(attn, nullptr);
  attn->p.attn = AttnVariant::Taylor;  // a causal decoder's attention as taylor: no kernel for it
  MemoryBudget budget;
  EngineOptions eo;
  eo.threads = 1;
  try {
    Engine e(mg, budget, eo);
    FAIL() << "the engine was built";
  } catch (const UnsupportedError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("Attention op '" + attn->name + "'"), std::string::npos) << m;
    EXPECT_NE(m.find("supported by no backend"), std::string::npos) << m;
    EXPECT_NE(m.find("cpu: taylor attention is not causal"), std::string::npos) << m;
  }
  EXPECT_EQ(budget.high_water(), 0u) << "nothing was taken from the budget before the check";
}

TEST(Backend, ASecondBackendRunsEveryOpThroughTheRegistryAlone) {
  register_builtin_backends();
  ModelGraph mg = build_model(gpt2_dir());
  const HostArray want = forward(mg);
  CountingBackend counting;
  unregister_backend(&kernels::cpu_backend());
  register_backend(&counting);
  HostArray got;
  try {
    got = forward(mg);
  } catch (...) {
    unregister_backend(&counting);
    register_backend(&kernels::cpu_backend());
    throw;
  }
  unregister_backend(&counting);
  register_backend(&kernels::cpu_backend());
  EXPECT_EQ(counting.runs, static_cast<int>(mg.graph.ops.size()));
  ASSERT_EQ(got.bytes.size(), want.bytes.size());
  EXPECT_EQ(std::memcmp(got.bytes.data(), want.bytes.data(), want.bytes.size()), 0) << "not bit-identical";
}

TEST(Backend, RegistryFindsBackendsByName) {
  register_builtin_backends();
  EXPECT_EQ(find_backend("cpu"), &kernels::cpu_backend());
  EXPECT_EQ(find_backend("none"), nullptr);
  register_backend(&kernels::cpu_backend());  // idempotent
  int n = 0;
  for (Backend* b : backends()) n += b == &kernels::cpu_backend();
  EXPECT_EQ(n, 1);
}

namespace {
// A graph holding x (Tokens, 7) and a Linear weight (5, 7) and bias (5).
struct LinearGraph {
  Graph g;
  ValueId x = g.add_value("x", Rows::Tokens, 7);
  SlotId w = slot("w", {5, 7}), b = slot("b", {5});
  SlotId slot(const char* name, Shape s) {
    WeightSlot ws;
    ws.name = name;
    ws.shape = s;
    ws.end = static_cast<uint64_t>(shape_numel(s)) * 4;
    return g.add_slot(ws);
  }
};
}  // namespace

TEST(OpSchema, AddOpRejectsAnOpThatDoesNotFitItsSchemaAndLeavesTheGraphAsItWas) {
  LinearGraph l;
  const size_t values = l.g.values.size();
  try {
    l.g.add_op(OpKind::Linear, "proj", {l.x}, {l.w, kNone}, {}, Rows::Tokens, 6);  // W is (5, 7)
    FAIL() << "accepted";
  } catch (const InternalError& e) {
    EXPECT_NE(std::string(e.what()).find("Linear op 'proj'"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(l.g.ops.empty());
  EXPECT_EQ(l.g.values.size(), values);
  EXPECT_THROW(l.g.add_op(OpKind::Add, "add", {l.x}, {}, {}, Rows::Tokens, 7), InternalError);  // one input of two
  EXPECT_THROW(l.g.add_op(OpKind::LayerNorm, "ln", {l.x}, {kNone, kNone}, {}, Rows::Tokens, 7), InternalError);
  EXPECT_THROW(l.g.add_op(OpKind::Linear, "proj", {l.x}, {l.w}, {}, Rows::Tokens, 5), InternalError);  // slot count
}

TEST(OpSchema, CountsForAPassShape) {
  LinearGraph l;
  l.g.add_op(OpKind::Linear, "proj", {l.x}, {l.w, l.b}, {}, Rows::Tokens, 5);
  const Op& op = l.g.ops.back();
  const PassShape s{2, 3, 0, false};
  const OpCost c = op_cost(l.g, op, s);
  EXPECT_EQ(c.flops, 2.0 * 6 * 7 * 5);
  EXPECT_EQ(c.weight_bytes, (5u * 7 + 5) * 4);
  EXPECT_EQ(c.input_bytes, 6u * 7 * 4);
  EXPECT_EQ(c.output_bytes, 6u * 5 * 4);
  const std::optional<GemmShape> g = op_gemm(l.g, op, s);
  ASSERT_TRUE(g.has_value());
  EXPECT_EQ(g->m, 6);
  EXPECT_EQ(g->n, 5);
  EXPECT_EQ(g->k, 7);
  EXPECT_EQ(op_precision(l.g, op), Precision::Fp32);
  EXPECT_STREQ(op_schema(OpKind::Linear).slots[1], "bias?");
  for (int k = 0; k < kOpKindCount; ++k) EXPECT_EQ(op_schema(static_cast<OpKind>(k)).kind, static_cast<OpKind>(k));
}
