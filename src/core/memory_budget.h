// MemoryBudget: the arena every weight, activation, KV-cache, staging and scratch byte comes from.
// One reserved virtual mapping in two regions, each sub-allocated with a coalescing free list:
// small pages (4 KiB granularity) for everything, and huge pages (2 MiB granularity, transparent
// huge pages) for the large buffers that direct reads fill. A direct read pins every page of its
// buffer and hands the device one segment per page: with 4 KiB pages that per-page work takes
// the cores the compute also needs and a share of the disk's bandwidth (docs/STREAMING.md has the
// measurements). A huge page is committed whole on its first touch, so the huge
// region hands out whole, aligned 2 MiB units only, and the budget charges for whole units: its
// accounting stays exact. The small region is marked MADV_NOHUGEPAGE so that a system whose THP
// setting is "always" cannot commit 2 MiB under a 4 KiB allocation either.
// Freed pages stay resident for reuse ("kept": a fresh page costs a fault and a clearing, which
// on a streaming pass competes with compute) only while bytes in use plus kept bytes stay within
// the limit; the excess goes back to the OS (MADV_DONTNEED), smallest kept ranges first. A
// request takes the best-fitting kept range of its region, else the first fit in the free list.
// So the arena's resident memory never passes the budget. The limit is on bytes in use, not on
// addresses: each region is several times the limit, so fragmentation of the address space can
// never make a request that fits the limit wait forever (which would deadlock a pipeline whose
// frees depend on its own progress). Unlimited by default; with a limit, acquire() beyond it
// throws and acquire_blocking() waits until enough is released (Hermes' flow control).
// A quota (the constructor with a parent) is a MemoryBudget without a mapping of its own: it
// takes every allocation from its parent's arena and limits what it holds at once to its own
// limit, so several models share one arena and one limit M (SwapNet's Σ resident + s_i ≤ M is
// the parent's check) while each stays within its quota M_k. Freed pages are kept by the parent,
// for whichever quota asks next.
#pragma once
#include <atomic>
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

// Which region an allocation comes from (see the top of this file).
enum class PageKind { Small, Huge };

// When the huge region is backed by transparent huge pages. Off: never (huge requests are
// served as small ones). WhenLimited: with a limit only; unlimited (resident) runs fault their
// weights in once, and on the virtual machines measured here a fresh huge page costs more to
// commit than 512 small ones. On: always (iobench: the storage's best).
enum class HugePages { Off, WhenLimited, On };

class MemoryBudget {
 public:
  static constexpr uint64_t kUnlimited = 0;
  static constexpr uint64_t kPage = 4096;
  static constexpr uint64_t kHugePage = 2ull << 20;

  // limit_bytes == kUnlimited: no limit (the arena still reserves address space lazily).
  explicit MemoryBudget(uint64_t limit_bytes = kUnlimited, HugePages huge = HugePages::WhenLimited);
  // A quota of `limit_bytes` (> 0) in parent's arena; parent (limited or not) must outlive it.
  MemoryBudget(MemoryBudget& parent, uint64_t limit_bytes);
  ~MemoryBudget();
  MemoryBudget(const MemoryBudget&) = delete;
  MemoryBudget& operator=(const MemoryBudget&) = delete;

  static uint64_t round_up(uint64_t n) { return (n + kPage - 1) / kPage * kPage; }
  // Whether this kernel gives transparent huge pages of kHugePage bytes to madvised memory.
  static bool huge_pages_available();

  // The bytes a request is charged (and granted): whole 4 KiB pages, or whole 2 MiB units for a
  // huge request where this budget has huge pages.
  uint64_t granted(uint64_t bytes, PageKind kind) const;
  // The kind a direct-read buffer of `bytes` should use: huge where the rounding to whole units
  // costs at most a quarter of the buffer (a 16 MiB + 24 KiB attention layer rounds to 18 MiB),
  // so that tight budgets lose little to it and small buffers stay small; with
  // set_huge_rounding(true), wherever it at most doubles the buffer (a 2.25 MiB tile takes
  // 4 MiB). A read into small pages is split by the block layer into more requests (a request
  // holds a bounded number of segments), each an interrupt on the cores the compute runs on:
  // the session takes the wider rounding where its plan fits the budget with it.
  PageKind kind_for(uint64_t bytes) const;
  void set_huge_rounding(bool wide) { wide_rounding_.store(wide, std::memory_order_relaxed); }
  bool huge_rounding() const { return wide_rounding_.load(std::memory_order_relaxed); }
  // What a direct-read buffer of `bytes` is charged: under this budget, or (under_limit) under a
  // limited budget with this budget's huge-page setting. The planner sizes footprints the first
  // way and the minimum budget the second, so an unlimited run reports the minimum that a
  // limited one accepts.
  uint64_t read_buffer_bytes(uint64_t bytes, bool under_limit = false) const;

  // Returns zero-filled-or-garbage (unspecified contents) memory of granted(bytes, kind) bytes,
  // 4 KiB aligned (2 MiB for huge). Throws BudgetError naming `what` when the budget cannot hold
  // it now.
  Allocation acquire(uint64_t bytes, const char* what, PageKind kind = PageKind::Small);
  // Waits until the request fits; throws BudgetError if it can never fit (larger than the limit)
  // or if cancel() was called while waiting. A small request that would otherwise push kept
  // huge pages out may get whole units of them instead (granted rounded up; see try_take_locked).
  Allocation acquire_blocking(uint64_t bytes, const char* what, PageKind kind = PageKind::Small);
  // Makes up to `bytes` more of a region resident now, as kept pages that later requests of that
  // kind reuse without a fault, never passing the limit (bytes in use plus kept stay within it).
  // Sessions commit their budget when they prepare, not while a pass runs: on a virtual machine
  // whose host reclaims the guest's free memory (free page reporting), a fresh page costs the
  // vCPU a host fault, far slower than the storage, and inside a pass that stall lands on the
  // compute's cores (docs/STREAMING.md). Populates with `threads` threads. No-op when unlimited
  // (freed pages are not kept there). Returns the bytes committed.
  uint64_t commit(uint64_t bytes, PageKind kind, int threads = 1);
  // Wakes every waiter of acquire_blocking with an error (used when a pipeline fails).
  void cancel();
  void reset_cancel();

