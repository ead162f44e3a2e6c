// Hermes' PipeLoad as a layer source (see executor.h).
#pragma once
#include <memory>

#include "runtime/executor.h"

namespace edgerun {

// Layers a pipeload load may run ahead of the compute (see pipeload.cpp); the planner's
// simulation holds loads to the same window.
inline int pipeload_lookahead(int agents) { return (agents < 1 ? 1 : agents) + 2; }

std::unique_ptr<LayerSource> make_pipeload_source(const ExecPlan& plan, Graph& g, WeightLoader& loader,
                                                  MemoryBudget& budget, Trace* trace);

}  // namespace edgerun
