// iobench: the storage's cold read bandwidth at several queue depths and block sizes, through
// the same DirectReader the executors use. B of the physical bound max(S/B, C) comes from here.
// Each measurement starts cold: the file's cache is dropped and mincore must find no page.
// Leaves out: random-access patterns, writes.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "edgerun/iobench.h"
#include "io/direct_reader.h"

namespace edgerun {

// IoBenchOptions, IoBenchResult, run_iobench: edgerun/iobench.h.

}  // namespace edgerun
