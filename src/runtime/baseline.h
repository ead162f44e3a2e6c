// The runtime's fixed baseline (memory outside the budget: the binary, libraries, BLAS packing
// buffers, thread stacks) and the weight readers a session streams through.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "edgerun/types.h"
#include "formats/safetensors.h"
#include "graph/graph.h"
#include "io/file.h"

namespace edgerun {

// Warms the BLAS (its threads and packing buffers) with a small GEMM of the model's width, then
// returns the process's resident set: what stays outside the budget for this configuration.
uint64_t measure_fixed_baseline(const Graph& g);

// Weight reads keep many reads in flight: the virtual disks measured here deliver their bandwidth
// only with deep queues. 4 MiB reads into huge-page buffers (core/memory_budget.h) hand the device
// two segments each; 1 MiB reads into 4 KiB pages cost compute time and streaming rate
// (docs/STREAMING.md has the measurements).
inline constexpr int kWeightReadDepth = 32;
inline constexpr uint64_t kWeightReadChunk = 4ull << 20;

// One direct-I/O reader per weight file (buffered fallback with a warning where refused).
// queue_depth reads of chunk_bytes each are in flight per read (0: kWeightReadDepth and
// kWeightReadChunk).
// engine: "auto", "uring" or "threads" (io/direct_reader.h IoEngine).
std::vector<std::unique_ptr<RandomAccessFile>> open_weight_files_direct(const WeightSet& ws,
                                                                        int queue_depth = 0,
                                                                        uint64_t chunk_bytes = 0,
                                                                        IoEngine engine = IoEngine::Auto);

}  // namespace edgerun
