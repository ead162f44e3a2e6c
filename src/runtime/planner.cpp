// make_plan: candidate plans per executor, each scored by simulate_plan.
#include "runtime/planner.h"


#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "core/error.h"
#include "core/memory_budget.h"
#include "runtime/pipeload.h"
#include "runtime/weight_loader.h"
#include "edgerun/format.h"

namespace edgerun {

namespace {

// Pipeload: loads granted in layer order when a loader is free and memory allows; the storage
// device transfers one layer at a time at its bandwidth (reads already run at queue depth
// inside), and a load's fixed latency overlaps another agent's transfer; compute in order; a
// layer is freed when its compute ends.
std::pair<double, uint64_t> sim_pipeload(const ExecPlan& p, const std::vector<LayerCost>& L,
                                         uint64_t reserved, uint64_t budget, bool first) {
  const size_t n = L.size();
  std::vector<double> agent_free(static_cast<size_t>(std::max(1, p.agents)), 0.0);
  std::vector<std::pair<double, uint64_t>> held;  // (free time, bytes) of granted layers
  uint64_t pinned_bytes = 0;
  for (size_t i = 0; i < n; ++i)
    if (p.pinned[i] && !first) pinned_bytes += L[i].resident;
  double storage_free = 0, compute_end = 0, last_grant = 0;
  uint64_t peak = reserved + pinned_bytes;
  const uint64_t cap = budget ? budget : std::numeric_limits<uint64_t>::max();
  // Compute ends of the layers this pass loads, in order: a load is granted only once the
  // compute is within pipeload_lookahead layers of it, as the loaders are held.
  const size_t window = static_cast<size_t>(pipeload_lookahead(p.agents));
  std::vector<double> loaded_done;
  for (size_t i = 0; i < n; ++i) {
    double ready = 0;
    const bool loads = first || !p.pinned[i];
    if (loads) {
      auto a = std::min_element(agent_free.begin(), agent_free.end());
      double t = std::max(*a, last_grant);
      if (loaded_done.size() >= window) t = std::max(t, loaded_done[loaded_done.size() - window]);
      // wait for frees until the layer's peak fits
      std::sort(held.begin(), held.end());
      // still_freeing: count layers whose compute ends at `when` too. The daemon frees them
      // after the compute is done, so a load granted at that instant may come first where the
      // budget has room for both (the grant only waits for the free where it has not).
      auto in_use_at = [&](double when, bool still_freeing = false) {
        uint64_t u = reserved + pinned_bytes;
        for (auto& h : held)
          if (h.first > when || (still_freeing && h.first == when)) u += h.second;
        return u;
      };
      size_t k = 0;
      while (in_use_at(t) + L[i].peak > cap && k < held.size()) t = std::max(t, held[k++].first);
      const uint64_t racing = in_use_at(t, true) + L[i].peak;
      peak = std::max(peak, racing <= cap ? racing : in_use_at(t) + L[i].peak);
      last_grant = t;
      double start = std::max(t + L[i].load_latency_ms, storage_free);
      storage_free = start + (L[i].load_ms - L[i].load_latency_ms);
      ready = storage_free;
      *a = ready;
    }
    double start = std::max(compute_end, ready);
    compute_end = start + L[i].compute_ms;
    if (loads) loaded_done.push_back(compute_end);
    // Pinned layers loaded in the first pass are never freed; in later passes they are already
    // counted in pinned_bytes.
    if (loads)
      held.emplace_back(p.pinned[i] ? std::numeric_limits<double>::infinity() : compute_end, L[i].resident);
  }
  return {compute_end, peak};
}

// Swap: blocks in order; block b+1 is read during block b when prefetching and memory allows.
std::pair<double, uint64_t> sim_swap(const ExecPlan& p, const std::vector<LayerCost>& L,
                                     uint64_t reserved, uint64_t budget, bool first) {
  auto block_bytes = [&](size_t b, bool use_peak) {
    uint64_t s = 0;
    for (int32_t l = p.blocks[b].first; l < p.blocks[b].second; ++l)
      if (first || !p.pinned[l]) s += use_peak ? L[l].peak : L[l].resident;
    return s;
  };
  auto block_time = [&](size_t b, bool load) {
    double t = 0;
    for (int32_t l = p.blocks[b].first; l < p.blocks[b].second; ++l)
      t += load ? ((first || !p.pinned[l]) ? L[l].load_ms : 0.0) : L[l].compute_ms;
    return t;
  };
  uint64_t pinned = 0;
  if (!first)
    for (size_t l = 0; l < L.size(); ++l)
      if (p.pinned[l]) pinned += L[l].resident;
  const uint64_t cap = budget ? budget : std::numeric_limits<uint64_t>::max();
  double t = 0, load_done = block_time(0, true);
  uint64_t peak = reserved + pinned + block_bytes(0, true);
  for (size_t b = 0; b < p.blocks.size(); ++b) {
    double start = std::max(t, load_done);
    double end = start + block_time(b, false);
    if (b + 1 < p.blocks.size()) {
      const uint64_t both = reserved + pinned + block_bytes(b, false) + block_bytes(b + 1, true);
      if (p.prefetch && both <= cap) {
        load_done = start + block_time(b + 1, true);
        peak = std::max(peak, both);
      } else {
        load_done = end + block_time(b + 1, true);
        peak = std::max(peak, reserved + pinned + block_bytes(b + 1, true));
      }
    }
    t = end;
  }
  return {t, peak};
}
}  // namespace

std::pair<double, uint64_t> simulate_plan(const ExecPlan& p, const std::vector<LayerCost>& layers,
                                          uint64_t reserved, uint64_t budget, bool first_pass) {
  switch (p.kind) {
    case Executor::Resident: {
      double t = 0;
      uint64_t m = reserved;
      for (const auto& l : layers) {
        if (first_pass) t += l.load_ms;
        m += l.resident;
      }
      uint64_t max_extra = 0;
      for (const auto& l : layers) max_extra = std::max(max_extra, l.peak - l.resident);
      for (const auto& l : layers) t += l.compute_ms;
      return {t, m + max_extra};
    }
    case Executor::Swap: return sim_swap(p, layers, reserved, budget, first_pass);
    case Executor::Pipeload: return sim_pipeload(p, layers, reserved, budget, first_pass);
    case Executor::Auto: break;
  }
  ER_THROW(InternalError, "simulate_plan: unresolved executor");
}

namespace {
// " = 12.5% of the model's weights", rounded up so that the percentage given works.
std::string min_budget_percent(uint64_t min_budget, uint64_t weight_bytes) {
  if (!weight_bytes) return "";
  const double pct = std::ceil(1000.0 * static_cast<double>(min_budget) / static_cast<double>(weight_bytes)) / 10.0;
  char buf[96];
  std::snprintf(buf, sizeof buf, " = %.1f%% of the model's %s of weights", pct,
                format_bytes(static_cast<double>(weight_bytes)).c_str());
  return buf;
}
}  // namespace

PlanResult make_plan(const Graph& g, const WeightLoader& loader, const CostModel& cm, const PlanRequest& req) {
  PlanResult r;
  const size_t n = g.layers.size();
  uint64_t max_peak = 0;
  for (size_t i = 0; i < n; ++i) {
    LayerCost c;
    c.name = g.layers[i].name;
    c.bytes = g.layer_weight_bytes(static_cast<int32_t>(i));
    LayerFootprint fp = loader.footprint(static_cast<int32_t>(i));
    c.resident = fp.resident;
    c.peak = fp.peak;
    c.huge = fp.huge;
    c.flops = g.layer_flops(static_cast<int32_t>(i), req.B, req.T, req.past);
    // A load takes the time of the bytes it reads (what the profiler fits t_in on), not of the
    // buffer it reads into: rounding a buffer up to huge pages reads nothing more.
    c.load_ms = c.bytes ? cm.load_ms(c.bytes, static_cast<int32_t>(i)) : 0.0;
    c.load_latency_ms = c.bytes ? cm.load_latency_ms(c.bytes, static_cast<int32_t>(i)) : 0.0;
    c.compute_ms = cm.compute_ms(c.flops, static_cast<int32_t>(i));
    r.full_pass_bytes += c.bytes;
    r.compute_ms += c.compute_ms;
    max_peak = std::max(max_peak, fp.limited_peak);
    r.layers.push_back(c);
  }
  r.model_weight_bytes = req.model_weight_bytes;
  r.min_budget = req.reserved_bytes + max_peak;
  const uint64_t budget = req.budget;
  if (budget && budget < r.min_budget)
    ER_THROW(BudgetError, "budget ", format_bytes_exact(budget), " is below the minimum ", format_bytes_exact(r.min_budget),
             min_budget_percent(r.min_budget, req.model_weight_bytes),
             g.nd ? std::string(" for this model and these input shapes: largest layer ")
             : req.past > 0
                 // generation: planned at its decode steps, with the KV cache of every position
                 ? " for this model and a generation of " + std::to_string(req.B) + " x " +
                       std::to_string(req.past + req.T) + " positions (prompt and new tokens): largest layer "
                 : " for this model and an input of " + std::to_string(req.B) + " x " + std::to_string(req.T) +
                       " tokens: largest layer ",
             format_bytes_exact(max_peak), g.nd ? " + activations and constants " : " + activation arena, KV cache and logits ",
             format_bytes_exact(req.reserved_bytes),
             g.nd ? " (a smaller input needs less)" : " (fewer tokens or a smaller batch need less)");
  return choose_plan(std::move(r), req);
}

PlanResult choose_plan(PlanResult r, const PlanRequest& req) {
  const size_t n = r.layers.size();
  const uint64_t budget = req.budget;
  uint64_t total_resident = 0, max_extra = 0;
  for (const LayerCost& c : r.layers) {
    total_resident += c.resident;
    max_extra = std::max(max_extra, c.peak - c.resident);
  }
  const uint64_t resident_need = req.reserved_bytes + total_resident + max_extra;
  const bool fits = !budget || resident_need <= budget;

  auto finish = [&](ExecPlan p) {
    if (p.pinned.empty()) p.pinned.assign(n, false);
    r.plan = p;
    auto [first_ms, peak1] = simulate_plan(p, r.layers, req.reserved_bytes, budget, true);
    auto [steady_ms, peak2] = simulate_plan(p, r.layers, req.reserved_bytes, budget, false);
    r.predicted_first_ms = first_ms;
    r.predicted_ms = steady_ms;
    r.predicted_peak = std::max(peak1, peak2);
    r.streamed_bytes = 0;
    if (p.kind != Executor::Resident)
      for (size_t i = 0; i < n; ++i)
        if (!p.pinned[i]) r.streamed_bytes += r.layers[i].bytes;
    return r;
  };

  if (req.kind == Executor::Resident || (req.kind == Executor::Auto && fits)) {
    if (!fits)
      ER_THROW(BudgetError, "the resident executor needs ", format_bytes_exact(resident_need), " but the budget is ",
               format_bytes_exact(budget), "; use --executor swap|pipeload|auto");
    ExecPlan p;
    p.kind = Executor::Resident;
    return finish(p);
  }
  const uint64_t cap = budget ? budget : std::numeric_limits<uint64_t>::max();

  auto pinned_bytes = [&](const std::vector<bool>& pin) {
    uint64_t b = 0;
    for (size_t i = 0; i < n; ++i)
      if (pin[i]) b += r.layers[i].resident;
    return b;
  };
  // Room left to stream with `pin` resident, in units of the largest streamed layer's peak.
  auto stream_room = [&](const std::vector<bool>& pin) {
    uint64_t rest_peak = 0;
    for (size_t i = 0; i < n; ++i)
      if (!pin[i]) rest_peak = std::max(rest_peak, r.layers[i].peak);
    const uint64_t used = req.reserved_bytes + pinned_bytes(pin);
    if (used > cap) return 0.0;
    if (rest_peak == 0) return std::numeric_limits<double>::infinity();  // nothing left to stream
    return static_cast<double>(cap - used) / static_cast<double>(rest_peak);
  };
  // Sets of layers kept resident, each leaving room to stream the rest (pinning every layer is
  // the resident executor's job). Prefixes, which also remove the pipeline's fill; and the
  // layers whose loads the stream hides worst, first by size (a CNN's weights sit at its end,
  // beside little compute) and first by load time over compute time: a prefix of such a model
  // saves few bytes for the room it takes.
  std::vector<std::vector<bool>> pin_sets;
  auto add_set = [&](std::vector<bool> pin) {
    bool all = true;
    for (size_t i = 0; i < n; ++i) all &= pin[i] || r.layers[i].bytes == 0;
    if (all || stream_room(pin) < 1.0) return false;
    if (std::find(pin_sets.begin(), pin_sets.end(), pin) == pin_sets.end()) pin_sets.push_back(std::move(pin));
    return true;
  };
  {
    std::vector<bool> pin(n, false);
    add_set(pin);
    for (size_t k = 0; k < n; ++k) {
      pin[k] = r.layers[k].bytes > 0;
      if (!add_set(pin)) break;
    }
  }
  auto by_order = [&](auto worse) {
    std::vector<size_t> order;
    for (size_t i = 0; i < n; ++i)
      if (r.layers[i].bytes > 0) order.push_back(i);
    std::stable_sort(order.begin(), order.end(), worse);
    // At most kSteps sets per order, evenly spaced in the number of layers pinned: each set
    // costs simulations, and neighbouring sets differ little.
    constexpr size_t kSteps = 32;
    const size_t stride = std::max<size_t>(1, order.size() / kSteps);
    std::vector<bool> pin(n, false);
    for (size_t j = 0; j < order.size(); ++j) {
      pin[order[j]] = true;
      if (stream_room(pin) < 1.0) break;
      if ((j + 1) % stride == 0 || j + 1 == order.size()) add_set(pin);
    }
  };
  by_order([&](size_t a, size_t b) { return r.layers[a].bytes > r.layers[b].bytes; });
  by_order([&](size_t a, size_t b) {
    const LayerCost &x = r.layers[a], &y = r.layers[b];
    return x.load_ms * std::max(y.compute_ms, 1e-6) > y.load_ms * std::max(x.compute_ms, 1e-6);
  });
  if (pin_sets.empty()) pin_sets.emplace_back(n, false);

  struct Cand {
    ExecPlan p;
    double score;
  };
  std::vector<Cand> cands;
  auto consider = [&](ExecPlan p) {
    auto [first_ms, peak1] = simulate_plan(p, r.layers, req.reserved_bytes, budget, true);
    auto [steady_ms, peak2] = simulate_plan(p, r.layers, req.reserved_bytes, budget, false);
    if (std::max(peak1, peak2) > cap) return;
    const double later = static_cast<double>(std::max<int64_t>(req.passes, 1) - 1);
    cands.push_back({p, first_ms + later * steady_ms});
  };
  if (req.kind == Executor::Pipeload || req.kind == Executor::Auto) {
    std::vector<int> agents;
    if (req.agents > 0) agents.push_back(req.agents);
    else agents = {1, 2, 3, 4};
    for (const auto& pin : pin_sets)
      for (int a : agents) {
        // The storage gives its bandwidth only to a deep queue, and the simulation's storage
        // does not model depth: a stream with room for one layer in flight besides the one
        // computing runs measurably below B, and the bytes pinning saves do not pay for it
        // (docs/STREAMING.md). So pinning must leave room for a layer per agent plus the one
        // computing.
        if (std::find(pin.begin(), pin.end(), true) != pin.end() && stream_room(pin) < a + 1) continue;
        ExecPlan p;
        p.kind = Executor::Pipeload;
        p.agents = a;
        p.pinned = pin;
        consider(p);
      }
  }
  if (req.kind == Executor::Swap || req.kind == Executor::Auto) {
    for (const auto& pin : pin_sets) {
      ExecPlan p;
      p.kind = Executor::Swap;
      p.prefetch = req.prefetch;
      p.pinned = pin;
      const uint64_t room = cap - std::min(cap, req.reserved_bytes + pinned_bytes(pin));
      const uint64_t block_cap = p.prefetch ? room / 2 : room;
      int32_t start = 0;
      uint64_t acc = 0;
      for (size_t i = 0; i < n; ++i) {
        uint64_t add = p.pinned[i] ? 0 : r.layers[i].peak;
        if (static_cast<int32_t>(i) > start && acc + add > block_cap) {
          p.blocks.emplace_back(start, static_cast<int32_t>(i));
          start = static_cast<int32_t>(i);
          acc = 0;
        }
        acc += add;
      }
      p.blocks.emplace_back(start, static_cast<int32_t>(n));
      consider(p);
    }
  }
  if (cands.empty())
    ER_THROW(BudgetError, "no plan fits the budget ", format_bytes_exact(budget), "; the minimum is ", format_bytes_exact(r.min_budget));
  // Least predicted latency; ties go to fewer agents and fewer pinned layers (first considered).
  auto best = std::min_element(cands.begin(), cands.end(), [](const Cand& a, const Cand& b) {
    return a.score < b.score * (1 - 1e-9);
  });
  return finish(best->p);
}

}  // namespace edgerun
