// Planner's pipeload simulation: a load's fixed latency is hidden by a second loading agent,
// never by the first alone, and the storage transfers one layer at a time whatever the agents.
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
  p.kind = ExecutorKind::Pipeload;
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
