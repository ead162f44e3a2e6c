// Resident and swap layer sources. Pipeload is in pipeload.cpp.
#include "runtime/executor.h"

#include <future>

#include "core/error.h"
#include "runtime/pipeload.h"
#include "runtime/trace.h"

namespace edgerun {

namespace {

// Holds resident layers and frees them; shared by the resident and swap sources.
class LayerTable {
 public:
  LayerTable(Graph& g, WeightLoader& loader) : g_(g), loader_(loader), res_(g.layers.size()) {}
  bool loaded(int32_t l) const { return res_[l].layer >= 0; }
  void load(int32_t l, bool blocking, Trace* trace) {
    ScopedSpan s(trace, "loader 0", "load " + g_.layers[l].name);
    res_[l] = loader_.fill(loader_.reserve(l, blocking));
  }
  void free(int32_t l, Trace* trace) {
    if (!loaded(l)) return;
    ScopedSpan s(trace, "daemon", "free " + g_.layers[l].name);
    loader_.unbind(l);
    res_[l] = ResidentLayer{};
  }
  void free_all() {
    for (size_t l = 0; l < res_.size(); ++l) free(static_cast<int32_t>(l), nullptr);
  }

 private:
  Graph& g_;
  WeightLoader& loader_;
  std::vector<ResidentLayer> res_;
};

class ResidentSource final : public LayerSource {
 public:
  ResidentSource(Graph& g, WeightLoader& loader, Trace* trace) : g_(g), table_(g, loader), trace_(trace) {}
  ~ResidentSource() override { release_all(); }
  void begin_pass() override {
    for (size_t l = 0; l < g_.layers.size(); ++l)
      if (!table_.loaded(static_cast<int32_t>(l))) table_.load(static_cast<int32_t>(l), false, trace_);
  }
  void wait(int32_t) override {}
  void done(int32_t) override {}
  void end_pass(bool failed) noexcept override {
    if (failed) release_all();
  }
  void release_all() noexcept override { table_.free_all(); }

 private:
  Graph& g_;
  LayerTable table_;
  Trace* trace_;
};

class SwapSource final : public LayerSource {
 public:
  SwapSource(const ExecPlan& plan, Graph& g, WeightLoader& loader, MemoryBudget& budget, Trace* trace)
      : plan_(plan), g_(g), table_(g, loader), budget_(budget), trace_(trace), block_of_(g.layers.size(), -1) {
    for (size_t b = 0; b < plan_.blocks.size(); ++b)
      for (int32_t l = plan_.blocks[b].first; l < plan_.blocks[b].second; ++l) block_of_[l] = static_cast<int32_t>(b);
    for (int32_t b : block_of_) ER_CHECK(b >= 0, "swap plan leaves a layer out of every block");
    if (plan_.pinned.empty()) plan_.pinned.assign(g.layers.size(), false);
  }
  ~SwapSource() override { release_all(); }
  void begin_pass() override {}
  void wait(int32_t l) override {
    const int32_t b = block_of_[l];
    if (l != plan_.blocks[b].first) return;
    if (prefetch_.valid() && prefetch_block_ == b) {
      auto f = std::move(prefetch_);
      f.get();  // rethrows a prefetch failure
    } else {
      load_block(b, false);
    }
    if (plan_.prefetch && b + 1 < static_cast<int32_t>(plan_.blocks.size())) {
      prefetch_block_ = b + 1;
      prefetch_ = std::async(std::launch::async, [this, b] { load_block(b + 1, true); });
    }
  }
  void done(int32_t l) override {
    const int32_t b = block_of_[l];
    if (l != plan_.blocks[b].second - 1) return;
    for (int32_t k = plan_.blocks[b].first; k < plan_.blocks[b].second; ++k)
      if (!plan_.pinned[k]) table_.free(k, trace_);
  }
  void end_pass(bool failed) noexcept override {
    if (prefetch_.valid()) {
      // A prefetch may be blocked on budget that a failed pass will never free: cancel it.
      if (failed) budget_.cancel();
      try {
        prefetch_.get();
      } catch (...) {
      }
      if (failed) budget_.reset_cancel();
    }
    for (size_t l = 0; l < g_.layers.size(); ++l)
      if (failed || !plan_.pinned[l]) table_.free(static_cast<int32_t>(l), nullptr);
  }
  void release_all() noexcept override {
    end_pass(true);
  }

 private:
  void load_block(int32_t b, bool blocking) {
    for (int32_t l = plan_.blocks[b].first; l < plan_.blocks[b].second; ++l)
      if (!table_.loaded(l)) table_.load(l, blocking, trace_);
  }
  ExecPlan plan_;
  Graph& g_;
  LayerTable table_;
  MemoryBudget& budget_;
  Trace* trace_;
  std::vector<int32_t> block_of_;
  std::future<void> prefetch_;
  int32_t prefetch_block_ = -1;
};

}  // namespace

std::unique_ptr<LayerSource> make_layer_source(const ExecPlan& plan, Graph& g, WeightLoader& loader,
                                               MemoryBudget& budget, Trace* trace) {
  switch (plan.kind) {
    case Executor::Resident: return std::make_unique<ResidentSource>(g, loader, trace);
    case Executor::Swap: return std::make_unique<SwapSource>(plan, g, loader, budget, trace);
    case Executor::Pipeload: return make_pipeload_source(plan, g, loader, budget, trace);
    case Executor::Auto: break;
  }
  ER_THROW(InternalError, "executor 'auto' must be resolved by the planner first");
}

}  // namespace edgerun
