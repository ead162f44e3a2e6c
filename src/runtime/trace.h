// Trace: spans per agent track and samples of budget memory in use, written as Chrome trace
// event JSON (loads in Perfetto and chrome://tracing). Thread-safe; cheap enough to leave on.
// Several sessions can share one (the scheduler's), each through a view naming its tracks.
#pragma once
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace edgerun {

class MemoryBudget;

class Trace {
 public:
  explicit Trace(const MemoryBudget* budget) : budget_(budget), t0_(std::chrono::steady_clock::now()) {}
  // A view of `parent` (which must outlive it): its spans go there, on tracks named prefix + track.
  Trace(Trace* parent, std::string prefix)
      : budget_(nullptr), t0_(parent->t0_), parent_(parent), prefix_(std::move(prefix)) {}
  double now_us() const {
    return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0_).count();
  }
  // A finished span on `track` ("loader 0", "inference", "daemon"); also samples memory.
  void span(const std::string& track, const std::string& name, double t0_us, double t1_us);
  // Writes {"traceEvents": [...]} to path. Throws IoError.
  void write(const std::string& path) const;
  size_t size() const;

 private:
  struct Event {
    std::string track, name;
    double t0, t1;
    uint64_t mem;
  };
  const MemoryBudget* budget_;
  std::chrono::steady_clock::time_point t0_;
  Trace* parent_ = nullptr;
  std::string prefix_;
  mutable std::mutex mu_;
  std::vector<Event> events_;
};

// Records a span from construction to destruction when a trace is attached.
class ScopedSpan {
 public:
  ScopedSpan(Trace* t, std::string track, std::string name)
      : t_(t), track_(std::move(track)), name_(std::move(name)), start_(t ? t->now_us() : 0) {}
  ~ScopedSpan() {
    if (t_) t_->span(track_, name_, start_, t_->now_us());
  }
  ScopedSpan(const ScopedSpan&) = delete;
  ScopedSpan& operator=(const ScopedSpan&) = delete;

 private:
  Trace* t_;
  std::string track_, name_;
  double start_;
};

}  // namespace edgerun
