// Streaming under a hard budget: swap, pipeload and auto give output bit-identical to resident
// with ample memory (same thread count) at 50%, 25%, 15% of the weights, near and at the minimum
// budget, at one thread and at the default thread count, on f32, bf16 and f16 weights and on
// sharded folders; each streamed pass reads every layer exactly once and the budget's high-water
// mark stays between the largest layer and the budget; a randomized stress over budgets and
// agents; residency and pinning across passes. Faults are in test_streaming_faults.cpp.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>

#include "core/error.h"
#include "edgerun/edgerun.h"
#include "io/direct_reader.h"
#include "test_models.h"
#include "test_util.h"

using namespace edgerun;
using edgerun::test::TempDir;
using edgerun::test::TestModelSpec;
using edgerun::test::with_deadline;

namespace {

struct Model {
  std::string dir;
  Inputs in;
  std::map<int, HostArray> ref;      // by thread count: resident, unlimited budget
  std::map<int, uint64_t> ref_read;  // bytes the resident pass read
  uint64_t weight_bytes = 0;
  uint64_t min_budget = 0;
  uint64_t largest_layer = 0;  // peak bytes of the largest layer's load
};

// Fixtures shared by the tests of this binary, removed when it exits.
const TempDir& model_root() { return edgerun::test::binary_temp_dir(); }

std::string key_of(const TestModelSpec& s) {
  return s.synth + "_" + std::to_string(s.n_layer) + "_" + std::string(dtype_name(s.dtype)) + "_" +
         std::to_string(s.shards);
}

// n_layer 12: deep enough that 15% of the weights is above the minimum budget.
TestModelSpec spec(const std::string& name, int64_t n_layer = 12, DType dtype = DType::F32, int shards = 1) {
  TestModelSpec s;
  s.synth = name;
  s.n_layer = n_layer;
  s.dtype = dtype;
  s.shards = shards;
  return s;
}

Model& model(const TestModelSpec& s) {
  static std::map<std::string, Model> models;
  const std::string key = key_of(s);
  auto it = models.find(key);
  if (it != models.end()) return it->second;
  Model md;
  md.dir = edgerun::test::make_test_model(model_root(), key, s);
  md.in = edgerun::test::test_inputs(md.dir);
  SessionOptions o;
  o.executor = Executor::Resident;
  auto sess = Session::open(md.dir, o);
  md.weight_bytes = sess->summary().weight_bytes;
  const auto plan = nlohmann::json::parse(sess->plan_json(md.in));
  md.min_budget = plan["min_budget_bytes"].get<uint64_t>();
  return models.emplace(key, std::move(md)).first->second;
}

// The resident reference at this thread count (0: the default, all cores).
const HostArray& reference(Model& m, int threads) {
  auto it = m.ref.find(threads);
  if (it != m.ref.end()) return it->second;
  SessionOptions o;
  o.threads = threads;
  o.executor = Executor::Resident;
  auto s = Session::open(m.dir, o);
  HostArray out = s->run(m.in);
  m.ref_read[threads] = s->report().bytes_read;
  return m.ref.emplace(threads, std::move(out)).first->second;
}

uint64_t largest_layer(Model& m, const std::string& executor, uint64_t budget) {
  SessionOptions o;
  o.executor = parse_executor(executor);
  o.budget_bytes = budget;
  const auto plan = nlohmann::json::parse(Session::open(m.dir, o)->plan_json(m.in));
  uint64_t largest = 0;
  for (const auto& l : plan["layers"]) largest = std::max(largest, l["peak_bytes"].get<uint64_t>());
  return largest;
}

struct RunSpec {
  std::string executor = "pipeload";
  uint64_t budget = 0;
  int agents = 0;
  int threads = 1;
  std::string io_engine = "auto";
};

// Runs with the given executor and budget; checks bit identity against resident at the same
// thread count, that the one pass read every layer exactly once (as many bytes as the resident
// pass), and that the high-water mark is at least the largest layer and at most the budget.
void expect_identical(Model& m, const RunSpec& rs) {
  const HostArray& ref = reference(m, rs.threads);
  SessionOptions o;
  o.threads = rs.threads;
  o.executor = parse_executor(rs.executor);
  o.budget_bytes = rs.budget;
  o.agents = rs.agents;
  o.io_engine = parse_io_engine(rs.io_engine);
  auto s = Session::open(m.dir, o);
  HostArray out;
  with_deadline([&] { out = s->run(m.in); }, std::chrono::seconds(60), rs.executor + " pass");
  const std::string what = rs.executor + " at budget " + std::to_string(rs.budget) + ", " +
                           std::to_string(rs.agents) + " agents, " + std::to_string(rs.threads) + " threads";
  ASSERT_EQ(out.shape, ref.shape) << what;
  EXPECT_EQ(std::memcmp(out.bytes.data(), ref.bytes.data(), out.bytes.size()), 0)
      << what << " is not bit-identical to resident";
  const Report r = s->report();
  EXPECT_LE(r.budget_high_water_bytes, rs.budget) << what;
  if (r.executor != Executor::Resident) {
    EXPECT_EQ(r.bytes_read, m.ref_read.at(rs.threads)) << what << ": every layer read exactly once";
    EXPECT_GE(r.budget_high_water_bytes, largest_layer(m, rs.executor, rs.budget)) << what;
  }
  // Weights are read direct where the temp folder allows it, by the engine asked for.
  if (r.io_engine != "buffered") {
    const bool uring = rs.io_engine == "uring" || (rs.io_engine == "auto" && io_uring_available());
    EXPECT_EQ(r.io_engine, uring ? "io_uring" : "threads") << what;
  }
}

class Streaming : public ::testing::TestWithParam<std::string> {};

}  // namespace

