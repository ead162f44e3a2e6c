// Prometheus text exposition (format 0.0.4) of the scheduler's counters for GET /metrics.
#pragma once
#include <cstdint>
#include <string>

#include "edgerun/scheduler.h"

namespace edgerun::serve {

std::string prometheus_text(const SchedulerStats& s, bool draining, uint64_t allowance_bytes);

}  // namespace edgerun::serve
