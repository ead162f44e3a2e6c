#include "edgerun/format.h"

#include <cstdio>

namespace edgerun {

std::string format_bytes(double b) {
  char buf[64];
  if (b >= 1073741824.0) std::snprintf(buf, sizeof buf, "%.2f GiB", b / 1073741824.0);
  else if (b >= 1048576.0) std::snprintf(buf, sizeof buf, "%.2f MiB", b / 1048576.0);
  else if (b >= 1024.0) std::snprintf(buf, sizeof buf, "%.2f KiB", b / 1024.0);
  else std::snprintf(buf, sizeof buf, "%.0f B", b);
  return buf;
}

std::string format_bytes_exact(uint64_t b) {
  return format_bytes(static_cast<double>(b)) + " (" + std::to_string(b) + " bytes)";
}

}  // namespace edgerun