TEST_P(Streaming, BitIdenticalAtEveryBudget) {
  Model& m = model(spec(GetParam()));
  for (double frac : {0.50, 0.25, 0.15}) {
    const uint64_t budget = static_cast<uint64_t>(frac * static_cast<double>(m.weight_bytes));
    ASSERT_GE(budget, m.min_budget) << "fixture too small to stream at " << frac;
    for (const char* ex : {"swap", "pipeload", "auto"}) expect_identical(m, {ex, budget});
  }
  for (const char* ex : {"swap", "pipeload", "auto"}) expect_identical(m, {ex, m.min_budget});
  // Both read engines (io_uring is the default where the kernel allows it).
  expect_identical(m, {"pipeload", m.min_budget, 2, 1, "threads"});
  if (io_uring_available()) expect_identical(m, {"pipeload", m.min_budget, 2, 1, "uring"});
}

TEST_P(Streaming, BitIdenticalNearTheMinimumWithEveryAgentCount) {
  // Just above the minimum the loaders block on the budget all the time (flow control).
  Model& m = model(spec(GetParam()));
  const uint64_t layer = largest_layer(m, "pipeload", m.min_budget);
  for (uint64_t extra : {uint64_t{0}, uint64_t{4096}, layer / 2, layer + layer / 3}) {
    expect_identical(m, {"swap", m.min_budget + extra});
    for (int agents : {1, 2, 3, 4}) expect_identical(m, {"pipeload", m.min_budget + extra, agents});
  }
}

TEST_P(Streaming, BitIdenticalAtTheDefaultThreadCount) {
  // threads 0: all cores, as users run it; GEMMs then split across threads.
  Model& m = model(spec(GetParam()));
  for (uint64_t budget : {m.min_budget, m.weight_bytes / 4})
    for (const char* ex : {"swap", "pipeload"}) expect_identical(m, {ex, budget, 0, 0});
}

