// Streaming executors at the engine level, their readers wrapped so the test sees and steers
// every weight read: pipeload's loaders stay inside their window; later loads finishing first
// still compute in order; reads that fail near the minimum budget (loaders blocked on it) end
// the pass with the reader's IoError, and the failure path itself gives back every budget byte,
// thread and file descriptor, so the next pass succeeds bit-identical (forward and generation);
// assembly by reference; generation streams every token. A hang fails within its deadline.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <set>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/error.h"
#include "edgerun/edgerun.h"
#include "io/fault_reader.h"
#include "runtime/engine.h"
#include "runtime/pipeload.h"
#include "test_models.h"
#include "test_util.h"

using namespace edgerun;
using edgerun::test::contains;
using edgerun::test::TempDir;
using edgerun::test::with_deadline;

namespace {

// Wraps a reader and tells the test about each read, before it starts and after it ends.
class ObservedReader final : public IoReader {
 public:
  using Hook = std::function<void(uint64_t offset, uint64_t n, bool finished)>;
  ObservedReader(std::unique_ptr<RandomAccessFile> inner, Hook hook) : inner_(std::move(inner)), hook_(std::move(hook)) {}
  const std::string& path() const override { return inner_->path(); }
  uint64_t size() const override { return inner_->size(); }
  bool is_direct() const override { return edgerun::is_direct(*inner_); }
  void read_at(uint64_t offset, uint64_t n, void* dst) override {
    hook_(offset, n, false);
    inner_->read_at(offset, n, dst);
    hook_(offset, n, true);
  }

 private:
  std::unique_ptr<RandomAccessFile> inner_;
  Hook hook_;
};

struct EngineRig {
  ModelGraph mg;
  MemoryBudget budget;
  std::unique_ptr<Engine> engine;
  EngineRig(const std::string& dir, uint64_t limit) : mg(build_model(dir)), budget(limit) {}
  void start(const ExecPlan& plan, const FaultPlan& faults, ObservedReader::Hook hook = {}) {
    EngineOptions eo;
    eo.threads = 1;
    eo.plan = plan;
    engine = std::make_unique<Engine>(mg, budget, eo);
    std::vector<std::unique_ptr<RandomAccessFile>> files;
    for (const auto& f : mg.weights.files) {
      std::unique_ptr<RandomAccessFile> r = make_fault_reader(open_direct(f.path()), faults);
      if (hook) r = std::make_unique<ObservedReader>(std::move(r), hook);
      files.push_back(std::move(r));
    }
    engine->loader().set_files(std::move(files));
  }
  // The layer whose weights a read of file 0 covers most.
  int32_t layer_of(uint64_t offset, uint64_t n) const {
    int32_t best = -1;
    uint64_t most = 0;
    for (size_t l = 0; l < mg.graph.layers.size(); ++l) {
      uint64_t overlap = 0;
      for (SlotId s : mg.graph.layers[l].slots) {
        const WeightSlot& w = mg.graph.slots[s];
        if (w.file != 0) continue;
        const uint64_t b = std::max(w.begin, offset), e = std::min(w.end, offset + n);
        if (e > b) overlap += e - b;
      }
      if (overlap > most) {
        most = overlap;
        best = static_cast<int32_t>(l);
      }
    }
    return best;
  }
  // A byte in the middle of layer l's largest tensor.
  uint64_t byte_of_layer(int32_t l) const {
    const WeightSlot* big = nullptr;
    for (SlotId s : mg.graph.layers[l].slots)
      if (!big || mg.graph.slots[s].nbytes() > big->nbytes()) big = &mg.graph.slots[s];
    return big->begin + big->nbytes() / 2;
  }
};

// Fixtures shared by the tests of this binary, removed when it exits.
const TempDir& model_root() { return edgerun::test::binary_temp_dir(); }

const std::string& gpt2_dir() {
  static const std::string dir = [] {
    edgerun::test::TestModelSpec s;
    s.n_layer = 6;
    return edgerun::test::make_test_model(model_root(), "gpt2_6", s);
  }();
  return dir;
}

HostArray prompt() {
  HostArray ids(DType::I64, {1, 8});
  for (int64_t i = 0; i < 8; ++i) ids.as<int64_t>()[i] = i + 3;
  return ids;
}

ExecPlan plan_of(Executor kind, int agents) {
  ExecPlan p;
  p.kind = kind;
  p.agents = agents;
  p.prefetch = true;
  return p;
}

// The smallest budget the planner accepts for this model and prompt (forward or generation).
uint64_t min_budget(const std::string& dir, int64_t new_tokens = 0) {
  SessionOptions o;
  auto s = Session::open(dir, o);
  Inputs in;
  in.input_ids = prompt();
  const std::string plan = new_tokens ? s->plan_generate_json(prompt(), new_tokens) : s->plan_json(in);
  return nlohmann::json::parse(plan)["min_budget_bytes"].get<uint64_t>();
}

// Waits (at most 10 s) until pred holds; false if it never did.
template <typename P>
bool eventually(P pred) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!pred()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::yield();
  }
  return true;
}
}  // namespace

