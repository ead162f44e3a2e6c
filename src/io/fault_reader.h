// Fault-injecting reader for tests: wraps any reader and, following a FaultPlan, fails a read
// with an OS error, makes one come back short, pretends the file shrank after opening, or delays
// reads — throwing the same IoError (file + offset) the real readers throw. Thread-safe.
// Leaves out: corrupting data silently (a format test's job, with crafted files).
#pragma once
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

#include "io/direct_reader.h"

namespace edgerun {

struct FaultPlan {
  static constexpr int64_t kNoRead = -1;
  static constexpr uint64_t kNoOffset = ~0ull;
  // Reads are numbered 0, 1, 2, ... in the order read_at is entered (across threads).
  int64_t fail_read = kNoRead;   // this read fails with fail_errno
  int fail_errno = EIO;
  uint64_t fail_offset = kNoOffset;  // every read covering this byte fails with fail_errno
  int64_t short_read = kNoRead;  // this read comes back short (the file ends inside it)
  uint64_t truncate_at = kNoOffset;  // the file shrank to this many bytes after it was opened
  std::chrono::microseconds delay{0};  // before every read
  // When set, faults are injected only while it holds true (reads are counted and delayed
  // either way): a test runs a clean pass, arms the fault, and disarms it for the next pass.
  std::shared_ptr<const std::atomic<bool>> armed;
  // Extra delay per read (read number, offset, bytes); must be thread-safe. Lets a test make
  // later loads finish first.
  std::function<std::chrono::microseconds(int64_t, uint64_t, uint64_t)> delay_for;
};

class FaultReader final : public IoReader {
 public:
  FaultReader(std::unique_ptr<RandomAccessFile> inner, FaultPlan plan)
      : inner_(std::move(inner)), plan_(std::move(plan)) {}
  const std::string& path() const override { return inner_->path(); }
  // The size seen at open, as for a real file truncated later.
  uint64_t size() const override { return inner_->size(); }
  bool is_direct() const override { return edgerun::is_direct(*inner_); }
  void read_at(uint64_t offset, uint64_t n, void* dst) override;

  int64_t reads() const { return reads_.load(); }    // read_at calls so far
  int64_t faults() const { return faults_.load(); }  // errors injected so far
  RandomAccessFile& inner() { return *inner_; }

 private:
  std::unique_ptr<RandomAccessFile> inner_;
  const FaultPlan plan_;
  std::atomic<int64_t> reads_{0};
  std::atomic<int64_t> faults_{0};
};

std::unique_ptr<FaultReader> make_fault_reader(std::unique_ptr<RandomAccessFile> inner,
                                               FaultPlan plan);

}  // namespace edgerun
