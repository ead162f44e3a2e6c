// core is the bottom layer: the public session header (owned by runtime) is not in its tree.
// forbidden: edgerun/edgerun.h
#include "edgerun/array.h"
#include "edgerun/edgerun.h"