TEST(StreamingEngine, PipeloadLoadersStayAFewLayersAheadOfTheCompute) {
  // Unlimited budget: only the window holds the loaders back. Every read is checked as it
  // starts: its layer must be within agents + 2 of the layers computed so far (fresh pages cost
  // the compute cores a clearing, and a longer window buys no bandwidth).
  EngineRig rig(gpt2_dir(), 0);
  ExecPlan plan = plan_of(Executor::Pipeload, 2);
  plan.pinned.assign(rig.mg.graph.layers.size(), false);
  const int32_t window = pipeload_lookahead(plan.agents), n = static_cast<int32_t>(rig.mg.graph.layers.size());
  ASSERT_GT(n, window + 2) << "the model must be deeper than the window";
  std::atomic<int32_t> computed{0}, ahead{0}, reads{0};
  rig.start(plan, FaultPlan{}, [&](uint64_t off, uint64_t len, bool finished) {
    if (finished) return;
    ++reads;
    const int32_t l = rig.layer_of(off, len);
    if (l >= computed.load() + window) ahead = std::max(ahead.load(), l - computed.load() - window + 1);
  });
  WeightLoader& loader = rig.engine->loader();
  auto src = make_pipeload_source(plan, rig.mg.graph, loader, rig.budget, nullptr);
  const uint64_t base = rig.budget.in_use();
  uint64_t window_bytes = 0;
  for (int32_t l = 0; l < window; ++l) window_bytes += loader.footprint(l).peak;
  with_deadline([&] {
    src->begin_pass();
    for (int32_t l = 0; l < window; ++l) src->wait(l);  // the whole window is loaded, none computed
    EXPECT_LE(rig.budget.in_use() - base, window_bytes);
    for (int32_t l = 0; l < n; ++l) {
      src->wait(l);
      computed = l + 1;  // before done(l) opens the window: the check never runs behind it
      src->done(l);
    }
    src->end_pass(false);
  });
  EXPECT_EQ(ahead.load(), 0) << "a loader read a layer this far past its window";
  EXPECT_GE(reads.load(), n);
  EXPECT_EQ(rig.budget.in_use(), base);
}

TEST(StreamingEngine, LaterLoadsFinishingFirstStillComputeInOrder) {
  EngineRig ref(gpt2_dir(), 0);
  ref.start(ExecPlan{}, FaultPlan{});
  RunRequest rq;
  HostArray ids = prompt();
  rq.input_ids = &ids;
  const HostArray want = ref.engine->forward(rq);
  // Layer 1's read waits until layer 3's has finished: loads complete out of order.
  EngineRig rig(gpt2_dir(), 64ull << 20);
  std::mutex mu;
  std::vector<int32_t> finished;
  std::atomic<bool> third_done{false};
  rig.start(plan_of(Executor::Pipeload, 4), FaultPlan{}, [&](uint64_t off, uint64_t n, bool end) {
    const int32_t l = rig.layer_of(off, n);
    if (!end && l == 1) {
      EXPECT_TRUE(eventually([&] { return third_done.load(); })) << "layer 3 never loaded first";
    }
    if (end) {
      std::lock_guard<std::mutex> lk(mu);
      finished.push_back(l);
      if (l == 3) third_done = true;
    }
  });
  HostArray got;
  with_deadline([&] { got = rig.engine->forward(rq); });
  EXPECT_EQ(std::memcmp(got.bytes.data(), want.bytes.data(), got.bytes.size()), 0);
  const auto pos = [&](int32_t l) { return std::find(finished.begin(), finished.end(), l) - finished.begin(); };
  EXPECT_LT(pos(3), pos(1)) << "the loads did not finish out of order";
}

