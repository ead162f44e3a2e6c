// Analytic model of an R x C systolic array (the SAMM array) running GEMMs with the os, ws or is
// dataflow. Cycle counts, utilization and mapping efficiency follow SCALE-Sim's definitions
// exactly in the no-stall case (DESIGN.md, "Accelerator models"); SRAM/DRAM traffic, stalls
// under a bandwidth limit and energy are edgerun's own first-order model (docs/SIM.md).
// Leaves out: SCALE-Sim's trace-level memory simulation, sparsity and convolution layouts.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "edgerun/sim.h"
#include "graph/attention_gemms.h"
#include "sim/energy_table.h"

namespace edgerun::sim {

enum class Dataflow : uint8_t { Os, Ws, Is };
Dataflow parse_dataflow(std::string_view s);  // "os" | "ws" | "is"; InputError otherwise
const char* dataflow_name(Dataflow d);

constexpr int64_t kMaxArraySide = 16384;           // PEs per side
constexpr int64_t kMaxArrayPes = int64_t{1} << 26;  // rows * cols
constexpr int64_t kMaxSramKb = int64_t{16} << 20;  // 16 GiB per buffer
// Default buffer size: large enough that no GEMM of a transformer refetches (SCALE-Sim's
// "no-stall configuration").
// kNoStallSramKb (1 GiB): edgerun/sim.h.

struct ArrayShape {
  int64_t rows = 0, cols = 0;
};
// "RxC" (e.g. "16x32"); InputError for anything else, zero, negative or absurd sides.
ArrayShape parse_array_shape(std::string_view s);

struct SystolicConfig {
  int64_t rows = 32, cols = 32;
  Dataflow dataflow = Dataflow::Os;
  int64_t ifmap_sram_kb = kNoStallSramKb;
  int64_t filter_sram_kb = kNoStallSramKb;
  int64_t ofmap_sram_kb = kNoStallSramKb;
  double bandwidth = 0;  // DRAM words per cycle; 0 = unlimited (no stalls)
  // InputError naming the field for impossible values.
  void validate() const;
};

// How a GEMM folds onto the array. Sr x Sc is the spatial extent, T the temporal one.
struct FoldGeometry {
  int64_t sr = 0, sc = 0, t = 0;
  int64_t row_folds = 0, col_folds = 0, folds = 0;
  int64_t tau = 0;          // cycles per fold (fill + stream + drain)
  int64_t util_window = 0;  // SCALE-Sim's per-fold cycle count in its compute utilization
};
FoldGeometry fold_geometry(const SystolicConfig& cfg, const GemmShape& g);

struct MemoryCounts {  // in words
  int64_t sram_ifmap_reads = 0, sram_filter_reads = 0, sram_ofmap_writes = 0,
          sram_ofmap_reads = 0;
  int64_t dram_ifmap_reads = 0, dram_filter_reads = 0, dram_ofmap_writes = 0,
          dram_ofmap_reads = 0;
  int64_t sram_total() const {
    return sram_ifmap_reads + sram_filter_reads + sram_ofmap_writes + sram_ofmap_reads;
  }
  int64_t dram_total() const {
    return dram_ifmap_reads + dram_filter_reads + dram_ofmap_writes + dram_ofmap_reads;
  }
};

struct EnergyBreakdown {  // pJ
  double mac = 0;          // active PE-cycles
  double idle_ungated = 0; // idle PE-cycles without clock gating
  double idle_gated = 0;   // idle PE-cycles with clock gating (beta)
  double other = 0;        // column accumulator, elementwise units (ASIC model)
  double sram = 0, dram = 0;
  double total_ungated() const { return mac + idle_ungated + other + sram + dram; }
  double total_gated() const { return mac + idle_gated + other + sram + dram; }
  EnergyBreakdown& operator+=(const EnergyBreakdown& o);
};

struct GemmCost {
  std::string layer;  // the model layer the GEMM belongs to ("" for a topology file)
  GemmShape gemm;
  FoldGeometry geo;
  int64_t total_cycles = 0;  // SCALE-Sim's "Total Cycles": F * tau - 1 + stalls
  int64_t stall_cycles = 0;
  double overall_util_pct = 0, mapping_eff_pct = 0, compute_util_pct = 0;
  int64_t macs = 0;          // M * N * K
  int64_t pe_cycles = 0;     // rows * cols * (F * tau + stalls): every PE's clocked cycles
  MemoryCounts mem;
  EnergyBreakdown energy;
};

// Costs one GEMM. InputError if a count would overflow 64 bits.
GemmCost cost_gemm(const SystolicConfig& cfg, const GemmShape& g, const EnergyParams& e);

struct LayerGemm {
  std::string layer;
  GemmShape gemm;
};

struct SystolicReport {
  SystolicConfig cfg;
  EnergyParams energy;
  std::vector<GemmCost> gemms;
  // Sums over gemms (utilization over the whole run: MACs / (PEs * cycles)).
  int64_t total_cycles = 0, stall_cycles = 0, macs = 0, pe_cycles = 0;
  double overall_util_pct = 0;
  MemoryCounts mem;
  EnergyBreakdown total_energy;
};

SystolicReport simulate_systolic(const SystolicConfig& cfg, const std::vector<LayerGemm>& gemms,
                                 const EnergyParams& e);

// Checked int64 arithmetic for counts built from untrusted sizes; InputError names `what`.
int64_t mul_checked(int64_t a, int64_t b, const std::string& what);
int64_t add_checked(int64_t a, int64_t b, const std::string& what);

}  // namespace edgerun::sim
