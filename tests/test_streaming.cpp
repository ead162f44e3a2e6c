// Streaming under a hard budget: swap, pipeload and auto give output bit-identical to resident
// with ample memory (same thread count) at 50%, 25%, 15% of the weights and at the minimum
// budget; the budget's high-water mark never passes the budget; a randomized stress over budgets
// and agents; later loads finishing first; fault-injected reads fail cleanly, release every
// buffer and never hang.
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <future>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <thread>

#include "core/error.h"
#include "edgerun/edgerun.h"
#include "io/fault_reader.h"
#include "models/synth.h"
#include "runtime/engine.h"
#include "runtime/pipeload.h"
#include "runtime/planner.h"

using namespace edgerun;
namespace fs = std::filesystem;

namespace {
// Runs f on another thread and fails the test instead of hanging past `limit`.
template <typename F>
void with_deadline(F f, std::chrono::seconds limit = std::chrono::seconds(60)) {
  auto fut = std::async(std::launch::async, f);
  ASSERT_EQ(fut.wait_for(limit), std::future_status::ready) << "hung past the deadline";
  fut.get();
}

struct Model {
  std::string dir;
  Inputs in;
  HostArray ref;  // resident, unlimited budget, 1 thread
  uint64_t weight_bytes = 0;
  uint64_t min_budget = 0;
};

class Streaming : public ::testing::TestWithParam<std::string> {
 protected:
  static std::map<std::string, Model>& models() {
    static std::map<std::string, Model> m;
    return m;
  }
  // n_layer 12: deep enough that 15% of the weights is above the minimum budget.
  static const Model& model(const std::string& name, int n_layer = 12) {
    auto& m = models();
    const std::string key = name + "_" + std::to_string(n_layer);
    auto it = m.find(key);
    if (it != m.end()) return it->second;
    Model md;
    md.dir = (fs::temp_directory_path() / ("edgerun_stream_" + std::to_string(::getpid()) + "_" + key)).string();
    SynthOptions so;
    so.n_layer = n_layer;
    so.force = true;
    so.seed = 7;
    synth_model(find_synth_spec(name), md.dir, so);
    const SynthSpec& spec = find_synth_spec(name);
    if (spec.family == Family::Vit) {
      HostArray px(DType::F32, {1, 3, spec.image_size, spec.image_size});
      std::mt19937 g(1);
      std::normal_distribution<float> d;
      for (int64_t i = 0; i < px.numel(); ++i) px.as<float>()[i] = d(g);
      md.in.pixel_values = px;
    } else {
      HostArray ids(DType::I64, {1, 16});
      for (int64_t i = 0; i < 16; ++i) ids.as<int64_t>()[i] = (i * 37 + 5) % spec.vocab_size;
      md.in.input_ids = ids;
    }
    SessionOptions o;
    o.threads = 1;
    o.executor = "resident";
    auto s = Session::open(md.dir, o);
    md.ref = s->run(md.in);
    md.weight_bytes = s->summary().weight_bytes;
    md.min_budget = nlohmann::json::parse(s->plan_json(md.in))["min_budget_bytes"].get<uint64_t>();
    return m.emplace(key, std::move(md)).first->second;
  }

  // Runs with the given executor and budget; checks bit identity and the high-water mark.
  static void expect_identical(const Model& m, const std::string& executor, uint64_t budget, int agents = 0,
                               const std::string& io_engine = "auto") {
    SessionOptions o;
    o.threads = 1;
    o.executor = executor;
    o.budget_bytes = budget;
    o.agents = agents;
    o.io_engine = io_engine;
    auto s = Session::open(m.dir, o);
    HostArray out;
    with_deadline([&] { out = s->run(m.in); });
    ASSERT_EQ(out.shape, m.ref.shape);
    EXPECT_EQ(std::memcmp(out.bytes.data(), m.ref.bytes.data(), out.bytes.size()), 0)
        << executor << " at budget " << budget << " is not bit-identical to resident";
    Report r = s->report();
    EXPECT_LE(r.budget_high_water_bytes, budget) << executor;
    if (executor != "resident") {
      EXPECT_GT(r.bytes_read, 0u);
    }
    // Weights are read direct where the test's temp folder allows it, by the engine asked for.
    if (r.io_engine != "buffered") {
      const bool uring = io_engine == "uring" || (io_engine == "auto" && io_uring_available());
      EXPECT_EQ(r.io_engine, uring ? "io_uring" : "threads");
    }
  }
};
}  // namespace