namespace {
enum class Fault { Eio, Truncated };

struct FaultCase {
  Executor executor;
  int agents;
  Fault fault;
  std::string name() const {
    return std::string(to_string(executor)) + "/" + std::to_string(agents) + " agents/" +
           (fault == Fault::Eio ? "EIO" : "truncated");
  }
};

const FaultCase kFaultCases[] = {
    {Executor::Swap, 1, Fault::Eio},      {Executor::Swap, 1, Fault::Truncated},
    {Executor::Pipeload, 2, Fault::Eio},  {Executor::Pipeload, 2, Fault::Truncated},
    {Executor::Pipeload, 3, Fault::Eio},  {Executor::Pipeload, 4, Fault::Truncated},
};

// A rig at the minimum budget whose reads fail while *armed: those covering byte `at` (EIO), or
// every read past it (the file was truncated there). For pipeload the first failing read waits
// until another loader is blocked on the budget, so that the failure must wake it (cancel) for
// the pass to end; blocked_at_fault records how many were.
struct FaultRig {
  EngineRig rig;
  std::shared_ptr<std::atomic<bool>> armed = std::make_shared<std::atomic<bool>>(false);
  std::atomic<int> blocked_at_fault{-1};
  uint64_t at = 0;
  std::mutex mu;
  std::set<uint64_t> reported;  // the offsets the failing reads' errors name
  FaultRig(const FaultCase& c, uint64_t budget) : rig(gpt2_dir(), budget) {
    at = rig.byte_of_layer(static_cast<int32_t>(rig.mg.graph.layers.size() / 2));
    FaultPlan f;
    f.armed = armed;
    const bool eio = c.fault == Fault::Eio;
    if (eio) f.fail_offset = at;
    else f.truncate_at = at;
    const bool wait_for_blocked = c.executor == Executor::Pipeload;
    f.delay_for = [this, wait_for_blocked, eio](int64_t, uint64_t off, uint64_t n) {
      const bool fails = eio ? off <= at && at < off + n : off + n > at;
      if (armed->load() && fails) {
        {
          std::lock_guard<std::mutex> lk(mu);
          reported.insert(std::max(off, at));  // FaultReader names what a real reader would
        }
        if (blocked_at_fault.load() < 0) {
          if (wait_for_blocked) eventually([&] { return rig.budget.waiters() > 0; });
          blocked_at_fault = rig.budget.waiters();
        }
      }
      return std::chrono::microseconds(0);
    };
    rig.start(plan_of(c.executor, c.agents), f);
  }
  const std::string& file() const { return rig.mg.weights.files.front().path(); }
};

// Runs f, which must throw the reader's IoError naming the file and the offset of a read that
// failed.
template <typename F>
void expect_io_error(F f, FaultRig& r, const std::string& what) {
  std::string msg = "no error";
  bool io = false;
  with_deadline(
      [&] {
        try {
          f();
        } catch (const IoError& e) {
          io = true;
          msg = e.what();
        } catch (const std::exception& e) {
          msg = std::string("not an IoError: ") + e.what();
        }
      },
      std::chrono::seconds(60), "a pass with a failing read (" + what + ")");
  EXPECT_TRUE(io) << what << ": " << msg;
  EXPECT_TRUE(contains(msg, r.file())) << what << ": " << msg;
  bool named = false;
  std::lock_guard<std::mutex> lk(r.mu);
  for (uint64_t off : r.reported) named |= contains(msg, "offset " + std::to_string(off));
  EXPECT_TRUE(named) << what << ": the error names no offset that failed: " << msg;
}
}  // namespace

TEST(StreamingEngine, FaultsNearTheMinimumFailCleanlyAndTheNextPassIsBitIdentical) {
  HostArray ids = prompt();
  RunRequest rq;
  rq.input_ids = &ids;
  EngineRig ref(gpt2_dir(), 0);
  ref.start(ExecPlan{}, FaultPlan{});
  const HostArray want = ref.engine->forward(rq);
  const uint64_t budget = min_budget(gpt2_dir());
  for (const FaultCase& c : kFaultCases) {
    SCOPED_TRACE(c.name());
    FaultRig r(c, budget);
    HostArray got;
    with_deadline([&] { got = r.rig.engine->forward(rq); });
    ASSERT_EQ(std::memcmp(got.bytes.data(), want.bytes.data(), got.bytes.size()), 0) << "clean pass";
    // What a pass holds between passes (the activation arena), and the threads and files the
    // session keeps (BLAS, the readers' pools): the failure must leave exactly these.
    const uint64_t held = r.rig.budget.in_use();
    const int threads = edgerun::test::count_threads(), fds = edgerun::test::count_fds();
    *r.armed = true;
    expect_io_error([&] { r.rig.engine->forward(rq); }, r, c.name());
    if (c.executor == Executor::Pipeload) {
      EXPECT_GE(r.blocked_at_fault.load(), 1) << "no loader was blocked on the budget when the read failed";
    }
    EXPECT_EQ(r.rig.budget.in_use(), held) << "the failed pass kept budget";
    EXPECT_EQ(edgerun::test::count_threads(), threads) << "the failed pass left threads running";
    EXPECT_EQ(edgerun::test::count_fds(), fds) << "the failed pass left files open";
    *r.armed = false;
    with_deadline([&] { got = r.rig.engine->forward(rq); });
    EXPECT_EQ(std::memcmp(got.bytes.data(), want.bytes.data(), got.bytes.size()), 0) << "the pass after the failure";
    EXPECT_EQ(r.rig.budget.in_use(), held);
    EXPECT_LE(r.rig.budget.high_water(), budget);
  }
}

