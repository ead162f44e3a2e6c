// SCALE-Sim's GEMM topology CSV: a header "Layer, M, N, K," then one "name, M, N, K," row per
// layer (C[M x N] = A[M x K] B[K x N]), trailing commas and spaces allowed, blank lines skipped.
// Leaves out SCALE-Sim's convolution topologies and N:M sparsity (only a dense "1:1" is
// accepted in the optional fifth column). The file is untrusted: every error names file and line.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "graph/attention_gemms.h"

namespace edgerun::sim {

constexpr int64_t kMaxGemmDim = int64_t{1} << 24;   // per M, N or K
constexpr int64_t kMaxTopologyLayers = 1000000;
constexpr uint64_t kMaxTopologyBytes = 64ull << 20;

// Throws FormatError "<path>:<line>: ..." on malformed text, UnsupportedError for sparsity.
std::vector<GemmShape> parse_topology_csv(std::string_view text, const std::string& path);
// Reads `path` (IoError if it cannot) and parses it.
std::vector<GemmShape> read_topology_csv(const std::string& path);
// Writes `gemms` in the same form (for scripts and round trips); IoError on failure.
void write_topology_csv(const std::string& path, const std::vector<GemmShape>& gemms);

}  // namespace edgerun::sim