TEST_P(Streaming, BitIdenticalAtEveryBudget) {
  const Model& m = model(GetParam());
  for (double frac : {0.50, 0.25, 0.15}) {
    const uint64_t budget = static_cast<uint64_t>(frac * m.weight_bytes);
    ASSERT_GE(budget, m.min_budget) << "fixture too small to stream at " << frac;
    for (const char* ex : {"swap", "pipeload", "auto"}) expect_identical(m, ex, budget);
  }
  for (const char* ex : {"swap", "pipeload", "auto"}) expect_identical(m, ex, m.min_budget);
  // Both read engines (io_uring is the default where the kernel allows it).
  expect_identical(m, "pipeload", m.min_budget, 2, "threads");
  if (io_uring_available()) expect_identical(m, "pipeload", m.min_budget, 2, "uring");
}

TEST_P(Streaming, BelowMinimumNamesTheMinimum) {
  const Model& m = model(GetParam());
  SessionOptions o;
  o.executor = "pipeload";
  o.budget_bytes = m.min_budget - 4096;
  auto s = Session::open(m.dir, o);
  try {
    s->run(m.in);
    FAIL() << "expected BudgetError";
  } catch (const BudgetError& e) {
    EXPECT_NE(std::string(e.what()).find(std::to_string(m.min_budget)), std::string::npos) << e.what();
  }
}

TEST_P(Streaming, RandomizedBudgetsAndAgents) {
  const Model& m = model(GetParam());
  std::mt19937 g(42);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  for (int i = 0; i < 8; ++i) {
    const uint64_t budget = m.min_budget + static_cast<uint64_t>(u(g) * 1.2 * m.weight_bytes);
    const int agents = 1 + static_cast<int>(g() % 4);
    expect_identical(m, i % 2 ? "pipeload" : "swap", budget, agents);
  }
}

TEST_P(Streaming, ResidencyAcrossRepeatsReadsOnlyTheRest) {
  const Model& m = model(GetParam());
  SessionOptions o;
  o.threads = 1;
  o.executor = "pipeload";
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
  EXPECT_EQ(std::memcmp(out.bytes.data(), m.ref.bytes.data(), out.bytes.size()), 0);
}

TEST_P(Streaming, PinningLeavesTheStreamALayerPerAgentPlusOne) {
  // Layers pinned across passes take budget from the stream; the planner pins only where the
  // rest still holds a layer per loading agent plus the one computing (planner.cpp says why).
  const Model& m = model(GetParam());
  for (double extra : {0.5, 1.5, 3.0, 6.0, 12.0}) {
    SessionOptions o;
    o.executor = "pipeload";
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
    if (extra < 2.0) {
      EXPECT_TRUE(pinned.empty()) << "budget: min + " << extra << " layers";
    }
    if (!pinned.empty()) {
      EXPECT_GE(o.budget_bytes - used, 3 * streamed_peak) << "budget: min + " << extra << " layers";
    }
  }
}

// ViT-Base's layers (9 and 18 MiB) are read into huge-page buffers under a budget: the planner's
// footprints must charge whole 2 MiB units exactly as the loads take them, or the minimum
// budget would fail (or, blocking, hang) and a budget could be passed.
using StreamingHugePages = Streaming;
TEST_F(StreamingHugePages, LargeLayersStreamBitIdenticalAtTheMinimum) {
  const Model& m = model("vit-base", 2);
  for (const char* ex : {"swap", "pipeload"}) {
    expect_identical(m, ex, m.min_budget);
    expect_identical(m, ex, m.weight_bytes / 2);
  }
  expect_identical(m, "pipeload", m.min_budget, 2, "threads");
  SessionOptions o;
  o.executor = "pipeload";
  o.budget_bytes = m.min_budget - 4096;
  EXPECT_THROW(Session::open(m.dir, o)->run(m.in), BudgetError);
}

