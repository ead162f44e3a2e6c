// Hermes' PipeLoad as a layer source (see executor.h).
#pragma once
#include <memory>

#include "runtime/executor.h"

namespace edgerun {

std::unique_ptr<LayerSource> make_pipeload_source(const ExecPlan& plan, Graph& g, WeightLoader& loader,
                                                  MemoryBudget& budget, Trace* trace);

}  // namespace edgerun
