// MemoryBudget implementation: one PROT_READ|WRITE, MAP_NORESERVE reservation holding a small-page
// and a huge-page region; pages are committed on first touch, kept on free while the limit
// allows, else handed back with MADV_DONTNEED.
#include "core/memory_budget.h"


#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "core/error.h"
#include "edgerun/format.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23  // Linux 5.14; older kernels answer EINVAL and get touched instead
#endif

namespace edgerun {

namespace {
// Address space reserved when unlimited: large enough for any model this machine can hold in
// RAM, cheap because MAP_NORESERVE commits nothing.
constexpr uint64_t kUnlimitedReserve = 256ull << 30;


uint64_t round_to(uint64_t n, uint64_t unit) { return (n + unit - 1) / unit * unit; }

// Bytes charged for a request of n (0 counts as 1): whole 2 MiB units, or whole 4 KiB pages.
uint64_t charged(uint64_t n, bool huge) {
  return round_to(n == 0 ? 1 : n, huge ? MemoryBudget::kHugePage : MemoryBudget::kPage);
}

// Faults in [p, p + n) for writing. MADV_POPULATE_WRITE does it in one call; where the kernel
// lacks it, a write to each page does the same.
void populate(char* p, uint64_t n) {
  if (madvise(p, n, MADV_POPULATE_WRITE) == 0) return;
  for (uint64_t i = 0; i < n; i += MemoryBudget::kPage) static_cast<volatile char*>(p)[i] = 0;
}

std::string read_sysfs(const char* path) {
  std::ifstream f(path);
  std::string s;
  std::getline(f, s);
  return s;
}
}  // namespace

bool MemoryBudget::huge_pages_available() {
  // "[never]" (or no THP in the kernel) gives none; "[madvise]" gives them to MADV_HUGEPAGE
  // memory, "[always]" to all. Other PMD sizes (arm64 with 64 KiB pages: 512 MiB) would make the
  // rounding too coarse for a budget: treated as none.
  static const bool available = [] {
    const std::string mode = read_sysfs("/sys/kernel/mm/transparent_hugepage/enabled");
    const std::string pmd = read_sysfs("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size");
    const bool on = mode.find("[always]") != std::string::npos || mode.find("[madvise]") != std::string::npos;
    return on && pmd == std::to_string(kHugePage);
  }();
  return available;
}

uint64_t MemoryBudget::granted(uint64_t bytes, PageKind kind) const { return charged(bytes, huge_request(kind)); }

namespace {
// Rounding to whole 2 MiB units costs at most a quarter of the buffer (wide: at most all of it).
bool worth_huge(uint64_t bytes, bool wide) {
  const uint64_t small = charged(bytes, false);
  return (charged(bytes, true) - small) * (wide ? 1 : 4) <= small;
}
}  // namespace

PageKind MemoryBudget::kind_for(uint64_t bytes) const {
  return huge_ && worth_huge(bytes, huge_rounding()) ? PageKind::Huge : PageKind::Small;
}

uint64_t MemoryBudget::read_buffer_bytes(uint64_t bytes, bool under_limit) const {
  return charged(bytes, (under_limit ? huge_if_limited_ : huge_) && worth_huge(bytes, huge_rounding()));
}

Allocation& Allocation::operator=(Allocation&& o) noexcept {
  if (this != &o) {
    reset();
    owner_ = o.owner_;
    ptr_ = o.ptr_;
    size_ = o.size_;
    o.owner_ = nullptr;
    o.ptr_ = nullptr;
    o.size_ = 0;
  }
  return *this;
}

void Allocation::reset() {
  if (owner_ && ptr_) owner_->release(ptr_, size_);
  owner_ = nullptr;
  ptr_ = nullptr;
  size_ = 0;
}

MemoryBudget::MemoryBudget(uint64_t limit_bytes, HugePages huge) : limit_(limit_bytes) {
  huge_if_limited_ = huge != HugePages::Off && huge_pages_available();
  huge_ = huge_if_limited_ && (huge == HugePages::On || limit_ != kUnlimited);
  const uint64_t region =
      round_to(limit_ == kUnlimited ? kUnlimitedReserve : 4 * round_up(limit_) + (256ull << 20), kHugePage);
  huge_at_ = region + kHugePage;  // one unit apart: kept ranges of the two regions never coalesce
  reserved_ = huge_at_ + region + kHugePage;  // the last unit: slack to align base_ to 2 MiB
  void* p = mmap(nullptr, reserved_, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED)
    ER_THROW(BudgetError, "cannot reserve ", format_bytes(reserved_), " of address space for the arena: ",
             std::strerror(errno));
  map_ = p;
  base_ = reinterpret_cast<char*>(round_to(reinterpret_cast<uintptr_t>(p), kHugePage));
  small_ = RangeAllocator(region);
  huge_ranges_ = RangeAllocator(region);
  // Hints: where refused (a kernel without THP) pages are small, which the accounting covers.
  madvise(base_, region, MADV_NOHUGEPAGE);
  if (huge_) madvise(base_ + huge_at_, region, MADV_HUGEPAGE);
  const char* guard = std::getenv("EDGERUN_GUARD_FREED");
  guard_freed_ = guard && *guard && std::strcmp(guard, "0") != 0;
}

MemoryBudget::MemoryBudget(MemoryBudget& parent, uint64_t limit_bytes) : limit_(limit_bytes), parent_(&parent) {
  if (limit_bytes == kUnlimited) ER_THROW(InputError, "a memory quota needs a limit");
  if (parent.parent_) ER_THROW(InternalError, "MemoryBudget: a quota of a quota");
  if (parent.limit_ != kUnlimited && limit_bytes > parent.limit_)
    ER_THROW(BudgetError, "a quota of ", format_bytes(limit_bytes), " is more than the budget of ",
             format_bytes(parent.limit_));
  huge_ = parent.huge_;
  huge_if_limited_ = parent.huge_if_limited_;
}

void MemoryBudget::set_access_locked(uint64_t off, uint64_t size, bool accessible) {
  if (!guard_freed_) return;
  if (mprotect(base_ + off, size, accessible ? PROT_READ | PROT_WRITE : PROT_NONE) != 0)
    ER_THROW(InternalError, "MemoryBudget: mprotect of ", format_bytes(size), " for EDGERUN_GUARD_FREED failed: ",
             std::strerror(errno), " (raise vm.max_map_count)");
}

MemoryBudget::~MemoryBudget() {
  if (map_) munmap(map_, reserved_);
}

void* MemoryBudget::try_take_locked(uint64_t& size, bool huge, bool may_round) {
  if (limit_ != kUnlimited && in_use_ + size > limit_) return nullptr;
  std::optional<uint64_t> off = take_kept_locked(size, huge);
  if (!off && may_round && !huge && huge_ && in_use_ + dirty_bytes_ + size > limit_) {
    // Fresh small pages would push kept huge pages out (trim), and the next large load would
    // fault them in again, slowly on a VM whose host reclaims free guest memory (docs/STREAMING.md:
    // GPT-2 Medium at 10%, whose position table and last LM-head chunk are small requests).
    // Take whole units of a kept huge range instead, charged as such, when the limit has room
    // for the rounding now. Only for blocking requests: a later one waits a little longer for
    // the rounding, where a non-blocking one could have been refused.
    const uint64_t units = charged(size, true);
    if (in_use_ + units <= limit_ && (off = take_kept_locked(units, true))) size = units;
  }
  if (!off) off = take_extending_kept_locked(size, huge);
  if (!off) {
    off = ranges(huge).take(size);
    if (off) *off += origin(huge);
  }
  if (!off) return nullptr;
  set_access_locked(*off, size, true);
  in_use_ += size;
  if (in_use_ > high_water_) high_water_ = in_use_;
  const uint64_t kept_before = dirty_bytes_;
  undirty_locked(*off, size);
  fresh_bytes_ += size - (kept_before - dirty_bytes_);
  trim_dirty_locked();
  return base_ + *off;
}

Allocation MemoryBudget::grant(void* p, uint64_t size) {
  Allocation a;
  a.owner_ = this;
  a.ptr_ = p;
  a.size_ = size;
  return a;
}

void* MemoryBudget::take(uint64_t& size, bool huge, bool blocking, const std::atomic<bool>* cancel, const char* what) {
  std::unique_lock<std::mutex> lk(mu_);
  if (!blocking) {
    void* p = try_take_locked(size, huge, /*may_round=*/false);
    if (p) return p;
    if (limit_ != kUnlimited && in_use_ + size > limit_)
      ER_THROW(BudgetError, "memory budget exceeded: ", what, " needs ", format_bytes(size), " but ",
               format_bytes(in_use_), " of the ", format_bytes(limit_), " budget is in use");
    ER_THROW(BudgetError, "memory budget arena too fragmented for ", what, " (", format_bytes(size),
             "); in use ", format_bytes(in_use_));
  }
  void* p = nullptr;
  auto stopped = [&] { return cancelled_.load() || (cancel && cancel->load()); };
  // A quota's request is charged as asked: rounding it up to kept huge units would pass its quota.
  auto ready = [&] { return stopped() || (p = try_take_locked(size, huge, /*may_round=*/!cancel)) != nullptr; };
  if (!ready()) {
    ++waiters_;
    cv_.wait(lk, ready);
    --waiters_;
  }
  if (!p) ER_THROW(BudgetError, "wait for ", what, " cancelled");
  return p;
}

void* MemoryBudget::take_quota(uint64_t& size, bool huge, bool blocking, const char* what) {
  {
    std::unique_lock<std::mutex> lk(mu_);
    if (in_use_ + size > limit_) {
      if (!blocking)
        ER_THROW(BudgetError, "memory quota exceeded: ", what, " needs ", format_bytes(size), " but ",
                 format_bytes(in_use_), " of the ", format_bytes(limit_), " quota is in use");
      ++waiters_;
      cv_.wait(lk, [&] { return cancelled_.load() || in_use_ + size <= limit_; });
      --waiters_;
      if (cancelled_) ER_THROW(BudgetError, "wait for ", what, " cancelled");
    }
    in_use_ += size;
  }
  void* p = nullptr;
  try {
    p = parent_->take(size, huge, blocking, &cancelled_, what);
  } catch (...) {
    {
      std::lock_guard<std::mutex> lk(mu_);
      in_use_ -= size;
    }
    cv_.notify_all();
    throw;
  }
  std::lock_guard<std::mutex> lk(mu_);
  high_water_ = std::max(high_water_, in_use_);
  return p;
}

Allocation MemoryBudget::acquire(uint64_t bytes, const char* what, PageKind kind) {
  uint64_t size = granted(bytes, kind);
  void* p = parent_ ? take_quota(size, huge_request(kind), false, what)
                    : take(size, huge_request(kind), false, nullptr, what);
  return grant(p, size);
}

Allocation MemoryBudget::acquire_blocking(uint64_t bytes, const char* what, PageKind kind) {
  uint64_t size = granted(bytes, kind);
  if (limit_ != kUnlimited && size > limit_)
    ER_THROW(BudgetError, what, " needs ", format_bytes(size), ", more than the whole ", parent_ ? "quota" : "budget",
             " of ", format_bytes(limit_));
  void* p = parent_ ? take_quota(size, huge_request(kind), true, what)
                    : take(size, huge_request(kind), true, nullptr, what);
  return grant(p, size);
}

uint64_t MemoryBudget::commit(uint64_t bytes, PageKind kind, int threads) {
  if (parent_) {
    uint64_t room = 0;
    {
      std::lock_guard<std::mutex> lk(mu_);
      room = limit_ > in_use_ ? limit_ - in_use_ : 0;
    }
    return parent_->commit(std::min(bytes, room), kind, threads);
  }
  const bool huge = huge_request(kind);
  const uint64_t unit = huge ? kHugePage : kPage;
  std::unique_lock<std::mutex> lk(mu_);
  if (limit_ == kUnlimited || in_use_ + dirty_bytes_ >= limit_) return 0;
  const uint64_t size = std::min(charged(bytes, huge), (limit_ - in_use_ - dirty_bytes_) / unit * unit);
  if (size == 0) return 0;
  std::optional<uint64_t> off = ranges(huge).take(size);
  if (!off) return 0;
  // The free range may hold kept pages already (another quota's, freed): they are populated
  // again with the rest and kept once.
  undirty_locked(*off + origin(huge), size);
  set_access_locked(*off + origin(huge), size, true);
  // Held as in use while populating (unlocked), so no request can take it or pass the limit;
  // not a high-water mark: nothing uses it yet.
  in_use_ += size;
  lk.unlock();
  char* p = base_ + origin(huge) + *off;
  const uint64_t parts = std::max<uint64_t>(1, std::min<uint64_t>(threads, size / unit));
  const uint64_t step = (size / unit + parts - 1) / parts * unit;
  std::vector<std::thread> ts;
  for (uint64_t b = step; b < size; b += step) ts.emplace_back(populate, p + b, std::min(step, size - b));
  populate(p, std::min(step, size));
  for (auto& t : ts) t.join();
  lk.lock();
  in_use_ -= size;
  ER_CHECK(ranges(huge).give(*off, size), "MemoryBudget: committed range not taken");
  keep_locked(*off + origin(huge), size);
  set_access_locked(*off + origin(huge), size, false);
  lk.unlock();
  cv_.notify_all();
  return size;
}

void MemoryBudget::undirty_locked(uint64_t off, uint64_t size) {
  // The taken range is in use now: drop it from the free-but-resident set.
  const uint64_t end = off + size;
  auto it = dirty_.upper_bound(off);
  if (it != dirty_.begin()) --it;
  while (it != dirty_.end() && it->first < end) {
    const uint64_t b = it->first, e = it->first + it->second;
    if (e <= off) {
      ++it;
      continue;
    }
    it = dirty_.erase(it);
    const uint64_t ob = std::max(b, off), oe = std::min(e, end);
    dirty_bytes_ -= oe - ob;
    if (b < ob) dirty_.emplace(b, ob - b);
    if (oe < e) it = dirty_.emplace(oe, e - oe).first;
  }
}

std::optional<uint64_t> MemoryBudget::take_kept_locked(uint64_t size, bool huge) {
  // Best fit among the freed ranges whose pages are still resident: reusing them costs no page
  // fault (a fresh page costs a fault and a clearing, which on 2 cores competes with compute),
  // and the tightest fit keeps the other kept ranges whole. Transformer layers repeat their
  // sizes, so a layer freed by the pipeline usually fits the next load of its kind exactly.
  auto best = dirty_.end();
  for (auto it = dirty_.begin(); it != dirty_.end(); ++it)
    if (in_huge(it->first) == huge && it->second >= size && (best == dirty_.end() || it->second < best->second))
      best = it;
  if (best == dirty_.end()) return std::nullopt;
  const uint64_t off = best->first;
  ER_CHECK(ranges(huge).take_at(off - origin(huge), size), "MemoryBudget: a kept range is not free");
  return off;
}

std::optional<uint64_t> MemoryBudget::take_extending_kept_locked(uint64_t size, bool huge) {
  // No kept range holds the request whole: start at the largest one that free space continues
  // far enough, so that only the shortfall is fresh (a commit sized a little short, or a layer
  // larger than the one freed before it, still reuses what is there).
  std::vector<std::pair<uint64_t, uint64_t>> by_size;  // (length, offset)
  for (const auto& [off, len] : dirty_)
    if (in_huge(off) == huge) by_size.emplace_back(len, off);
  std::sort(by_size.rbegin(), by_size.rend());
  for (const auto& [len, off] : by_size)
    if (ranges(huge).take_at(off - origin(huge), size)) return off;
  return std::nullopt;
}

void MemoryBudget::keep_locked(uint64_t off, uint64_t size) {
  // Kept ranges are coalesced like free ranges, so a request can reuse two neighbours at once.
  // They are a subset of the free list, which give() has just checked against double frees.
  ER_CHECK(insert_coalesced(dirty_, off, size), "MemoryBudget: range kept twice");
  dirty_bytes_ += size;
}

void MemoryBudget::trim_dirty_locked() {
  if (limit_ == kUnlimited) return;
  // Hand back only the excess, from the smallest kept ranges first: those are the least likely
  // to hold a later request whole.
  while (in_use_ + dirty_bytes_ > limit_ && !dirty_.empty()) {
    auto victim = dirty_.begin();
    for (auto it = dirty_.begin(); it != dirty_.end(); ++it)
      if (it->second < victim->second) victim = it;
    // Huge-region ranges go back in whole units (they are whole units: see the top of the .h).
    const uint64_t excess = in_use_ + dirty_bytes_ - limit_;
    const uint64_t drop = std::min(victim->second, charged(excess, in_huge(victim->first)));
    madvise(base_ + victim->first + victim->second - drop, drop, MADV_DONTNEED);
    dirty_bytes_ -= drop;
    if (drop == victim->second) dirty_.erase(victim);
    else victim->second -= drop;
  }
}

void MemoryBudget::release(void* ptr, uint64_t size) {
  if (parent_) {
    parent_->release(ptr, size);
    {
      std::lock_guard<std::mutex> lk(mu_);
      in_use_ -= size;
    }
    cv_.notify_all();
    return;
  }
  {
    std::lock_guard<std::mutex> lk(mu_);
    uint64_t off = static_cast<uint64_t>(static_cast<char*>(ptr) - base_);
    const bool huge = in_huge(off);
    ER_CHECK(ranges(huge).give(off - origin(huge), size), "double free in MemoryBudget");
    set_access_locked(off, size, false);
    in_use_ -= size;
    if (limit_ == kUnlimited) {
      // Unlimited: the resident set follows the bytes in use.
      madvise(ptr, size, MADV_DONTNEED);
    } else {
      keep_locked(off, size);
      trim_dirty_locked();
    }
  }
  cv_.notify_all();
}

uint64_t MemoryBudget::resident_bytes() const {
  if (parent_) return parent_->resident_bytes();
  std::lock_guard<std::mutex> lk(mu_);
  return in_use_ + dirty_bytes_;
}

void MemoryBudget::cancel() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    cancelled_ = true;
  }
  cv_.notify_all();
  if (parent_) {
    // A request of this quota may wait in the parent: wake it there (under the parent's lock,
    // so that a waiter between its check and its wait cannot miss the flag).
    { std::lock_guard<std::mutex> lk(parent_->mu_); }
    parent_->cv_.notify_all();
  }
}

void MemoryBudget::reset_cancel() {
  std::lock_guard<std::mutex> lk(mu_);
  cancelled_ = false;
}

uint64_t MemoryBudget::in_use() const {
  std::lock_guard<std::mutex> lk(mu_);
  return in_use_;
}
int MemoryBudget::waiters() const {
  std::lock_guard<std::mutex> lk(mu_);
  return waiters_;
}
uint64_t MemoryBudget::high_water() const {
  std::lock_guard<std::mutex> lk(mu_);
  return high_water_;
}
uint64_t MemoryBudget::fresh_bytes() const {
  if (parent_) return parent_->fresh_bytes();
  std::lock_guard<std::mutex> lk(mu_);
  return fresh_bytes_;
}
void MemoryBudget::reset_high_water() {
  std::lock_guard<std::mutex> lk(mu_);
  high_water_ = in_use_;
}

}  // namespace edgerun