TEST_P(Streaming, BitIdenticalOnHalfPrecisionAndShardedFolders) {
  // bf16 and f16 weights are widened into budgeted scratch as they arrive; shards are several
  // files read by one loader.
  for (const TestModelSpec& s : {spec(GetParam(), 6, DType::BF16), spec(GetParam(), 6, DType::F16),
                                 spec(GetParam(), 6, DType::F32, 3), spec(GetParam(), 6, DType::F16, 2)}) {
    SCOPED_TRACE(key_of(s));
    Model& m = model(s);
    for (uint64_t budget : {m.min_budget, m.min_budget + (m.weight_bytes - m.min_budget) / 3}) {
      expect_identical(m, {"swap", budget});
      expect_identical(m, {"pipeload", budget, 2});
      expect_identical(m, {"pipeload", budget, 0, 0});
    }
  }
}

TEST_P(Streaming, BelowMinimumNamesTheMinimum) {
  Model& m = model(spec(GetParam()));
  SessionOptions o;
  o.executor = Executor::Pipeload;
  o.budget_bytes = m.min_budget - 4096;
  auto s = Session::open(m.dir, o);
  const std::string e = edgerun::test::error_of<BudgetError>([&] { s->run(m.in); });
  EXPECT_NE(e.find(std::to_string(m.min_budget)), std::string::npos) << e;
}

TEST_P(Streaming, RandomizedBudgetsAndAgents) {
  Model& m = model(spec(GetParam()));
  std::mt19937 g(42);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  for (int i = 0; i < 8; ++i) {
    const uint64_t budget = m.min_budget + static_cast<uint64_t>(u(g) * 1.2 * static_cast<double>(m.weight_bytes));
    const int agents = 1 + static_cast<int>(g() % 4);
    expect_identical(m, {i % 2 ? "pipeload" : "swap", budget, agents});
  }
}

TEST_P(Streaming, ResidencyAcrossRepeatsReadsOnlyTheRest) {
  Model& m = model(spec(GetParam()));
  const HostArray& ref = reference(m, 1);
  SessionOptions o;
  o.threads = 1;
  o.executor = Executor::Pipeload;
  o.budget_bytes = m.min_budget + m.weight_bytes / 2;
  {
    // One call: pinning would only hold budget that the stream could use.
    auto once = Session::open(m.dir, o);
    EXPECT_TRUE(nlohmann::json::parse(once->plan_json(m.in))["resident_layers"].empty());
  }
  o.expected_calls = 2;
  auto s = Session::open(m.dir, o);
  EXPECT_FALSE(nlohmann::json::parse(s->plan_json(m.in))["resident_layers"].empty());
  s->run(m.in);
  const uint64_t first = s->report().bytes_read;
  HostArray out = s->run(m.in);
  const uint64_t second = s->report().bytes_read - first;
  EXPECT_LT(second, first) << "resident blocks must not be read again";
  EXPECT_EQ(std::memcmp(out.bytes.data(), ref.bytes.data(), out.bytes.size()), 0);
}

