// The SAMM ViT ASIC of Naveen R & George (VLSID 2024; seeds/001 section 1): three systolic
// arrays (17x32 for the projections and Q(K^T V), 16x32 for K^T V, 17x1 for the normaliser
// Q k_sum^T) plus a column accumulator for key mean-centring, running ViTALiTy Taylor attention
// in 16-bit fixed point. The paper gives the array sizes, not the schedule: the mapping of
// GEMMs to arrays and the dependency-driven schedule here are edgerun's (docs/SIM.md).
// Leaves out: LayerNorm, GELU and residual adds (not SAMM work: 0 cycles, 0 energy), leakage.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "models/model.h"
#include "sim/systolic.h"

namespace edgerun::sim {

struct SammConfig {
  ArrayShape qk_array{17, 32};   // "A": Q/K/V and other projections, Q (K^T V)
  ArrayShape v_array{16, 32};    // "B": K^T V for all heads at once
  ArrayShape out_array{17, 1};   // "C": the normaliser Q k_sum^T, one head at a time
  int64_t accumulator_lanes = 32;  // column accumulator: one adder per column
  int64_t post_lanes = 32;         // elementwise unit combining v_sum / n and Q (K^T V)
  Dataflow dataflow = Dataflow::Os;
  std::vector<double> clocks_mhz = {100.0, 250.0};  // 180 nm and 90 nm (the paper)
  std::vector<double> betas = {0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0};
};

enum class SammUnit : uint8_t { A, B, C, Accumulator, Post };
const char* samm_unit_name(SammUnit u);

struct SammStage {
  std::string name;      // e.g. "encoder.layer.0.attention.attention.ktv"
  SammUnit unit = SammUnit::A;
  GemmShape gemm;        // m = 0 for non-GEMM stages
  int64_t start = 0, end = 0;  // cycles
  int64_t macs = 0;      // MAC slots the array runs (block-diagonal zeros included)
  int64_t useful_macs = 0;
  int64_t scalar_adds = 0, scalar_mults = 0;  // accumulator / post unit work
  int64_t sram_words = 0;
};

struct SammScope {
  std::string name;  // "attention" (the paper's SAMM stage) or "all_gemms"
  std::vector<SammStage> stages;
  int64_t cycles = 0;  // makespan of the schedule, one inference
  int64_t macs = 0, useful_macs = 0;
  EnergyBreakdown energy;  // idle energy over all three arrays for the whole makespan
  struct Sweep {
    double beta, total_gated_pj, saving_total_pct, saving_pe_pct;
  };
  std::vector<Sweep> sweep;
};

struct SammReport {
  SammConfig cfg;
  EnergyParams energy;
  std::string model_dir;
  int64_t tokens = 0, d_model = 0, n_head = 0, head_dim = 0, n_layer = 0;
  SammScope attention, all_gemms;
};

// Costs one inference of `mg` (a non-causal model; ViT: tokens from the image) with Taylor
// attention on the ASIC. Throws UnsupportedError for causal models, InputError for bad sizes.
SammReport simulate_samm(const ModelGraph& mg, int64_t tokens, const SammConfig& cfg,
                         const EnergyParams& e);

nlohmann::json samm_json(const SammReport& r);
std::string samm_text(const SammReport& r);

}  // namespace edgerun::sim
