// Executors as layer sources: the inference loop asks wait(layer) before computing a layer and
// calls done(layer) after; the source decides when weights are read and freed.
//   resident: load everything once, keep it.
//   swap (SwapNet): per block, swap-in -> execute -> swap-out; optional one-block prefetch.
//   pipeload (Hermes): N loading agents read layers in parallel, granted budget strictly in layer
//     order (tickets); the inference agent waits on per-layer "ready" and, as the daemon agent,
//     frees each layer right after use, waking loaders blocked on the budget (flow control).
// Layers marked pinned stay resident across passes (residency across runs and tokens).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/memory_budget.h"
#include "graph/graph.h"
#include "runtime/weight_loader.h"

namespace edgerun {

class Trace;

struct ExecPlan {
  Executor kind = Executor::Resident;
  std::vector<std::pair<int32_t, int32_t>> blocks;  // swap: [first, end) layer ranges
  int agents = 1;                                   // pipeload: loading agents
  bool prefetch = false;                            // swap: load block b+1 during block b
  std::vector<bool> pinned;                         // per layer: stays resident between passes
};

class LayerSource {
 public:
  virtual ~LayerSource() = default;
  virtual void begin_pass() = 0;
  virtual void wait(int32_t layer) = 0;   // returns when the layer's slots are bound; rethrows load errors
  virtual void done(int32_t layer) = 0;   // the layer's compute is finished
  // Ends a pass, successful or not: joins agents and releases every non-pinned layer. After a
  // failure (abort) it also releases pinned layers so the next pass starts clean.
  virtual void end_pass(bool failed) noexcept = 0;
  virtual void release_all() noexcept = 0;
  // The process's resident memory outside the budget, measured at the end of a pass while its
  // agent threads were still alive (their stacks and thread caches are part of the baseline
  // during a pass, and gone once they are joined); 0 for a source without threads.
  virtual uint64_t outside_budget_bytes() const { return 0; }
};

std::unique_ptr<LayerSource> make_layer_source(const ExecPlan& plan, Graph& g, WeightLoader& loader,
                                               MemoryBudget& budget, Trace* trace);

}  // namespace edgerun
