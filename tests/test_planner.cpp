// Planner's pipeload simulation: a load's fixed latency is hidden by a second loading agent,
// never by the first alone, and the storage transfers one layer at a time whatever the agents;
// its memory peak follows the loaders' window.
#include <gtest/gtest.h>

#include <vector>

#include "runtime/planner.h"

using namespace edgerun;

namespace {

std::vector<LayerCost> alike_layers(int n, double load_ms, double latency_ms, double compute_ms) {
  std::vector<LayerCost> L(static_cast<size_t>(n));
  for (auto& l : L) {
    l.bytes = l.resident = l.peak = 1 << 20;
    l.load_ms = load_ms;
    l.load_latency_ms = latency_ms;
    l.compute_ms = compute_ms;
  }
  return L;
}

double predicted(const std::vector<LayerCost>& L, int agents) {
  ExecPlan p;
  p.kind = Executor::Pipeload;
  p.agents = agents;
  p.pinned.assign(L.size(), false);
  return simulate_plan(p, L, 0, 0, true).first;
}

}  // namespace

TEST(PlannerPipeload, SecondAgentHidesTheLoadLatency) {
  // Storage-bound: 10 layers of 4 ms loads (1 ms of it latency), 1 ms compute.
  const auto L = alike_layers(10, 4.0, 1.0, 1.0);
  const double one = predicted(L, 1), two = predicted(L, 2), three = predicted(L, 3);
  EXPECT_DOUBLE_EQ(one, 10 * 4.0 + 1.0);       // every load pays its latency in turn
  EXPECT_DOUBLE_EQ(two, 1.0 + 10 * 3.0 + 1.0);  // only the first load's latency shows
  EXPECT_DOUBLE_EQ(three, two);                 // the transfers themselves are serial
}

TEST(PlannerPipeload, WithoutLatencyAgentsChangeNothing) {
  const auto L = alike_layers(6, 4.0, 0.0, 1.0);
  EXPECT_DOUBLE_EQ(predicted(L, 1), predicted(L, 3));
}

TEST(PlannerPipeload, PredictedPeakFollowsTheLoadersWindow) {
  // Compute-bound (1 ms loads, 10 ms compute): unlimited, loads would all run ahead; the loaders
  // stay pipeload_lookahead(agents) layers ahead, and a layer whose compute ends as the next
  // load is granted may not be freed yet. So agents + 2 ahead, plus the one computing, plus the
  // one finishing: 2 agents hold at most 5 layers, 1 agent 4; and under a budget of 3 layers,
  // the budget.
  const auto L = alike_layers(20, 1.0, 0.0, 10.0);
  const uint64_t layer = 1 << 20, reserved = 4096;
  auto peak = [&](int agents, uint64_t budget) {
    ExecPlan p;
    p.kind = Executor::Pipeload;
    p.agents = agents;
    p.pinned.assign(L.size(), false);
    return simulate_plan(p, L, reserved, budget, true).second;
  };
  EXPECT_EQ(peak(2, 0), reserved + 5 * layer);
  EXPECT_EQ(peak(1, 0), reserved + 4 * layer);
  EXPECT_EQ(peak(2, reserved + 3 * layer), reserved + 3 * layer);
}

TEST(PlannerResidency, KeepsTheLayersWhoseLoadsTheStreamCannotHideWhereverTheyAre) {
  // A CNN's shape: 12 small layers of long compute, then 4 large ones of short compute. A budget
  // that holds the large ones but not everything: a pinned prefix saves only the small layers'
  // loads, which the compute hides anyway; keeping the large ones removes the stall.
  std::vector<LayerCost> L = alike_layers(12, 0.5, 0.0, 10.0);
  for (int k = 0; k < 4; ++k) {
    LayerCost big;
    big.bytes = big.resident = big.peak = 16 << 20;
    big.load_ms = 16.0;
    big.compute_ms = 1.0;
    L.push_back(big);
  }
  PlanResult r;
  r.layers = L;
  r.min_budget = 16 << 20;
  PlanRequest req;
  req.kind = Executor::Pipeload;
  req.agents = 1;
  req.passes = 100;
  req.budget = 4 * (16u << 20) + 8 * (1u << 20);  // the large layers and room to stream the rest
  const PlanResult best = choose_plan(r, req);
  for (size_t i = 12; i < L.size(); ++i) EXPECT_TRUE(best.plan.pinned[i]) << "layer " << i;
  // Steady state: nothing large streams, so a pass is its compute, plus the first small load
  // unless that is kept too.
  EXPECT_GE(best.predicted_ms, 12 * 10.0 + 4 * 1.0);
  EXPECT_LE(best.predicted_ms, 12 * 10.0 + 4 * 1.0 + 0.5);
  EXPECT_LE(best.predicted_peak, req.budget);
  // Every prefix that fits leaves at least the last large load exposed.
  ExecPlan prefix = best.plan;
  prefix.pinned.assign(L.size(), false);
  for (size_t i = 0; i < 12; ++i) prefix.pinned[i] = true;
  EXPECT_GT(simulate_plan(prefix, L, 0, req.budget, false).first, best.predicted_ms + 10.0);
}
