// Token bucket with debt: a caller takes its bytes at once and sleeps off the deficit outside the
// lock, so concurrent readers queue behind each other in arrival order.
#include "io/throttle.h"

#include <algorithm>
#include <thread>

#include "core/error.h"

namespace edgerun {

Throttle::Throttle(double bytes_per_s, uint64_t burst_bytes)
    : rate_(bytes_per_s), burst_(static_cast<double>(burst_bytes)), tokens_(burst_),
      last_(Clock::now()) {
  ER_CHECK(bytes_per_s > 0 && bytes_per_s < 1e15, "throttle rate ", bytes_per_s);
}

void Throttle::acquire(uint64_t bytes) {
  double deficit;
  {
    std::lock_guard<std::mutex> lk(mu_);
    const auto now = Clock::now();
    const double dt = std::chrono::duration<double>(now - last_).count();
    last_ = now;
    tokens_ = std::min(burst_, tokens_ + dt * rate_);
    tokens_ -= static_cast<double>(bytes);
    deficit = -tokens_;
  }
  if (deficit > 0) std::this_thread::sleep_for(std::chrono::duration<double>(deficit / rate_));
}

}  // namespace edgerun
