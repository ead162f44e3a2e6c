// The scheduler's quotas (docs/SERVE.md "Quotas"): each model's share M_k of the budget M, with
// Σ M_k ≤ M and each M_k at least the model's minimum budget. Given quotas stay; the rest of the
// budget goes where the planner predicts it saves the most time: the split of it, on a grid, that
// minimises Σ weight_k × (model k's predicted pass under M_k), found exactly by dynamic
// programming; what no model's prediction gains from is then shared by weight (water-filling, up
// to what each can use), since larger inputs need more.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "edgerun/scheduler.h"

namespace edgerun {

// Model i's predicted pass (ms) under each of the budgets given, ascending (infinity: no plan).
using PassCurve = std::function<std::vector<double>(size_t model, const std::vector<uint64_t>& budgets)>;

// Cells of the grid the unassigned budget is split on.
constexpr int kQuotaGrid = 32;

// min: each model's minimum budget; useful: the most it can use (UINT64_MAX: more always helps).
// BudgetError when a given quota is below its model's minimum, or the budget below Σ minimums
// (naming the smallest budget that works). Without a curve, the rest is shared by weight alone.
std::vector<uint64_t> assign_quotas(const std::vector<ModelSpec>& specs, const std::vector<uint64_t>& min,
                                    const std::vector<uint64_t>& useful, uint64_t M, const PassCurve& curve = {});

}  // namespace edgerun
