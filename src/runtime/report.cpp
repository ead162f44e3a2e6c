// /proc/self/status parsing for VmHWM / VmRSS.
#include "runtime/report.h"

#include <cstdio>
#include <cstring>

namespace edgerun {

namespace {
uint64_t status_kib(const char* key) {
  FILE* f = std::fopen("/proc/self/status", "r");
  if (!f) return 0;
  char line[256];
  uint64_t v = 0;
  const size_t n = std::strlen(key);
  while (std::fgets(line, sizeof line, f))
    if (std::strncmp(line, key, n) == 0) {
      unsigned long long kb = 0;
      if (std::sscanf(line + n, " %llu", &kb) == 1) v = kb * 1024;
      break;
    }
  std::fclose(f);
  return v;
}
}  // namespace

uint64_t process_peak_rss_bytes() { return status_kib("VmHWM:"); }
uint64_t process_current_rss_bytes() { return status_kib("VmRSS:"); }

}  // namespace edgerun
