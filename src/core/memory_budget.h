// MemoryBudget: the arena every weight, activation, KV-cache, staging and scratch byte comes from.
// One reserved virtual mapping, sub-allocated at 4 KiB granularity (coalescing free list).
// Freed pages stay resident for reuse ("kept": a fresh page costs a fault and a clearing, which
// on a streaming pass competes with compute) only while bytes in use plus kept bytes stay within
// the limit; the excess goes back to the OS (MADV_DONTNEED), smallest kept ranges first. A
// request takes the best-fitting kept range, else the first fit in the free list. So the arena's
// resident memory never passes the budget. The limit is on bytes in use, not on addresses: the
// reservation is several times the limit, so fragmentation of the address space can never make
// a request that fits the limit wait forever (which would deadlock a pipeline whose frees depend
// on its own progress). Unlimited by default; with a limit, acquire() beyond it throws and
// acquire_blocking() waits until enough is released (Hermes' flow control).
#pragma once
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <mutex>
#include <string>

#include "core/range_allocator.h"

namespace edgerun {

class MemoryBudget;

// An owned allocation from a MemoryBudget; released on destruction (RAII, movable).
class Allocation {
 public:
  Allocation() = default;
  Allocation(Allocation&& o) noexcept { *this = std::move(o); }
  Allocation& operator=(Allocation&& o) noexcept;
  Allocation(const Allocation&) = delete;
  Allocation& operator=(const Allocation&) = delete;
  ~Allocation() { reset(); }

  void reset();
  void* data() const { return ptr_; }
  template <typename T>
  T* as() const {
    return static_cast<T*>(ptr_);
  }
  uint64_t size() const { return size_; }  // bytes granted (multiple of 4 KiB)
  explicit operator bool() const { return ptr_ != nullptr; }

 private:
  friend class MemoryBudget;
  MemoryBudget* owner_ = nullptr;
  void* ptr_ = nullptr;
  uint64_t size_ = 0;
};

class MemoryBudget {
 public:
  static constexpr uint64_t kUnlimited = 0;
  static constexpr uint64_t kPage = 4096;

  // limit_bytes == kUnlimited: no limit (the arena still reserves address space lazily).
  explicit MemoryBudget(uint64_t limit_bytes = kUnlimited);
  ~MemoryBudget();
  MemoryBudget(const MemoryBudget&) = delete;
  MemoryBudget& operator=(const MemoryBudget&) = delete;

  static uint64_t round_up(uint64_t n) { return (n + kPage - 1) / kPage * kPage; }

  // Returns zero-filled-or-garbage (unspecified contents) memory of at least `bytes`, 4 KiB
  // aligned. Throws BudgetError naming `what` when the budget cannot hold it now.
  Allocation acquire(uint64_t bytes, const char* what);
  // Waits until the request fits; throws BudgetError if it can never fit (larger than the limit)
  // or if cancel() was called while waiting.
  Allocation acquire_blocking(uint64_t bytes, const char* what);
  // Wakes every waiter of acquire_blocking with an error (used when a pipeline fails).
  void cancel();
  void reset_cancel();

  uint64_t limit() const { return limit_; }
  uint64_t in_use() const;
  // Bytes of the arena that may be resident: in use plus freed pages kept for reuse (<= limit).
  uint64_t resident_bytes() const;
  uint64_t high_water() const;
  void reset_high_water();

 private:
  friend class Allocation;
  void release(void* p, uint64_t size);
  void* try_take_locked(uint64_t size);
  std::optional<uint64_t> take_kept_locked(uint64_t size);
  void keep_locked(uint64_t off, uint64_t size);
  void undirty_locked(uint64_t off, uint64_t size);
  void trim_dirty_locked();

  uint64_t limit_;
  uint64_t reserved_ = 0;  // size of the virtual reservation
  char* base_ = nullptr;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  RangeAllocator ranges_{0};  // over the reserved address space
  std::map<uint64_t, uint64_t> dirty_;  // freed ranges whose pages are still resident (coalesced)
  uint64_t dirty_bytes_ = 0;
  uint64_t in_use_ = 0;
  uint64_t high_water_ = 0;
  bool cancelled_ = false;
};

}  // namespace edgerun
