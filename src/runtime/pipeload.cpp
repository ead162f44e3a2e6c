// PipeLoad (Hermes): N loading agents, one inference agent (the caller), one daemon agent.
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
#include <deque>
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
        loading_(g.layers.size(), false) {
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
    daemon_ = std::thread([this] { daemon_main(); });
  }

  void wait(int32_t l) override {
    std::unique_lock<std::mutex> lk(mu_);
    if (!ready_[l]) {
      double t0 = trace_ ? trace_->now_us() : 0;
      cv_.wait(lk, [&] { return ready_[l] || error_; });
      if (trace_) trace_->span("inference", "stall " + g_.layers[l].name, t0, trace_->now_us());
    }
    if (error_) std::rethrow_exception(error_);
  }

  void done(int32_t l) override {
    std::lock_guard<std::mutex> lk(mu_);
    if (loading_[l]) ++consumed_;  // opens the loaders' window by one layer
    if (!pinned_[l]) free_queue_.push_back(l);
    cv_.notify_all();
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
    cv_.notify_all();
    if (failed) budget_.cancel();  // wake loaders blocked on budget that will never be freed
    for (auto& t : loaders_) t.join();
    loaders_.clear();
    if (daemon_.joinable()) daemon_.join();
    if (failed) budget_.reset_cancel();
    std::lock_guard<std::mutex> lk(mu_);
    for (size_t l = 0; l < res_.size(); ++l)
      if (ready_[l] && (failed || !pinned_[l])) free_locked(static_cast<int32_t>(l));
    // Layers reserved but not filled were released by their loader on error.
  }

  void release_all() noexcept override {
    if (!loaders_.empty() || daemon_.joinable()) end_pass(true);
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

  void loader_main(int agent) {
    const std::string track = "loader " + std::to_string(agent);
    for (;;) {
      int32_t i, l;
      {
        std::unique_lock<std::mutex> lk(mu_);
        if (stop_ || error_ || next_load_ >= static_cast<int32_t>(to_load_.size())) return;
        i = next_load_++;
        l = to_load_[i];
        cv_.wait(lk, [&] { return (next_grant_ == i && i < consumed_ + lookahead_) || error_ || stop_; });
        if (error_ || stop_) return;
      }
      try {
        PendingLayer p;
        {
          ScopedSpan s(trace_, track, "grant " + g_.layers[l].name);
          p = loader_.reserve(l, /*blocking=*/true);
        }
        {
          std::lock_guard<std::mutex> lk(mu_);
          ++next_grant_;
        }
        cv_.notify_all();
        ResidentLayer r;
        {
          ScopedSpan s(trace_, track, "load " + g_.layers[l].name);
          r = loader_.fill(std::move(p));
        }
        std::lock_guard<std::mutex> lk(mu_);
        res_[l] = std::move(r);
        ready_[l] = true;
        cv_.notify_all();
      } catch (...) {
        {
          std::lock_guard<std::mutex> lk(mu_);
          if (!error_) error_ = std::current_exception();
        }
        budget_.cancel();
        cv_.notify_all();
        return;
      }
    }
  }

  void daemon_main() {
    std::unique_lock<std::mutex> lk(mu_);
    for (;;) {
      cv_.wait(lk, [&] { return !free_queue_.empty() || stop_; });
      while (!free_queue_.empty()) {
        int32_t l = free_queue_.front();
        free_queue_.pop_front();
        ResidentLayer r = std::move(res_[l]);
        loader_.unbind(l);
        ready_[l] = false;
        lk.unlock();
        {
          ScopedSpan s(trace_, "daemon", "free " + g_.layers[l].name);
          r = ResidentLayer{};  // releases the buffers, waking loaders blocked on the budget
        }
        lk.lock();
      }
      if (stop_) return;
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
  std::deque<int32_t> free_queue_;
  bool stop_ = false;
  std::exception_ptr error_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::thread> loaders_;
  std::atomic<uint64_t> outside_{0};
  std::thread daemon_;
};

}  // namespace

std::unique_ptr<LayerSource> make_pipeload_source(const ExecPlan& plan, Graph& g, WeightLoader& loader,
                                                  MemoryBudget& budget, Trace* trace) {
  return std::make_unique<PipeloadSource>(plan, g, loader, budget, trace);
}

}  // namespace edgerun
