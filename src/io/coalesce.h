// Byte-range coalescing: turns the ranges of the tensors one read will cover into few large,
// 4 KiB-aligned extents (the aligned supersets direct I/O needs), merging ranges whose gap is
// small enough that reading it costs less than another request.
#pragma once
#include <cstdint>
#include <vector>

namespace edgerun {

struct ByteRange {
  uint64_t begin = 0, end = 0;
};

struct Extent {
  uint64_t begin = 0, end = 0;   // aligned down / up to `align`, end clipped to the file size
  std::vector<int32_t> members;  // indices into the input ranges it covers
};

// Ranges may come in any order and may overlap. `max_gap`: bytes of unused data tolerated
// between two ranges merged into one extent.
std::vector<Extent> coalesce_ranges(const std::vector<ByteRange>& ranges, uint64_t file_size,
                                    uint64_t align = 4096, uint64_t max_gap = 256 * 1024);

}  // namespace edgerun