TEST(StreamingEngine, FaultsDuringGenerationFailCleanlyAndTheNextGenerationIsIdentical) {
  // The read fails in the third pass (second generated token), with the KV cache filled.
  const HostArray ids = prompt();
  GenerateParams g;
  g.new_tokens = 6;
  EngineRig ref(gpt2_dir(), 0);
  ref.start(ExecPlan{}, FaultPlan{});
  const HostArray want = ref.engine->generate(ids, g);
  const uint64_t budget = min_budget(gpt2_dir(), g.new_tokens);
  for (const FaultCase& c : kFaultCases) {
    SCOPED_TRACE(c.name());
    FaultRig r(c, budget);
    HostArray got;
    with_deadline([&] { got = r.rig.engine->generate(ids, g); });
    ASSERT_EQ(got.bytes, want.bytes) << "clean generation";
    const uint64_t held = r.rig.budget.in_use();  // arena and KV cache
    const int threads = edgerun::test::count_threads(), fds = edgerun::test::count_fds();
    GenerateParams armed_g = g;
    int64_t tokens = 0;
    armed_g.on_token = [&](int64_t i, int64_t) {
      tokens = i + 1;
      if (i == 1) *r.armed = true;
    };
    expect_io_error([&] { r.rig.engine->generate(ids, armed_g); }, r, c.name());
    EXPECT_EQ(tokens, 2) << "the fault was to hit the third pass";
    EXPECT_EQ(r.rig.budget.in_use(), held) << "the failed generation kept budget";
    EXPECT_EQ(edgerun::test::count_threads(), threads);
    EXPECT_EQ(edgerun::test::count_fds(), fds);
    *r.armed = false;
    with_deadline([&] { got = r.rig.engine->generate(ids, g); });
    EXPECT_EQ(got.bytes, want.bytes) << "the generation after the failure";
    EXPECT_LE(r.rig.budget.high_water(), budget);
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
  TempDir t("stream_gen");
  edgerun::test::TestModelSpec spec;
  spec.n_layer = 8;
  const std::string dir = edgerun::test::make_test_model(t, "gpt2_8", spec);
  HostArray ids = prompt();
  GenerateParams gp;
  gp.new_tokens = 12;
  SessionOptions o;
  o.threads = 1;
  o.executor = Executor::Resident;
  HostArray want = Session::open(dir, o)->generate(ids, gp);
  for (const char* ex : {"swap", "pipeload"}) {
    SessionOptions so2 = o;
    so2.executor = parse_executor(ex);
    so2.budget_fraction = 0.3;
    auto s = Session::open(dir, so2);
    // What `edgerun plan --new-tokens` shows is the plan generation runs with.
    const auto planned = nlohmann::json::parse(s->plan_generate_json(ids, gp.new_tokens));
    HostArray got;
    with_deadline([&] { got = s->generate(ids, gp); });
    ASSERT_EQ(got.shape, want.shape);
    EXPECT_EQ(std::memcmp(got.bytes.data(), want.bytes.data(), got.bytes.size()), 0) << ex;
    Report r = s->report();
    EXPECT_EQ(planned["streamed_bytes_per_pass"].get<uint64_t>(), r.streamed_bytes) << ex;
    EXPECT_EQ(planned["executor"].get<std::string>(), to_string(r.executor)) << ex;
    EXPECT_LE(r.budget_high_water_bytes, r.budget_bytes);
    // Each of the 12 passes reads the streamed weights again.
    EXPECT_GE(r.bytes_read, 12 * r.streamed_bytes) << ex;
  }
}
