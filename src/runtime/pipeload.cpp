// PipeLoad (Hermes): N loading agents, one inference agent (the caller), which also does the
// daemon agent's frees.
// Budget is granted to loads strictly in layer order (ticket = position in the load list): a
// loader holding ticket i acquires (blocking) every buffer of its layer, then passes the ticket
// on and reads in parallel with the others. Since the activation arena and KV cache are reserved
// before the pass, and layers below i were granted first, layer i's wait can only be on frees that
// the inference agent's progress guarantees: no deadlock, whichever load finishes first.
// Loaders also stay at most agents + 2 layers ahead of the compute, whatever room the budget
// has: a fresh page costs the kernel a clearing on the cores the compute needs (with a wide
// window, clear_page took a large share of a pass's samples: docs/STREAMING.md), and a window of
// a layer per agent plus two already keeps the storage busy.
#include "runtime/pipeload.h"

#include <atomic>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>

#include "core/error.h"
#include "runtime/report.h"
#include "runtime/trace.h"

namespace edgerun {

namespace {

class PipeloadSource final : public LayerSource {
 public:
  PipeloadSource(const ExecPlan& plan, Graph& g, WeightLoader& loader, MemoryBudget& budget, Trace* trace)
      : g_(g), loader_(loader), budget_(budget), trace_(trace), agents_(plan.agents < 1 ? 1 : plan.agents),
        lookahead_(pipeload_lookahead(agents_)), pinned_(plan.pinned), res_(g.layers.size()), ready_(g.layers.size(), false),
        loading_(g.layers.size(), false), agent_cv_(static_cast<size_t>(agents_)), ticket_(static_cast<size_t>(agents_), -1) {
    if (pinned_.empty()) pinned_.assign(g.layers.size(), false);
  }
  ~PipeloadSource() override { release_all(); }

  void begin_pass() override {
    std::lock_guard<std::mutex> lk(mu_);
    to_load_.clear();
    for (size_t l = 0; l < g_.layers.size(); ++l) {
      loading_[l] = !ready_[l];
      if (loading_[l]) to_load_.push_back(static_cast<int32_t>(l));
    }
    next_load_ = 0;
    next_grant_ = 0;
    consumed_ = 0;
    error_ = nullptr;
    stop_ = false;
    for (int a = 0; a < agents_; ++a) loaders_.emplace_back([this, a] { loader_main(a); });
  }

  void wait(int32_t l) override {
    std::unique_lock<std::mutex> lk(mu_);
    if (!ready_[l] && !error_) {
      double t0 = trace_ ? trace_->now_us() : 0;
      infer_waits_ = l;
      infer_cv_.wait(lk, [&] { return ready_[l] || error_; });
      infer_waits_ = -1;
      if (trace_) trace_->span("inference", "stall " + g_.layers[l].name, t0, trace_->now_us());
    }
    if (error_) std::rethrow_exception(error_);
  }

  // The daemon agent's work (free the layer, wake loaders blocked on the budget) is done here, on
  // the inference thread: it takes about a microsecond, and a thread of its own cost a wakeup per
  // layer, each of which takes a core from the compute for longer than that.
  void done(int32_t l) override {
    std::condition_variable* wake = nullptr;
    ResidentLayer r;
    {
      std::lock_guard<std::mutex> lk(mu_);
      if (loading_[l]) ++consumed_;  // opens the loaders' window by one layer
      wake = grantable_agent_locked();
      if (!pinned_[l] && ready_[l]) {
        r = std::move(res_[l]);
        loader_.unbind(l);
        ready_[l] = false;
      }
    }
    if (wake) wake->notify_one();
    if (!r.buffers.empty()) {
      ScopedSpan s(trace_, "daemon", "free " + g_.layers[l].name);
      r = ResidentLayer{};  // releases the buffers, waking loaders blocked on the budget
    }
  }

  uint64_t outside_budget_bytes() const override { return outside_.load(); }

  void end_pass(bool failed) noexcept override {
    if (!loaders_.empty()) {
      const uint64_t rss = process_current_rss_bytes(), in_use = budget_.resident_bytes();
      if (rss > in_use && rss - in_use > outside_.load()) outside_.store(rss - in_use);
    }
    {
      std::lock_guard<std::mutex> lk(mu_);
      stop_ = true;
      if (failed && !error_) error_ = std::make_exception_ptr(Error("pass aborted"));
    }
    wake_all();
    if (failed) budget_.cancel();  // wake loaders blocked on budget that will never be freed
    for (auto& t : loaders_) t.join();
    loaders_.clear();
    if (failed) budget_.reset_cancel();
    std::lock_guard<std::mutex> lk(mu_);
    for (size_t l = 0; l < res_.size(); ++l)
      if (ready_[l] && (failed || !pinned_[l])) free_locked(static_cast<int32_t>(l));
    // Layers reserved but not filled were released by their loader on error.
  }

