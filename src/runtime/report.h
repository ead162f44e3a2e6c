// Process memory figures for reports: the peak resident set (VmHWM) from /proc/self/status.
#pragma once
#include <cstdint>

namespace edgerun {

uint64_t process_peak_rss_bytes();     // VmHWM
uint64_t process_current_rss_bytes();  // VmRSS

}  // namespace edgerun