// prepare() commits the pages the plan holds, before the run: the run then faults in (almost)
// none of its own, gives the same bits, and resident plus kept pages stay within the budget.
TEST_F(StreamingHugePages, PreparedRunsReuseTheCommittedPages) {
  const Model& m = model("vit-base", 2);
  for (const char* ex : {"swap", "pipeload"}) {
    uint64_t fresh[2] = {0, 0};
    for (bool commit : {false, true}) {
      SessionOptions o;
      o.threads = 1;
      o.executor = ex;
      o.budget_bytes = m.weight_bytes / 2;
      o.commit_budget = commit;
      auto s = Session::open(m.dir, o);
      s->prepare(m.in);
      HostArray out;
      with_deadline([&] { out = s->run(m.in); });
      ASSERT_EQ(out.bytes.size(), m.ref.bytes.size());
      EXPECT_EQ(std::memcmp(out.bytes.data(), m.ref.bytes.data(), out.bytes.size()), 0) << ex << " commit " << commit;
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

INSTANTIATE_TEST_SUITE_P(Families, Streaming, ::testing::Values("gpt2-tiny", "bert-tiny", "vit-tiny"),
                         [](const auto& i) {
                           std::string n = i.param;
                           for (char& c : n) c = c == '-' ? '_' : c;
                           return n;
                         });

// ---- engine-level tests: readers replaced by fault-injecting ones ----

namespace {
struct EngineRig {
  ModelGraph mg;
  MemoryBudget budget;
  std::unique_ptr<Engine> engine;
  EngineRig(const std::string& dir, uint64_t limit) : mg(build_model(dir)), budget(limit) {}
  void start(const ExecPlan& plan, const FaultPlan& faults) {
    EngineOptions eo;
    eo.threads = 1;
    eo.plan = plan;
    engine = std::make_unique<Engine>(mg, budget, eo);
    std::vector<std::unique_ptr<RandomAccessFile>> files;
    for (const auto& f : mg.weights.files) files.push_back(make_fault_reader(open_direct(f.path()), faults));
    engine->loader().set_files(std::move(files));
  }
};

const std::string& gpt2_dir() {
  static std::string dir = [] {
    std::string d = (fs::temp_directory_path() / ("edgerun_fault_" + std::to_string(::getpid()))).string();
    SynthOptions so;
    so.n_layer = 6;
    so.force = true;
    synth_model(find_synth_spec("gpt2-tiny"), d, so);
    return d;
  }();
  return dir;
}

HostArray prompt() {
  HostArray ids(DType::I64, {1, 8});
  for (int64_t i = 0; i < 8; ++i) ids.as<int64_t>()[i] = i + 3;
  return ids;
}

ExecPlan pipeload_plan(int agents) {
  ExecPlan p;
  p.kind = ExecutorKind::Pipeload;
  p.agents = agents;
  return p;
}
}  // namespace

TEST(StreamingEngine, PipeloadLoadersStayAFewLayersAheadOfTheCompute) {
  // Unlimited budget and no layer computed yet: the loaders may still take only the first
  // agents + 2 layers (fresh pages cost the compute cores a clearing, and a longer window buys
  // no bandwidth). Then the window moves with the compute.
  EngineRig rig(gpt2_dir(), 0);
  ExecPlan plan = pipeload_plan(2);
  plan.pinned.assign(rig.mg.graph.layers.size(), false);
  rig.start(plan, FaultPlan{});
  WeightLoader& loader = rig.engine->loader();
  auto src = make_pipeload_source(plan, rig.mg.graph, loader, rig.budget, nullptr);
  const uint64_t base = rig.budget.in_use();
  auto window = [&](int32_t from) {
    uint64_t bytes = 0;
    for (int32_t l = from; l < from + 4 && l < static_cast<int32_t>(rig.mg.graph.layers.size()); ++l)
      bytes += loader.footprint(l).peak;
    return bytes;
  };
  src->begin_pass();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // time to run ahead, if they could
  EXPECT_LE(rig.budget.in_use() - base, window(0));
  with_deadline([&] {
    for (int32_t l = 0; l < static_cast<int32_t>(rig.mg.graph.layers.size()); ++l) {
      src->wait(l);
      src->done(l);
    }
  });
  src->end_pass(false);
  EXPECT_EQ(rig.budget.in_use(), base);
}

TEST(StreamingEngine, LaterLoadsFinishingFirstStillComputeInOrder) {
  // Resident reference
  EngineRig ref(gpt2_dir(), 0);
  ref.start(ExecPlan{}, FaultPlan{});
  RunRequest rq;
  HostArray ids = prompt();
  rq.input_ids = &ids;
  HostArray want = ref.engine->forward(rq);
  // The first reads are slow, so loaders of later layers finish before earlier ones.
  FaultPlan slow;
  slow.delay_for = [](int64_t n, uint64_t, uint64_t) {
    return std::chrono::microseconds(n < 3 ? 30000 : 0);
  };
  EngineRig rig(gpt2_dir(), 64ull << 20);
  rig.start(pipeload_plan(4), slow);
  HostArray got;
  with_deadline([&] { got = rig.engine->forward(rq); });
  EXPECT_EQ(std::memcmp(got.bytes.data(), want.bytes.data(), got.bytes.size()), 0);
}

TEST(StreamingEngine, FaultsMidStreamFailCleanlyAndReleaseEverything) {
  HostArray ids = prompt();
  RunRequest rq;
  rq.input_ids = &ids;
  for (int kind = 0; kind < 3; ++kind)
    for (ExecutorKind ex : {ExecutorKind::Swap, ExecutorKind::Pipeload}) {
      FaultPlan f;
      if (kind == 0) f.fail_read = 4;          // EIO in the middle of the stream
      if (kind == 1) f.short_read = 5;         // a short read
      if (kind == 2) f.truncate_at = 200000;   // the file shrank after it was opened
      EngineRig rig(gpt2_dir(), 64ull << 20);
      ExecPlan p = ex == ExecutorKind::Swap ? ExecPlan{} : pipeload_plan(3);
      p.kind = ex;
      p.prefetch = true;
      rig.start(p, f);
      with_deadline([&] { EXPECT_THROW(rig.engine->forward(rq), Error) << "fault " << kind; });
      // Only the activation arena may stay reserved; every weight buffer is released.
      rig.engine->source().release_all();
      const uint64_t arena = rig.engine->activation_arena_bytes({1, 8, 0, false});
      EXPECT_LE(rig.budget.in_use(), MemoryBudget::round_up(arena)) << "fault " << kind;
      rig.engine.reset();
      EXPECT_EQ(rig.budget.in_use(), 0u);
    }
}

TEST(StreamingEngine, AssemblyByReferenceCopiesNoWeightByte) {
  EngineRig rig(gpt2_dir(), 0);
  rig.start(ExecPlan{}, FaultPlan{});
  WeightLoader& L = rig.engine->loader();
  ResidentLayer r = L.load(1);
  // All of an fp32 layer's extents share one budget request.
  EXPECT_EQ(r.buffers.size(), 1u);
  // Every fp32 slot points inside one of the layer's read buffers: bound by reference.
  for (SlotId s : rig.mg.graph.layers[1].slots) {
    const char* p = reinterpret_cast<const char*>(rig.mg.graph.slots[s].data);
    bool inside = false;
    for (const auto& b : r.buffers)
      inside |= p >= b.as<char>() && p + rig.mg.graph.slots[s].nbytes() <= b.as<char>() + b.size();
    EXPECT_TRUE(inside) << rig.mg.graph.slots[s].name;
  }
  EXPECT_EQ(L.weight_copies(), 0u);
  L.unbind(1);
}

TEST(StreamingGeneration, EveryTokenStreamsAndMatchesResident) {
  SynthOptions so;
  so.n_layer = 8;
  so.force = true;
  const std::string dir = (fs::temp_directory_path() / ("edgerun_gen_" + std::to_string(::getpid()))).string();
  synth_model(find_synth_spec("gpt2-tiny"), dir, so);
  HostArray ids = prompt();
  GenerateParams gp;
  gp.new_tokens = 12;
  SessionOptions o;
  o.threads = 1;
  o.executor = "resident";
  HostArray want = Session::open(dir, o)->generate(ids, gp);
  for (const char* ex : {"swap", "pipeload"}) {
    SessionOptions so2 = o;
    so2.executor = ex;
    so2.budget_fraction = 0.3;
    auto s = Session::open(dir, so2);
    // What `edgerun plan --new-tokens` shows is the plan generation runs with.
    const auto planned = nlohmann::json::parse(s->plan_generate_json(ids, gp.new_tokens));
    HostArray got;
    with_deadline([&] { got = s->generate(ids, gp); });
    ASSERT_EQ(got.shape, want.shape);
    EXPECT_EQ(std::memcmp(got.bytes.data(), want.bytes.data(), got.bytes.size()), 0) << ex;
    Report r = s->report();
    EXPECT_EQ(planned["streamed_bytes"].get<uint64_t>(), r.streamed_bytes) << ex;
    EXPECT_EQ(planned["executor"].get<std::string>(), r.executor) << ex;
    EXPECT_LE(r.budget_high_water_bytes, r.budget_bytes);
    // Each of the 12 passes reads the streamed weights again.
    EXPECT_GE(r.bytes_read, 12 * r.streamed_bytes) << ex;
  }
  fs::remove_all(dir);
}
