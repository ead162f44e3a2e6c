// Implemented in src/io/
//
// `edgerun iobench`: the storage's cold read bandwidth at several queue depths and block sizes,
// through the same direct reader the executors use (B of the physical bound max(S/B, C)). Each
// measurement starts cold: the file's cache is dropped and mincore must find no page. A direct
// measurement can be recorded per device, so that runs plan with it and report their bound
// against it. Leaves out: random-access patterns, writes.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "edgerun/types.h"

namespace edgerun {

struct IoBenchOptions {
  std::vector<int> depths{1, 2, 4, 8};
  std::vector<uint64_t> block_sizes{64 << 10, 1 << 20, 4 << 20};
  // Read per measurement from the file's start; 0: min(file, 1 GiB). More than the file reads it
  // again from the start (direct reads only: they leave no page in the cache, so every pass is
  // as cold as the first), to measure what the storage sustains over a run's whole stream.
  uint64_t bytes = 0;
  bool buffered = false;  // page-cache reads instead of O_DIRECT
  IoEngine engine = IoEngine::Auto;
  int repeat = 1;         // measurements per configuration; the median is reported
  std::function<void(const std::string&)> progress;  // one line per measurement
};

struct IoBenchPoint {
  int depth = 0;
  uint64_t block_bytes = 0;
  double seconds = 0;      // median over repeats
  double bytes_per_s = 0;  // bytes / seconds
  uint64_t resident_pages_before = 0;  // worst over repeats; 0 means every run started cold
  bool cold() const { return resident_pages_before == 0; }
};

struct IoBenchResult {
  std::string path;
  uint64_t file_bytes = 0;
  uint64_t bytes = 0;   // read per measurement
  bool direct = false;  // O_DIRECT was used (false: --buffered, or the filesystem refused it)
  std::string engine;   // "io_uring" or "threads" (direct_reader.h)
  std::vector<IoBenchPoint> grid;
  size_t best = 0;      // index into grid of the highest bandwidth
  double read_bytes_per_s = 0;
};

// Throws InputError for unusable options or an empty file, IoError on read errors.
IoBenchResult run_iobench(const std::string& path, const IoBenchOptions& o);

// Size of the regular file at `path`, by stat (never open: a FIFO must not block the caller).
// IoError naming the path when it is not a readable regular file.
uint64_t regular_file_bytes(const std::string& path);

// ---- the per-device record ----
// One small JSON file, $EDGERUN_CACHE_DIR/iobench.json (else $XDG_CACHE_HOME/edgerun, else
// ~/.cache/edgerun), keyed by the device (st_dev) that holds the file measured.

// The record file's path; empty when no directory can be named (no HOME).
std::string bandwidth_record_path();
// Records a direct-I/O measurement for the device holding `file` (atomically: write, rename).
// Returns false, changing nothing, where the directory cannot be written.
bool record_bandwidth(const std::string& file, double read_bytes_per_s);

}  // namespace edgerun
