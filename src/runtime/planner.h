// Planner: chooses the executor, block boundaries, loading agents and the layers kept resident
// across passes that minimise predicted latency with predicted peak <= budget. Predictions come
// from an event simulation of each executor over the cost model; the minimum budget is computed
// before any work (largest layer at 4 KiB alignment + the memory reserved before loads:
// activation arena, KV cache, logits).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "runtime/cost_model.h"
#include "runtime/executor.h"

namespace edgerun {

class WeightLoader;

struct PlanRequest {
  Executor kind = Executor::Auto;
  int agents = 0;                 // pipeload: 0 lets the planner choose
  bool prefetch = true;           // swap
  uint64_t budget = 0;            // 0: unlimited
  uint64_t reserved_bytes = 0;    // activation arena + KV cache + logits, taken before loads
  int64_t B = 1, T = 1, past = 0; // pass shape for FLOPs
  uint64_t model_weight_bytes = 0;  // the base of --budget N%, for the error's percentage
  // Passes the plan will serve (calls x tokens): the score is the first pass plus passes - 1
  // steady ones, so a single pass never pins layers that only later passes would reuse.
  int64_t passes = 1;
  bool operator==(const PlanRequest&) const = default;
};

struct LayerCost {
  std::string name;
  uint64_t bytes = 0, resident = 0, peak = 0;
  uint64_t huge = 0;  // the part of resident in huge pages (LayerFootprint::huge)
  double flops = 0, load_ms = 0, compute_ms = 0;
  double load_latency_ms = 0;  // part of load_ms during which the storage is not transferring
};

struct PlanResult {
  ExecPlan plan;
  double predicted_ms = 0;        // one pass in steady state (pinned layers already resident)
  double predicted_first_ms = 0;  // the first pass (pinned layers loaded too)
  uint64_t predicted_peak = 0;    // budget bytes at the worst moment
  uint64_t min_budget = 0;
  uint64_t full_pass_bytes = 0;   // bytes read by a fully streamed pass
  uint64_t model_weight_bytes = 0;  // the model's weight bytes (Graph::model_weight_bytes)
  uint64_t streamed_bytes = 0;    // bytes read per steady-state pass
  double compute_ms = 0;          // sum of layer compute predictions
  std::vector<LayerCost> layers;
};

// Throws BudgetError naming the minimum when the budget is below it, and when a forced
// executor (resident) cannot fit.
PlanResult make_plan(const Graph& g, const WeightLoader& loader, const CostModel& cm, const PlanRequest& req);

// make_plan's choice once the layers' costs are known (r.layers, r.min_budget checked): the
// executor, blocks, agents and resident set of least predicted latency. Exposed for tests.
PlanResult choose_plan(PlanResult r, const PlanRequest& req);

// Event simulation of one pass (exposed for tests): returns {latency_ms, peak_bytes}.
std::pair<double, uint64_t> simulate_plan(const ExecPlan& p, const std::vector<LayerCost>& layers,
                                          uint64_t reserved, uint64_t budget, bool first_pass);

}  // namespace edgerun
