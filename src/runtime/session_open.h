// What the scheduler needs of a session beyond the public API: the MemoryBudget behind a
// SharedBudget, and a session whose spans go to a trace it shares with other sessions.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "core/memory_budget.h"
#include "edgerun/edgerun.h"
#include "runtime/trace.h"

namespace edgerun {

MemoryBudget& shared_arena(SharedBudget& b);

// A steady pass's predicted time over `in` under each of `budgets` (the planner's choice there;
// infinity where no plan fits), from one layer costing: what the scheduler's quotas weigh. `s`
// is a session open_session or Session::open made.
std::vector<double> predicted_at(Session& s, const Inputs& in, const std::vector<uint64_t>& budgets);

// As Session::open; trace (optional) receives the session's spans, each track named
// track_prefix + the agent's track ("loader 0", "inference").
std::unique_ptr<Session> open_session(const std::string& model_dir, const SessionOptions& opts, Trace* trace,
                                      const std::string& track_prefix);

}  // namespace edgerun
