// RangeAllocator: first-fit, address-ordered free list over [0, capacity) with coalescing on
// free. Used by MemoryBudget for its arena and by the engine's activation arena, and run "dry"
// by the planner to size that arena exactly (same sequence of calls, same answer).
#pragma once
#include <cstdint>
#include <map>
#include <optional>

namespace edgerun {

// Adds [off, off + size) to an address-ordered map of disjoint ranges (start -> length) and
// merges it with the ranges it touches. Returns false, changing nothing, if a range already
// starts at off.
inline bool insert_coalesced(std::map<uint64_t, uint64_t>& ranges, uint64_t off, uint64_t size) {
  auto [it, ok] = ranges.emplace(off, size);
  if (!ok) return false;
  auto next = std::next(it);
  if (next != ranges.end() && it->first + it->second == next->first) {
    it->second += next->second;
    ranges.erase(next);
  }
  if (it != ranges.begin()) {
    auto prev = std::prev(it);
    if (prev->first + prev->second == it->first) {
      prev->second += it->second;
      ranges.erase(it);
    }
  }
  return true;
}

class RangeAllocator {
 public:
  explicit RangeAllocator(uint64_t capacity) : capacity_(capacity) { free_.emplace(0, capacity); }
  // Offset of a free range of `size` bytes, or nullopt.
  std::optional<uint64_t> take(uint64_t size) {
    for (auto it = free_.begin(); it != free_.end(); ++it) {
      if (it->second < size) continue;
      uint64_t off = it->first, len = it->second;
      free_.erase(it);
      if (len > size) free_.emplace(off + size, len - size);
      if (off + size > high_end_) high_end_ = off + size;
      return off;
    }
    return std::nullopt;
  }
  // Takes exactly [off, off + size) if it lies inside one free range; false otherwise.
  bool take_at(uint64_t off, uint64_t size) {
    auto it = free_.upper_bound(off);
    if (it == free_.begin()) return false;
    --it;
    const uint64_t b = it->first, e = it->first + it->second;
    if (off + size > e) return false;
    free_.erase(it);
    if (b < off) free_.emplace(b, off - b);
    if (off + size < e) free_.emplace(off + size, e - off - size);
    if (off + size > high_end_) high_end_ = off + size;
    return true;
  }
  // Returns [off, off + size) to the free list; false on a double free.
  bool give(uint64_t off, uint64_t size) { return insert_coalesced(free_, off, size); }
  uint64_t capacity() const { return capacity_; }
  // Highest end offset ever handed out: the extent a region must have for this call sequence.
  uint64_t high_end() const { return high_end_; }

 private:
  uint64_t capacity_;
  uint64_t high_end_ = 0;
  std::map<uint64_t, uint64_t> free_;
};

}  // namespace edgerun