TEST_P(Streaming, PinningLeavesTheStreamALayerPerAgentPlusOne) {
  // Layers pinned across passes take budget from the stream; the planner pins only where the
  // rest still holds a layer per loading agent plus the one computing (planner.cpp says why),
  // and does pin once the budget holds that and more.
  Model& m = model(spec(GetParam()));
  for (double extra : {0.5, 1.5, 3.0, 6.0, 12.0}) {
    SessionOptions o;
    o.executor = Executor::Pipeload;
    o.agents = 2;
    o.expected_calls = 8;
    auto probe = Session::open(m.dir, o);
    const auto layers = nlohmann::json::parse(probe->plan_json(m.in))["layers"];
    uint64_t largest = 0;
    for (const auto& l : layers) largest = std::max(largest, l["peak_bytes"].get<uint64_t>());
    o.budget_bytes = m.min_budget + static_cast<uint64_t>(extra * static_cast<double>(largest));
    auto s = Session::open(m.dir, o);
    const auto plan = nlohmann::json::parse(s->plan_json(m.in));
    std::set<std::string> pinned;
    for (const auto& n : plan["resident_layers"]) pinned.insert(n.get<std::string>());
    // The minimum budget is what is reserved before loads plus the largest layer.
    uint64_t used = m.min_budget - largest, streamed_peak = 0;
    for (const auto& l : plan["layers"]) {
      if (pinned.count(l["name"].get<std::string>())) used += l["resident_bytes"].get<uint64_t>();
      else streamed_peak = std::max(streamed_peak, l["peak_bytes"].get<uint64_t>());
    }
    const std::string what = "budget: min + " + std::to_string(extra) + " layers";
    if (extra < 2.0) {
      EXPECT_TRUE(pinned.empty()) << what;
    }
    // Room for three layers beyond the stream's two: the planner must use it.
    if (extra >= 6.0) {
      EXPECT_FALSE(pinned.empty()) << what;
    }
    if (!pinned.empty()) {
      EXPECT_GE(o.budget_bytes - used, 3 * streamed_peak) << what;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Families, Streaming, ::testing::Values("gpt2-tiny", "bert-tiny", "vit-tiny"),
                         [](const auto& i) {
                           std::string n = i.param;
                           for (char& c : n) c = c == '-' ? '_' : c;
                           return n;
                         });

// ViT-Base's layers (9 and 18 MiB) are read into huge-page buffers under a budget: the planner's
// footprints must charge whole 2 MiB units exactly as the loads take them, or the minimum
// budget would fail (or, blocking, hang) and a budget could be passed.
TEST(StreamingHugePages, LargeLayersStreamBitIdenticalAtTheMinimum) {
  Model& m = model(spec("vit-base", 2));
  for (const char* ex : {"swap", "pipeload"}) {
    expect_identical(m, {ex, m.min_budget});
    expect_identical(m, {ex, m.weight_bytes / 2});
  }
  expect_identical(m, {"pipeload", m.min_budget, 2, 1, "threads"});
  SessionOptions o;
  o.executor = Executor::Pipeload;
  o.budget_bytes = m.min_budget - 4096;
  EXPECT_THROW(Session::open(m.dir, o)->run(m.in), BudgetError);
}

// prepare() commits the pages the plan holds, before the run: the run then faults in (almost)
// none of its own, gives the same bits, and resident plus kept pages stay within the budget.
TEST(StreamingHugePages, PreparedRunsReuseTheCommittedPages) {
  Model& m = model(spec("vit-base", 2));
  const HostArray& ref = reference(m, 1);
  for (const char* ex : {"swap", "pipeload"}) {
    uint64_t fresh[2] = {0, 0};
    for (bool commit : {false, true}) {
      SessionOptions o;
      o.threads = 1;
      o.executor = parse_executor(ex);
      o.budget_bytes = m.weight_bytes / 2;
      o.commit_budget = commit;
      auto s = Session::open(m.dir, o);
      s->prepare(m.in);
      HostArray out;
      with_deadline([&] { out = s->run(m.in); });
      ASSERT_EQ(out.bytes.size(), ref.bytes.size());
      EXPECT_EQ(std::memcmp(out.bytes.data(), ref.bytes.data(), out.bytes.size()), 0) << ex << " commit " << commit;
      const Report r = s->report();
      EXPECT_LE(r.budget_high_water_bytes, o.budget_bytes);
      EXPECT_LE(r.committed_bytes, o.budget_bytes);
      EXPECT_EQ(r.committed_bytes > 0, commit) << ex;
      fresh[commit] = r.arena_fresh_bytes;
    }
    // Without the commit the pass faults in its whole high-water mark; with it, at most the
    // small buffers the split between page kinds misjudged (here: none of the layers').
    EXPECT_GT(fresh[0], m.weight_bytes / 4) << ex;
    EXPECT_LT(fresh[1], fresh[0] / 8) << ex;
  }
}