  void release_all() noexcept override {
    if (!loaders_.empty()) end_pass(true);
    std::lock_guard<std::mutex> lk(mu_);
    for (size_t l = 0; l < res_.size(); ++l)
      if (ready_[l]) free_locked(static_cast<int32_t>(l));
  }

 private:
  void free_locked(int32_t l) {
    loader_.unbind(l);
    res_[l] = ResidentLayer{};
    ready_[l] = false;
  }

  bool grantable_locked(int32_t ticket) const { return next_grant_ == ticket && ticket < consumed_ + lookahead_; }

  // On two cores every thread woken takes a core from the compute for a while, so each event
  // wakes only the one thread it lets go on: the agent whose ticket is next, if its layer is now
  // inside the window; the inference agent, if it waits for the layer just filled.
  std::condition_variable* grantable_agent_locked() {
    for (int a = 0; a < agents_; ++a)
      if (ticket_[a] >= 0 && grantable_locked(ticket_[a])) return &agent_cv_[a];
    return nullptr;
  }

  void wake_all() {
    infer_cv_.notify_all();
    for (auto& cv : agent_cv_) cv.notify_all();
  }

  void fail(std::exception_ptr e) {
    {
      std::lock_guard<std::mutex> lk(mu_);
      if (!error_) error_ = e;
    }
    budget_.cancel();
    wake_all();
  }

  void loader_main(int agent) {
    const std::string track = "loader " + std::to_string(agent);
    for (;;) {
      int32_t i, l;
      {
        std::unique_lock<std::mutex> lk(mu_);
        if (stop_ || error_ || next_load_ >= static_cast<int32_t>(to_load_.size())) return;
        i = next_load_++;
        l = to_load_[i];
        ticket_[agent] = i;
        agent_cv_[agent].wait(lk, [&] { return grantable_locked(i) || error_ || stop_; });
        ticket_[agent] = -1;
        if (error_ || stop_) return;
      }
      try {
        PendingLayer p;
        {
          ScopedSpan s(trace_, track, "grant " + g_.layers[l].name);
          p = loader_.reserve(l, /*blocking=*/true);
        }
        std::condition_variable* wake = nullptr;
        {
          std::lock_guard<std::mutex> lk(mu_);
          ++next_grant_;
          wake = grantable_agent_locked();
        }
        if (wake) wake->notify_one();
        ResidentLayer r;
        {
          ScopedSpan s(trace_, track, "load " + g_.layers[l].name);
          r = loader_.fill(std::move(p));
        }
        bool waited = false;
        {
          std::lock_guard<std::mutex> lk(mu_);
          res_[l] = std::move(r);
          ready_[l] = true;
          waited = infer_waits_ == l;
        }
        if (waited) infer_cv_.notify_one();
      } catch (...) {
        fail(std::current_exception());
        return;
      }
    }
  }

  Graph& g_;
  WeightLoader& loader_;
  MemoryBudget& budget_;
  Trace* trace_;
  int agents_;
  int32_t lookahead_;  // layers a load may be ahead of the compute
  std::vector<bool> pinned_;
  std::vector<ResidentLayer> res_;
  std::vector<bool> ready_;
  std::vector<bool> loading_;  // loaded by this pass (not resident from an earlier one)
  std::vector<int32_t> to_load_;
  int32_t next_load_ = 0, next_grant_ = 0;
  int32_t consumed_ = 0;  // layers of to_load_ whose compute is done
  bool stop_ = false;
  std::exception_ptr error_;
  std::mutex mu_;
  std::condition_variable infer_cv_;              // the inference agent: its layer, or an error
  std::vector<std::condition_variable> agent_cv_;  // per agent: its ticket may be granted
  std::vector<int32_t> ticket_;                    // per agent: the ticket it waits on, or -1
  int32_t infer_waits_ = -1;                       // the layer the inference agent waits on
  std::vector<std::thread> loaders_;
  std::atomic<uint64_t> outside_{0};
};

}  // namespace

std::unique_ptr<LayerSource> make_pipeload_source(const ExecPlan& plan, Graph& g, WeightLoader& loader,
                                                  MemoryBudget& budget, Trace* trace) {
  return std::make_unique<PipeloadSource>(plan, g, loader, budget, trace);
}

}  // namespace edgerun
