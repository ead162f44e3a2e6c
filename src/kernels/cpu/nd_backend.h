// The CPU backend's N-D ops (OpKind::Conv ... ShapeOf): an OpCall's Tensors onto the kernels of
// nd_kernels.h. Called by cpu_backend.cpp for every kind whose schema is N-D.
#pragma once
#include "graph/backend.h"

namespace edgerun::kernels {

Support nd_supports(const Graph& g, const Op& op);
uint64_t nd_scratch_bytes(const Graph& g, const Op& op);
void run_nd(const OpCall& c);

}  // namespace edgerun::kernels
