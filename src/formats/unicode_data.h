// Row types of the generated Unicode tables (scripts/make_unicode_tables.py writes
// unicode_tables.cpp, unicode_decomposition.cpp and unicode_decomposition_pool.cpp), the range
// lookup they share, and the decomposition pool that one file defines and another reads.
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <iterator>

namespace edgerun::unicode::data {

struct Range {
  char32_t lo, hi;
};
struct ClassRange {
  char32_t lo, hi;
  uint8_t ccc;
};
struct Decomposition {
  char32_t cp;
  uint16_t offset;  // into kDecompPool
  uint8_t length;
};
struct LowerRun {
  char32_t first;
  uint16_t count;
  int32_t delta;  // lower = cp + delta
  uint8_t stride;
};
struct LowerMulti {
  char32_t cp;
  char32_t lower[3];  // zero-padded
};

// The row of a sorted table of disjoint [lo, hi] ranges that holds c, or null.
template <typename T, size_t N>
const T* find_range(const T (&table)[N], char32_t c) {
  // First range whose hi >= c; it holds c when its lo <= c.
  const T* it = std::lower_bound(std::begin(table), std::end(table), c,
                                 [](const T& r, char32_t v) { return r.hi < v; });
  return (it != std::end(table) && it->lo <= c) ? it : nullptr;
}

// Every decomposition's code points, back to back (unicode_decomposition_pool.cpp).
extern const char32_t kDecompPool[];

}  // namespace edgerun::unicode::data