  uint64_t limit() const { return limit_; }
  uint64_t in_use() const;
  // Bytes of the arena that may be resident: in use plus freed pages kept for reuse (<= limit).
  // A quota answers for the whole arena it shares (what the process holds), as do
  // fresh_bytes(), reservation() and guards_freed(); in_use, high_water and waiters are its own.
  uint64_t resident_bytes() const;
  MemoryBudget* parent() const { return parent_; }
  uint64_t high_water() const;
  void reset_high_water();
  // Threads waiting in acquire_blocking now (flow control holding loaders back).
  int waiters() const;
  // Bytes handed out that were not resident (never touched, or handed back): each such page
  // costs a fault and a clearing on first touch. Under a limit a steady stream should add
  // almost none after its first pass; growth is what kept pages were meant to prevent.
  uint64_t fresh_bytes() const;
  // The reserved address range (both regions), for checks that ask the kernel what is committed.
  const void* reservation() const { return parent_ ? parent_->reservation() : base_; }
  uint64_t reservation_bytes() const { return parent_ ? parent_->reservation_bytes() : huge_at_ * 2; }
  // Whether huge requests get whole 2 MiB units here (see granted()).
  bool huge_pages() const { return huge_; }
  // Debugging aid, set by the environment variable EDGERUN_GUARD_FREED=1 when the budget is
  // made: released memory is mapped PROT_NONE until it is handed out again, so a read of a
  // buffer after its release (a layer freed while a kernel still reads it) faults at once
  // instead of reading stale weights from a kept page. Slower; for tests.
  bool guards_freed() const { return parent_ ? parent_->guards_freed() : guard_freed_; }

 private:
  friend class Allocation;
  void release(void* p, uint64_t size);
  // The arena's side of acquire/acquire_blocking: `size` granted bytes of the region, or throws;
  // blocking waits until they fit (also waking when *cancel, a quota's flag, is set).
  void* take(uint64_t& size, bool huge, bool blocking, const std::atomic<bool>* cancel, const char* what);
  // A quota's side: charges size to it (waiting, when blocking, until it fits the quota), then
  // takes the bytes from the parent; rolled back if the parent refuses.
  void* take_quota(uint64_t& size, bool huge, bool blocking, const char* what);
  Allocation grant(void* p, uint64_t size);
  // size: bytes charged; a small request served from kept huge units (may_round) comes back
  // rounded to them.
  void* try_take_locked(uint64_t& size, bool huge, bool may_round);
  // The best-fitting kept range that holds the request whole (no fresh pages at all).
  std::optional<uint64_t> take_kept_locked(uint64_t size, bool huge);
  // A range starting in the largest kept one that free space continues (only the rest fresh).
  std::optional<uint64_t> take_extending_kept_locked(uint64_t size, bool huge);
  bool in_huge(uint64_t off) const { return off >= huge_at_; }
  // Whether a request of this kind is served from the huge region here.
  bool huge_request(PageKind kind) const { return kind == PageKind::Huge && huge_; }
  // A region's free list, and its offset in the reservation.
  RangeAllocator& ranges(bool huge) { return huge ? huge_ranges_ : small_; }
  uint64_t origin(bool huge) const { return huge ? huge_at_ : 0; }
  void keep_locked(uint64_t off, uint64_t size);
  // EDGERUN_GUARD_FREED: makes [off, off + size) of the reservation accessible or not.
  void set_access_locked(uint64_t off, uint64_t size, bool accessible);
  void undirty_locked(uint64_t off, uint64_t size);
  void trim_dirty_locked();

  uint64_t limit_;
  MemoryBudget* parent_ = nullptr;
  bool huge_ = false;      // huge requests get whole 2 MiB units (else they are small ones)
  bool huge_if_limited_ = false;  // huge_ under a limit (huge pages available and not Off)
  std::atomic<bool> wide_rounding_{false};  // kind_for: huge wherever rounding at most doubles a buffer
  uint64_t reserved_ = 0;  // size of the virtual reservation
  void* map_ = nullptr;    // the reservation as mapped (base_ is its first 2 MiB boundary)
  char* base_ = nullptr;
  uint64_t huge_at_ = 0;   // offset of the huge region; one unused unit apart from the small one
  mutable std::mutex mu_;
  std::condition_variable cv_;
  RangeAllocator small_{0};  // [0, small region's size)
  RangeAllocator huge_ranges_{0};  // offsets relative to huge_at_
  std::map<uint64_t, uint64_t> dirty_;  // freed ranges whose pages are still resident (coalesced)
  uint64_t dirty_bytes_ = 0;
  uint64_t fresh_bytes_ = 0;
  uint64_t in_use_ = 0;
  uint64_t high_water_ = 0;
  std::atomic<bool> cancelled_{false};
  int waiters_ = 0;
  bool guard_freed_ = false;
};

}  // namespace edgerun
