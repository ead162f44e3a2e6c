// The CLI sees only the public API: src/ headers are not in its tree.
// forbidden: core/error.h
#include "edgerun/edgerun.h"
#include "core/error.h"
