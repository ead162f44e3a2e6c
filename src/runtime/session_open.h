// What the scheduler needs of a session beyond the public API: the MemoryBudget behind a
// SharedBudget, and a session whose spans go to a trace it shares with other sessions.
#pragma once
#include <memory>
#include <string>

#include "core/memory_budget.h"
#include "edgerun/edgerun.h"
#include "runtime/trace.h"

namespace edgerun {

MemoryBudget& shared_arena(SharedBudget& b);

// As Session::open; trace (optional) receives the session's spans, each track named
// track_prefix + the agent's track ("loader 0", "inference").
std::unique_ptr<Session> open_session(const std::string& model_dir, const SessionOptions& opts, Trace* trace,
                                      const std::string& track_prefix);

}  // namespace edgerun
