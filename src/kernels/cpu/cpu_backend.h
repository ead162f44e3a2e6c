// The CPU backend: the reference implementation of graph/backend.h over the kernels of this
// folder (OpenBLAS GEMMs, plain loops, the q16 integer kernels). The only kernels file that
// knows the Graph.
#pragma once
#include "graph/backend.h"

namespace edgerun::kernels {

// The process's CPU backend (one instance; the runtime registers it).
Backend& cpu_backend();

}  // namespace edgerun::kernels
