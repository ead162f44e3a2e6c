// A models source may not reach the runtime (cmake/layering.txt): this must not compile.
// forbidden: runtime/engine.h
#include "graph/graph.h"
#include "runtime/engine.h"
