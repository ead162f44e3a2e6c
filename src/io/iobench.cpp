// run_iobench: for each depth x block size, open a DirectReader with those settings, make the
// file cold, and time one read_many over [0, bytes): the reader keeps `depth` reads in flight
// from the first chunk to the last, as a stream of layer loads does. (Separate read_at calls per
// window would drain the queue at every window, and measure the drains, well below what a
// continuous stream sustains: docs/BENCHMARKS.md.) Every
// window lands in the same buffer, twice as large as the reads in flight so that they never
// overlap; the bytes are not looked at. Past the end of the file the stream starts over at
// offset 0 (direct reads only), so B can be measured over as many bytes as a run streams.
#include "io/iobench.h"

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <vector>

#include "core/error.h"
#include "core/memory_budget.h"
#include "io/direct_reader.h"
#include "io/page_cache.h"
#include "edgerun/format.h"

namespace edgerun {

namespace {
constexpr uint64_t kAlign = 4096;

}  // namespace

IoBenchResult run_iobench(const std::string& path, const IoBenchOptions& o) {
  if (o.depths.empty() || o.block_sizes.empty())
    ER_THROW(InputError, "iobench: give at least one depth and one block size");
  for (int d : o.depths)
    if (d < 1 || d > 256) ER_THROW(InputError, "iobench: queue depth ", d, " is not in 1..256");
  for (uint64_t b : o.block_sizes)
    if (b < kAlign || b > (1ull << 30) || b % kAlign != 0)
      ER_THROW(InputError, "iobench: block size ", b,
               " must be a multiple of 4 KiB between 4 KiB and 1 GiB");
  if (o.repeat < 1 || o.repeat > 100) ER_THROW(InputError, "iobench: repeat must be in 1..100");

  IoBenchResult res;
  res.path = path;
  {
    DirectOptions popt;
    popt.queue_depth = 2;  // the engine is chosen only for readers with reads in flight
    popt.buffered = o.buffered;
    popt.engine = o.engine;
    auto probe = open_direct_reader(path, popt);
    res.file_bytes = probe->size();
    res.direct = probe->is_direct();
    res.engine = probe->engine();
  }
  if (res.file_bytes == 0) ER_THROW(InputError, path, ": file is empty, nothing to measure");
  uint64_t bytes = o.bytes == 0 ? std::min<uint64_t>(res.file_bytes, 1ull << 30) : o.bytes;
  if (bytes > res.file_bytes && !res.direct)
    ER_THROW(InputError, "iobench: --bytes ", bytes, " is more than the file's ", res.file_bytes,
             ", and buffered reads of a second pass would come from the page cache");
  if (bytes > (1ull << 46)) ER_THROW(InputError, "iobench: --bytes ", bytes, " is more than 64 TiB");
  // Whole aligned windows, except at the end of the file, keep every read direct.
  bytes = MemoryBudget::round_up(bytes);

  // Huge pages, as the runtime's weight buffers under a budget: with 4 KiB pages every read is
  // also split into one segment per page, and the storage's best would be understated.
  MemoryBudget arena(MemoryBudget::kUnlimited, HugePages::On);
  for (int depth : o.depths) {
    for (uint64_t block : o.block_sizes) {
      // One batch of window-sized reads keeps the queue full from the first to the last, and
      // reads in flight may share destination bytes (the data is not looked at), so a small
      // window serves every depth. It is touched before the clock starts: B is the storage's,
      // not the cost of faulting in fresh memory (which, on a VM right after another process
      // freed a lot of it, is slower than the disk).
      const uint64_t window = std::min<uint64_t>(64ull << 20, MemoryBudget::round_up(std::min(bytes, res.file_bytes)));
      Allocation buf = arena.acquire(window, "iobench buffer", PageKind::Huge);
      std::memset(buf.data(), 0, buf.size());
      DirectOptions dopt;
      dopt.queue_depth = depth;
      dopt.chunk_bytes = block;
      dopt.buffered = o.buffered;
      dopt.engine = o.engine;
      std::vector<double> times;
      IoBenchPoint pt;
      pt.depth = depth;
      pt.block_bytes = block;
      std::vector<ReadRequest> reqs;
      uint64_t read = 0;  // as many bytes as asked, the last pass over the file ending early
      for (uint64_t left = bytes; left > 0;) {
        for (uint64_t off = 0; off < res.file_bytes && left > 0; off += window) {
          const uint64_t n = std::min({window, res.file_bytes - off, left});
          reqs.push_back({off, n, buf.data()});
          read += n;
          left -= std::min(left, MemoryBudget::round_up(n));
        }
      }
      res.bytes = read;
      for (int r = 0; r < o.repeat; ++r) {
        auto f = open_direct_reader(path, dopt);
        pt.resident_pages_before = std::max(pt.resident_pages_before, make_cold(path));
        const auto t0 = std::chrono::steady_clock::now();
        f->read_many(reqs.data(), reqs.size());
        times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      }
      std::sort(times.begin(), times.end());
      pt.seconds = times[times.size() / 2];
      pt.bytes_per_s = pt.seconds > 0 ? static_cast<double>(read) / pt.seconds : 0;
      if (o.progress) {
        char line[256];
        // Rates in decimal GB/s, as storage is rated and as every edgerun report gives them.
        std::snprintf(line, sizeof line, "iobench: depth %d, block %s: %.3f GB/s%s", depth,
                      format_bytes(static_cast<double>(block)).c_str(), pt.bytes_per_s / 1e9,
                      pt.cold() ? "" : " (NOT cold: pages stayed cached after the drop)");
        o.progress(line);
      }
      res.grid.push_back(pt);
    }
  }
  for (size_t i = 0; i < res.grid.size(); ++i)
    if (res.grid[i].bytes_per_s > res.grid[res.best].bytes_per_s) res.best = i;
  res.read_bytes_per_s = res.grid[res.best].bytes_per_s;
  return res;
}

uint64_t regular_file_bytes(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) ER_THROW(IoError, path, ": not a readable regular file");
  return static_cast<uint64_t>(st.st_size);
}

}  // namespace edgerun
