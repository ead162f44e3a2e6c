// Fixed-baseline measurement and direct weight readers.
#include "runtime/baseline.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstring>

#include "io/direct_reader.h"
#include "kernels/cpu/kernels.h"
#include "runtime/report.h"

namespace edgerun {

uint64_t measure_fixed_baseline(const Graph& g) {
  int64_t width = 64;
  for (const Value& v : g.values) width = std::max(width, std::min<int64_t>(v.cols, 1024));
  const int64_t M = 64, K = width, N = width;
  const size_t bytes = static_cast<size_t>(M * K + K * N + M * N) * 4;
  // mmap so the warm-up buffers leave no trace in the heap once unmapped.
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return process_current_rss_bytes();
  auto* a = static_cast<float*>(p);
  std::memset(p, 0, bytes);
  kernels::linear(a, M, K, a + M * K, N, false, nullptr, a + M * K + K * N);
  munmap(p, bytes);
  return process_current_rss_bytes();
}

std::vector<std::unique_ptr<RandomAccessFile>> open_weight_files_direct(const WeightSet& ws, int queue_depth,
                                                                        uint64_t chunk_bytes,
                                                                        IoEngine engine) {
  DirectOptions o;
  o.engine = engine;
  o.queue_depth = queue_depth > 0 ? queue_depth : kWeightReadDepth;
  o.chunk_bytes = chunk_bytes > 0 ? chunk_bytes : kWeightReadChunk;
  std::vector<std::unique_ptr<RandomAccessFile>> out;
  for (const std::string& path : ws.paths) out.push_back(open_direct(path, o));
  return out;
}

}  // namespace edgerun
