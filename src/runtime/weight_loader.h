// WeightLoader: makes a layer resident (SwapNet's swap-in and assembly by reference): reads the
// coalesced, 4 KiB-aligned extents covering its slots into budgeted buffers and binds each slot
// to a pointer inside them. No weight byte is copied after the read, except the one permitted
// conversion of non-fp32 (or misaligned) tensors into budgeted fp32 scratch, or the packing of
// a weight into its backend's layout (WeightSlot::packer).
// Loading is split in two so that a pipeline can grant budget in layer order (reserve, under a
// ticket) while the reads themselves run in parallel (fill).
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "core/memory_budget.h"
#include "formats/safetensors.h"
#include "graph/backend.h"
#include "graph/graph.h"
#include "io/coalesce.h"
#include "io/file.h"

namespace edgerun {

class Trace;

struct ResidentLayer {
  int32_t layer = -1;
  std::vector<Allocation> buffers;
  uint64_t bytes() const {
    uint64_t n = 0;
    for (const auto& b : buffers) n += b.size();
    return n;
  }
};

// A layer whose buffers are granted but not yet read. Extents that hold a tensor bound in place
// share one buffer for the whole layer (`shared`): a layer is then one request to the budget, of
// the same size for every layer of its kind, so the pages a freed layer leaves behind fit the
// next load exactly. Extents whose every tensor is converted get their own buffer (`own`),
// released once converted.
struct PendingLayer {
  int32_t layer = -1;
  struct Read {
    int32_t file;
    Extent extent;
    std::vector<SlotId> slots;  // slots inside the extent
    char* dst = nullptr;        // inside `shared` or `own`
    Allocation own;
    std::vector<Allocation> conv;  // fp32 scratch for slots that cannot bind in place (by slot)
    std::vector<bool> in_place;
    std::vector<uint64_t> shift;   // bytes a slot moves forward to align (WeightLoader::Plan)
  };
  Allocation shared;
  std::vector<Read> reads;
};

// Bytes a layer occupies while resident, and at the peak of its load (raw read buffers plus
// conversion scratch, before raw buffers of fully converted extents are released).
struct LayerFootprint {
  uint64_t resident = 0;
  uint64_t peak = 0;
  uint64_t limited_peak = 0;  // peak under any limited budget (huge-page rounding; minimum budget)
  uint64_t huge = 0;          // the part of resident (and peak) in huge pages under this budget
};

// Also the RowGather of the backends: embedding rows come straight from the files.
class WeightLoader final : public RowGather {
 public:
  WeightLoader(Graph& g, const WeightSet& ws, MemoryBudget& budget);

  // Convenience: reserve (non-blocking) + fill.
  ResidentLayer load(int32_t layer);
  // Acquires every buffer the layer needs; blocking waits for budget (flow control).
  PendingLayer reserve(int32_t layer, bool blocking);
  // Reads the extents and binds the slots. Thread-safe for distinct layers.
  ResidentLayer fill(PendingLayer&& p);
  // Unbinds the slots of a layer (call before its buffers are released).
  void unbind(int32_t layer);
  // Reads rows `ids` (n) of a gather_rows slot (V, D) into out (n, D) as fp32, through `staging`
  // (row_staging_bytes(s) bytes). ids must be checked by the caller (0 <= id < V).
  void gather_rows(SlotId s, const int64_t* ids, int64_t n, float* out, void* staging) override;
  uint64_t row_staging_bytes(SlotId s) const override;

  LayerFootprint footprint(int32_t layer) const;
  // Replaces the reader of every file (direct I/O, fault injection, throttling).
  void set_files(std::vector<std::unique_ptr<RandomAccessFile>> files);
  RandomAccessFile& file(int32_t i) { return *files_[i]; }
  void set_trace(Trace* t) { trace_ = t; }

  uint64_t bytes_read() const { return bytes_read_.load(); }
  uint64_t weight_copies() const { return copies_.load(); }  // slots converted into scratch
  uint64_t weight_packs() const { return packs_.load(); }    // slots packed by their backend

 private:
  struct Plan {
    int32_t file;
    Extent extent;
    std::vector<SlotId> slots;
    std::vector<bool> in_place;
    // An fp32 tensor at an offset that is not a multiple of 4 (raw_data inside an .onnx file)
    // binds in place too: after the read it moves forward by `shift` bytes to an aligned spot,
    // and so does every tensor after it in the extent, the shifts growing along the extent so no
    // tensor lands on the next; the buffer holds `slack` more bytes for them. A copy of the read,
    // instead of a second buffer of the layer.
    std::vector<uint64_t> shift;
    uint64_t slack = 0;
    // Some tensor binds inside the read buffer, so the buffer stays while the layer is resident.
    bool binds_in_place() const;
  };
  std::vector<Plan> plan(int32_t layer) const;
  // Bytes a slot takes when not bound in place: fp32, or its backend's packed layout.
  uint64_t converted_bytes(SlotId s) const;

  Graph& g_;
  MemoryBudget& budget_;
  std::vector<std::unique_ptr<RandomAccessFile>> files_;
  // Embedding rows are small and scattered: read through the page cache, hinted all at once so
  // the kernel fetches them in parallel.
  std::vector<std::unique_ptr<RandomAccessFile>> row_files_;
  std::atomic<uint64_t> bytes_read_{0};
  std::atomic<uint64_t> copies_{0};
  std::atomic<uint64_t> packs_{0};
  Trace* trace_ = nullptr;
};

// Rounds fp32 values to the nearest bf16 (--precision bf16 on fp32 files), in place.
void round_to_bf16(float* x, int64_t n);

}  // namespace edgerun
