// WeightLoader: makes a layer resident (SwapNet's swap-in and assembly by reference): reads the
// coalesced, 4 KiB-aligned extents covering its slots into budgeted buffers and binds each slot
// to a pointer inside them. No weight byte is copied after the read, except the one permitted
// conversion of non-fp32 (or misaligned) tensors into budgeted fp32 scratch.
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "core/memory_budget.h"
#include "formats/safetensors.h"
#include "graph/graph.h"
#include "io/file.h"

namespace edgerun {

struct ResidentLayer {
  int32_t layer = -1;
  std::vector<Allocation> buffers;
  uint64_t bytes() const {
    uint64_t n = 0;
    for (const auto& b : buffers) n += b.size();
    return n;
  }
};

class WeightLoader {
 public:
  WeightLoader(Graph& g, const WeightSet& ws, MemoryBudget& budget);

  // Reads and binds every slot of `layer`. Thread-safe for distinct layers.
  ResidentLayer load(int32_t layer);
  // Unbinds the slots of a layer (call before its buffers are released).
  void unbind(int32_t layer);
  // Reads rows `ids` (n) of a gather_rows slot (V, D) into out (n, D) as fp32. ids must be
  // checked by the caller (0 <= id < V).
  void gather_rows(SlotId s, const int64_t* ids, int64_t n, float* out);

  uint64_t bytes_read() const { return bytes_read_.load(); }
  uint64_t weight_copies() const { return copies_.load(); }  // slots converted into scratch

 private:
  Graph& g_;
  MemoryBudget& budget_;
  std::vector<std::unique_ptr<RandomAccessFile>> files_;
  std::atomic<uint64_t> bytes_read_{0};
  std::atomic<uint64_t> copies_{0};
};

// Widens `n` elements of dtype `dt` at `src` to fp32 (F32, BF16, F16).
void convert_to_f32(DType dt, const void* src, int64_t n, float* dst);

}  // namespace edgerun
