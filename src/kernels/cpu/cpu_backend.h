// The CPU backend: the reference implementation of graph/backend.h over the kernels of this
// folder (OpenBLAS GEMMs, plain loops, the q16 integer kernels). The only kernels file that
// knows the Graph.
#pragma once
#include "graph/backend.h"
#include "graph/nd_bind.h"

namespace edgerun::kernels {

// The process's CPU backend (one instance; the runtime registers it).
Backend& cpu_backend();

// The bind's evaluator (graph/nd_bind.h): shape arithmetic on the CPU backend. Its scratch is a
// few bytes on the heap, outside any budget (the ops it runs have a few elements).
NdEvaluator cpu_nd_evaluator();

}  // namespace edgerun::kernels
