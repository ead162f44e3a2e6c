// coalesce_ranges: sort by start, merge within max_gap, align the merged spans.
#include "io/coalesce.h"

#include <algorithm>
#include <numeric>

namespace edgerun {

std::vector<Extent> coalesce_ranges(const std::vector<ByteRange>& ranges, uint64_t file_size,
                                    uint64_t align, uint64_t max_gap) {
  std::vector<int32_t> order(ranges.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(),
            [&](int32_t a, int32_t b) { return ranges[a].begin < ranges[b].begin; });
  std::vector<Extent> out;
  for (int32_t i : order) {
    const ByteRange& r = ranges[i];
    uint64_t b = r.begin / align * align;
    uint64_t e = std::min((r.end + align - 1) / align * align, file_size);
    if (!out.empty() && b <= out.back().end + max_gap) {
      out.back().end = std::max(out.back().end, e);
      out.back().members.push_back(i);
    } else {
      out.push_back(Extent{b, e, {i}});
    }
  }
  return out;
}

}  // namespace edgerun
