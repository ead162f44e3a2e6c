// Bandwidth throttle: a token bucket that holds readers to a byte rate, to emulate slow device
// storage (an SD card, eMMC) on a fast machine. One Throttle may be shared by several files (one
// device). Thread-safe. Leaves out: latency per request, IOPS limits.
#pragma once
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>

#include "io/direct_reader.h"

namespace edgerun {

class Throttle {
 public:
  // bytes_per_s > 0. Up to burst_bytes may pass at once after an idle period.
  explicit Throttle(double bytes_per_s, uint64_t burst_bytes = 1 << 20);
  // Takes `bytes` from the bucket, sleeping for as long as the bucket is in debt. Over any
  // interval of T seconds at most burst_bytes + rate * T bytes are granted.
  void acquire(uint64_t bytes);
  double rate() const { return rate_; }

 private:
  using Clock = std::chrono::steady_clock;
  const double rate_;
  const double burst_;
  std::mutex mu_;
  double tokens_;  // may go negative: debt that later callers wait out
  Clock::time_point last_;
};

class ThrottledReader final : public IoReader {
 public:
  ThrottledReader(std::unique_ptr<RandomAccessFile> inner, std::shared_ptr<Throttle> t)
      : inner_(std::move(inner)), throttle_(std::move(t)) {}
  const std::string& path() const override { return inner_->path(); }
  uint64_t size() const override { return inner_->size(); }
  bool is_direct() const override { return edgerun::is_direct(*inner_); }
  void read_at(uint64_t offset, uint64_t n, void* dst) override {
    throttle_->acquire(n);
    inner_->read_at(offset, n, dst);
  }

 private:
  std::unique_ptr<RandomAccessFile> inner_;
  std::shared_ptr<Throttle> throttle_;
};

}  // namespace edgerun
