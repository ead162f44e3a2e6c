// Implements runtime/scheduler_quotas.h.
#include "runtime/scheduler_quotas.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "core/error.h"
#include "core/memory_budget.h"
#include "edgerun/format.h"

namespace edgerun {

namespace {

constexpr uint64_t kPage = MemoryBudget::kPage;

// Shares `rest` by weight over `open`, none past what it can use, a capped model's excess going
// to the others; then whatever is left over all of them by weight. Returns nothing: adds to q.
void share_by_weight(const std::vector<ModelSpec>& specs, const std::vector<uint64_t>& useful, std::vector<size_t> open,
                     uint64_t rest, std::vector<uint64_t>& q) {
  const std::vector<size_t> all = open;
  while (rest >= kPage && !open.empty()) {
    double w = 0;
    for (size_t i : open) w += specs[i].weight;
    uint64_t given = 0;
    std::vector<size_t> still;
    for (size_t i : open) {
      uint64_t share = static_cast<uint64_t>(static_cast<double>(rest) * specs[i].weight / w) / kPage * kPage;
      const uint64_t room = useful[i] > q[i] ? useful[i] - q[i] : 0;
      if (share >= room) share = room;
      else still.push_back(i);
      q[i] += share;
      given += share;
    }
    rest -= given;
    if (still.size() == open.size()) break;  // nobody capped: the rest is rounding
    open = std::move(still);
  }
  // What every model can use is given: the rest still goes to them (larger inputs need more).
  double w = 0;
  for (size_t i : all) w += specs[i].weight;
  for (size_t i : all)
    q[i] += static_cast<uint64_t>(static_cast<double>(rest) * specs[i].weight / w) / kPage * kPage;
}

// Grid cells of `unit` bytes for each open model: the split of `cells` among them that minimises
// Σ weight × predicted pass (a pass never predicted slower with more memory), fewest cells on ties.
std::vector<int> best_split(const std::vector<ModelSpec>& specs, const std::vector<size_t>& open,
                            const std::vector<uint64_t>& q, uint64_t unit, int cells, const PassCurve& curve) {
  const size_t n = open.size();
  const size_t G = static_cast<size_t>(cells);
  std::vector<std::vector<double>> cost(n);
  for (size_t k = 0; k < n; ++k) {
    std::vector<uint64_t> at;
    for (size_t j = 0; j <= G; ++j) at.push_back(q[open[k]] + j * unit);
    std::vector<double> t = curve(open[k], at);
    ER_CHECK(t.size() == at.size(), "pass curve of model ", open[k], " has ", t.size(), " points, not ", at.size());
    for (size_t j = 0; j <= G; ++j) {
      double c = std::isfinite(t[j]) ? t[j] * specs[open[k]].weight : std::numeric_limits<double>::max() / 4;
      if (j > 0) c = std::min(c, cost[k][j - 1]);
      cost[k].push_back(c);
    }
  }
  // best[k][g]: least cost of models 0..k-1 within g cells; pick[k][g]: model k-1's cells there.
  std::vector<std::vector<double>> best(n + 1, std::vector<double>(G + 1, 0.0));
  std::vector<std::vector<int>> pick(n + 1, std::vector<int>(G + 1, 0));
  for (size_t k = 1; k <= n; ++k)
    for (size_t g = 0; g <= G; ++g) {
      best[k][g] = std::numeric_limits<double>::infinity();
      for (size_t j = 0; j <= g; ++j) {
        const double c = best[k - 1][g - j] + cost[k - 1][j];
        if (c < best[k][g] * (1 - 1e-9)) best[k][g] = c, pick[k][g] = static_cast<int>(j);
      }
    }
  std::vector<int> cells_of(n, 0);
  size_t g = G;
  for (size_t k = n; k >= 1; --k) {
    cells_of[k - 1] = pick[k][g];
    g -= static_cast<size_t>(pick[k][g]);
  }
  return cells_of;
}

}  // namespace

std::vector<uint64_t> assign_quotas(const std::vector<ModelSpec>& specs, const std::vector<uint64_t>& min,
                                    const std::vector<uint64_t>& useful, uint64_t M, const PassCurve& curve) {
  const size_t n = specs.size();
  std::vector<uint64_t> q(n, 0);
  uint64_t fixed = 0, need = 0;
  std::string parts;
  for (size_t i = 0; i < n; ++i) {
    parts += (i ? ", " : "") + specs[i].name + " " + format_bytes(specs[i].quota_bytes ? specs[i].quota_bytes : min[i]);
    if (specs[i].quota_bytes) {
      if (specs[i].quota_bytes < min[i])
        ER_THROW(BudgetError, "model '", specs[i].name, "': its quota of ", format_bytes(specs[i].quota_bytes),
                 " is below its minimum budget of ", format_bytes(min[i]),
                 " (its largest block with the activations it needs)");
      q[i] = specs[i].quota_bytes;
      fixed += q[i];
    } else {
      need += min[i];
    }
  }
  if (fixed + need > M)
    ER_THROW(BudgetError, "the budget of ", format_bytes(M), " is below the models' minimum needs of ",
             format_bytes(fixed + need), " (", parts, "): give at least ", format_bytes(fixed + need));
  std::vector<size_t> open;
  for (size_t i = 0; i < n; ++i)
    if (!specs[i].quota_bytes) {
      q[i] = min[i];
      open.push_back(i);
    }
  uint64_t rest = M - fixed - need;
  const uint64_t unit = rest / kQuotaGrid / kPage * kPage;
  if (curve && unit > 0 && !open.empty()) {
    const std::vector<int> cells = best_split(specs, open, q, unit, kQuotaGrid, curve);
    for (size_t k = 0; k < open.size(); ++k) {
      q[open[k]] += static_cast<uint64_t>(cells[k]) * unit;
      rest -= static_cast<uint64_t>(cells[k]) * unit;
    }
  }
  share_by_weight(specs, useful, open, rest, q);
  return q;
}

}  // namespace edgerun
