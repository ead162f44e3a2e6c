// The systolic-array model: closed forms against a fold-by-fold re-derivation of SCALE-Sim's
// bookkeeping, hand-checked cycle counts, traffic, stalls, energy, and bad array / SRAM input.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "core/error.h"
#include "sim/energy_table.h"
#include "sim/systolic.h"
#include "test_util.h"

using namespace edgerun;
using namespace edgerun::sim;

namespace {

SystolicConfig cfg_of(int64_t r, int64_t c, Dataflow df) {
  SystolicConfig cfg;
  cfg.rows = r;
  cfg.cols = c;
  cfg.dataflow = df;
  return cfg;
}

// SCALE-Sim 3.0.0's loops, fold by fold: demand-matrix row counts per fold (operand rows, the
// inter-fold gaps and the skew of systolic_compute_*.py) and the per-fold utilization terms.
struct Brute {
  int64_t total_cycles;
  double mapping_pct, compute_pct;
};
Brute brute(int64_t R, int64_t C, Dataflow df, int64_t M, int64_t N, int64_t K) {
  int64_t Sr, Sc, T;
  if (df == Dataflow::Os) Sr = M, Sc = N, T = K;
  else if (df == Dataflow::Ws) Sr = K, Sc = N, T = M;
  else Sr = K, Sc = M, T = N;
  int64_t rows = 0;
  double map_sum = 0, comp_sum = 0;
  int64_t folds = 0;
  for (int64_t fc = 0; fc < (Sc + C - 1) / C; ++fc)
    for (int64_t fr = 0; fr < (Sr + R - 1) / R; ++fr) {
      const int64_t row_used = std::min(R, Sr - fr * R), col_used = std::min(C, Sc - fc * C);
      int64_t fold_rows = 0, window = 0;
      if (df == Dataflow::Os) {
        fold_rows = (T + C - 1) + (R - 1);  // ifmap: T rows + (C-1) gap, skewed over R cols
        window = (T - 1 + R) + C - 1;       // ofmap demand (T-1 prefix + R rows) x C
      } else if (df == Dataflow::Ws) {
        fold_rows = (R + T + C - 1) + (R - 1);  // ifmap: R prefix + T + (C-1), skewed
        window = (R + (R + C + T - 2)) + C - 1;  // filter demand (R + suffix) x C
      } else {
        fold_rows = (2 * R - 1 + T) + (C - 1);   // ofmap: (2R-1) prefix + T, skewed over C
        window = (R + (R + C + T - 2)) + C - 1;  // ifmap demand (R + suffix) x C
      }
      rows += fold_rows;
      const double used = static_cast<double>(row_used * col_used);
      map_sum += used / static_cast<double>(R * C);
      comp_sum += used * static_cast<double>(T) / static_cast<double>(R * C * window);
      ++folds;
    }
  return {rows - 1, map_sum / folds * 100.0, comp_sum / folds * 100.0};
}

}  // namespace

TEST(SimSystolic, HandCheckedAgainstScaleSimRuns) {
  // Numbers SCALE-Sim 3.0.0 printed for an 8x8 array, as scripts/scalesim_reference.py wrote
  // them into tests/data/scalesim/reference.csv (rows example_l0, example_l1 and
  // resnet20_layer3_conv_im2col): os 17x32x48 -> 743 cycles, mapping 70.8333..%, compute
  // 54.8387..%; os 20x9x13 -> 161; ws and is 64x64x576 -> 49535 cycles.
  const auto ref = edgerun::test::read_csv(std::string(EDGERUN_TEST_DATA) + "/scalesim/reference.csv");
  auto row = [&](const char* df, const char* layer) {
    for (const auto& r : ref)
      if (r.at("array") == "8x8" && r.at("dataflow") == df && r.at("layer") == layer) return r;
    ADD_FAILURE() << "reference.csv has no 8x8 " << df << " " << layer;
    return std::map<std::string, std::string>{{"Total Cycles", "-1"}, {"Compute Util %", "-1"}, {"Overall Util %", "-1"}};
  };
  EXPECT_EQ(row("os", "example_l0").at("Total Cycles"), "743");
  EXPECT_EQ(row("os", "example_l0").at("Mapping Efficiency %").substr(0, 10), "70.8333333");
  EXPECT_EQ(row("os", "example_l0").at("Compute Util %").substr(0, 10), "54.8387096");
  EXPECT_EQ(row("os", "example_l0").at("Overall Util %").substr(0, 10), "54.9125168");
  EXPECT_EQ(row("os", "example_l1").at("Total Cycles"), "161");
  for (const char* df : {"ws", "is"}) {
    EXPECT_EQ(row(df, "resnet20_layer3_conv_im2col").at("Total Cycles"), "49535") << df;
    EXPECT_EQ(row(df, "resnet20_layer3_conv_im2col").at("Compute Util %").substr(0, 10), "68.8172043") << df;
    EXPECT_EQ(row(df, "resnet20_layer3_conv_im2col").at("Overall Util %").substr(0, 10), "74.4201069") << df;
  }
  const EnergyParams e = energy_params(Precision::Q16);
  GemmCost a = cost_gemm(cfg_of(8, 8, Dataflow::Os), {"l0", 17, 32, 48}, e);
  EXPECT_EQ(a.total_cycles, 743);
  EXPECT_EQ(a.stall_cycles, 0);
  EXPECT_EQ(a.geo.folds, 12);
  EXPECT_NEAR(a.mapping_eff_pct, 70.83333333333334, 1e-9);
  EXPECT_NEAR(a.compute_util_pct, 54.83870967741936, 1e-9);
  EXPECT_NEAR(a.overall_util_pct, 54.91251682368775, 1e-9);
  GemmCost b = cost_gemm(cfg_of(8, 8, Dataflow::Os), {"l1", 20, 9, 13}, e);
  EXPECT_EQ(b.total_cycles, 161);
  for (Dataflow df : {Dataflow::Ws, Dataflow::Is}) {
    GemmCost c = cost_gemm(cfg_of(8, 8, df), {"l", 64, 64, 576}, e);
    EXPECT_EQ(c.total_cycles, 49535);
    EXPECT_NEAR(c.compute_util_pct, 68.81720430107522, 1e-9);
    EXPECT_NEAR(c.overall_util_pct, 74.420106995054, 1e-9);
  }
}

TEST(SimSystolic, ClosedFormsMatchFoldByFoldLoops) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int64_t> dim(1, 200), side(1, 40);
  const EnergyParams e = energy_params(Precision::Q16);
  for (int it = 0; it < 400; ++it) {
    const int64_t R = side(rng), C = side(rng), M = dim(rng), N = dim(rng), K = dim(rng);
    for (Dataflow df : {Dataflow::Os, Dataflow::Ws, Dataflow::Is}) {
      GemmCost c = cost_gemm(cfg_of(R, C, df), {"g", M, N, K}, e);
      Brute b = brute(R, C, df, M, N, K);
      ASSERT_EQ(c.total_cycles, b.total_cycles) << R << "x" << C << " " << dataflow_name(df);
      ASSERT_NEAR(c.mapping_eff_pct, b.mapping_pct, 1e-9 * std::max(1.0, b.mapping_pct));
      ASSERT_NEAR(c.compute_util_pct, b.compute_pct, 1e-9 * std::max(1.0, b.compute_pct));
    }
  }
}

TEST(SimSystolic, DesignFormulas) {
  // DESIGN.md: os tau = R + C + K - 2; ws tau = 2R + C + M - 2; is tau = 2R + C + N - 2.
  SystolicConfig c = cfg_of(16, 32, Dataflow::Os);
  FoldGeometry f = fold_geometry(c, {"g", 100, 70, 50});
  EXPECT_EQ(f.tau, 16 + 32 + 50 - 2);
  EXPECT_EQ(f.folds, 7 * 3);
  c.dataflow = Dataflow::Ws;
  f = fold_geometry(c, {"g", 100, 70, 50});
  EXPECT_EQ(f.tau, 32 + 32 + 100 - 2);
  EXPECT_EQ(f.folds, 4 * 3);  // ceil(50/16) * ceil(70/32)
  c.dataflow = Dataflow::Is;
  f = fold_geometry(c, {"g", 100, 70, 50});
  EXPECT_EQ(f.tau, 32 + 32 + 70 - 2);
  EXPECT_EQ(f.folds, 4 * 4);  // ceil(50/16) * ceil(100/32)
}

TEST(SimSystolic, TrafficNoStallAndRefetch) {
  const EnergyParams e = energy_params(Precision::Q16);
  const GemmShape g{"g", 64, 48, 40};  // M N K
  SystolicConfig c = cfg_of(16, 16, Dataflow::Os);
  GemmCost big = cost_gemm(c, g, e);
  EXPECT_EQ(big.mem.sram_ifmap_reads, 3 * 64 * 40);  // re-streamed per column fold (48/16)
  EXPECT_EQ(big.mem.sram_filter_reads, 4 * 40 * 48);  // per row fold (64/16)
  EXPECT_EQ(big.mem.sram_ofmap_writes, 64 * 48);
  EXPECT_EQ(big.mem.dram_ifmap_reads, 64 * 40);      // everything fits: each word once
  EXPECT_EQ(big.mem.dram_filter_reads, 40 * 48);
  EXPECT_EQ(big.mem.dram_ofmap_writes, 64 * 48);
  c.ifmap_sram_kb = 1;  // 512 words, 256 active: the 2560-word ifmap is fetched per pass
  GemmCost small = cost_gemm(c, g, e);
  EXPECT_EQ(small.mem.dram_ifmap_reads, 3 * 64 * 40);
  EXPECT_EQ(small.total_cycles, big.total_cycles);  // unlimited bandwidth: no stalls

  SystolicConfig w = cfg_of(16, 16, Dataflow::Ws);  // K splits over 3 row folds
  GemmCost ws = cost_gemm(w, g, e);
  EXPECT_EQ(ws.mem.sram_ofmap_writes, 3 * 64 * 48);
  EXPECT_EQ(ws.mem.sram_ofmap_reads, 2 * 64 * 48);
  EXPECT_EQ(ws.mem.dram_ofmap_writes, 64 * 48);
  w.ofmap_sram_kb = 1;  // a column fold's 64x16 partial sums no longer fit: they spill
  GemmCost spill = cost_gemm(w, g, e);
  EXPECT_EQ(spill.mem.dram_ofmap_writes, 3 * 64 * 48);
  EXPECT_EQ(spill.mem.dram_ofmap_reads, 2 * 64 * 48);
}

TEST(SimSystolic, BandwidthStalls) {
  const EnergyParams e = energy_params(Precision::Q16);
  SystolicConfig c = cfg_of(8, 8, Dataflow::Os);
  const GemmShape g{"g", 64, 64, 64};
  GemmCost free_bw = cost_gemm(c, g, e);
  c.bandwidth = 0.25;  // words per cycle
  GemmCost slow = cost_gemm(c, g, e);
  const int64_t busy = free_bw.total_cycles + 1;
  const int64_t transfer = static_cast<int64_t>(std::ceil(slow.mem.dram_total() / 0.25));
  ASSERT_GT(transfer, busy);
  EXPECT_EQ(slow.stall_cycles, transfer - busy);
  EXPECT_EQ(slow.total_cycles, free_bw.total_cycles + slow.stall_cycles);
  EXPECT_LT(slow.overall_util_pct, free_bw.overall_util_pct);
}

TEST(SimSystolic, EnergyAndGating) {
  EnergyParams e = energy_params(Precision::Q16);
  EXPECT_DOUBLE_EQ(e.mac_pj, 1.05);        // 16-bit mult 1.0 + add 0.05 (Horowitz, 45 nm)
  EXPECT_DOUBLE_EQ(e.sram_word_pj, 2.5);   // 10 pJ per 64-bit access, 4 words
  EXPECT_DOUBLE_EQ(e.dram_word_pj, 325.0);  // 1.3 nJ per 64-bit access, 4 words
  SystolicConfig c = cfg_of(16, 16, Dataflow::Os);
  GemmCost g = cost_gemm(c, {"g", 17, 20, 30}, e);
  const double idle = static_cast<double>(g.pe_cycles - g.macs);
  EXPECT_EQ(g.pe_cycles, 256 * (g.total_cycles + 1));
  EXPECT_DOUBLE_EQ(g.energy.mac, 17.0 * 20 * 30 * 1.05);
  EXPECT_DOUBLE_EQ(g.energy.idle_ungated, idle * 1.05);
  EXPECT_DOUBLE_EQ(g.energy.idle_gated, idle * 1.05 * e.beta);
  EXPECT_LT(g.energy.total_gated(), g.energy.total_ungated());
  e.beta = 1.0;
  GemmCost same = cost_gemm(c, {"g", 17, 20, 30}, e);
  EXPECT_DOUBLE_EQ(same.energy.total_gated(), same.energy.total_ungated());
  // fp32: 32-bit float mult + add, 2 words per 64-bit access.
  EnergyParams f = energy_params(Precision::Fp32);
  EXPECT_DOUBLE_EQ(f.mac_pj, 3.7 + 0.9);
  EXPECT_DOUBLE_EQ(f.sram_word_pj, 5.0);
  for (const EnergyEntry& t : energy_table()) {
    EXPECT_FALSE(std::string(t.source).empty()) << t.key;
    EXPECT_FALSE(std::string(t.node).empty()) << t.key;
    EXPECT_LE(t.low, t.value) << t.key;
    EXPECT_GE(t.high, t.value) << t.key;
  }
}

TEST(SimSystolic, WorkloadTotals) {
  const EnergyParams e = energy_params(Precision::Q16);
  SystolicConfig c = cfg_of(8, 8, Dataflow::Os);
  SystolicReport r = simulate_systolic(c, {{"a", {"l0", 17, 32, 48}}, {"a", {"l1", 20, 9, 13}}}, e);
  ASSERT_EQ(r.gemms.size(), 2u);
  EXPECT_EQ(r.total_cycles, 743 + 161);
  EXPECT_EQ(r.macs, 17 * 32 * 48 + 20 * 9 * 13);
  EXPECT_EQ(r.gemms[1].layer, "a");
}

TEST(SimSystolic, ArrayShapeParsing) {
  ArrayShape a = parse_array_shape("16x32");
  EXPECT_EQ(a.rows, 16);
  EXPECT_EQ(a.cols, 32);
  EXPECT_EQ(parse_array_shape("17X1").cols, 1);
  for (const char* bad : {"0x8", "8x0", "-1x8", "8x-1", "8", "8x", "x8", "axb", "8x8x8", "",
                          "16384x16384", "99999999999999999999x1", "1.5x2", " 8x8", "16385x1"})
    EXPECT_THROW(parse_array_shape(bad), InputError) << bad;
  try {
    parse_array_shape("0x8");
    FAIL();
  } catch (const InputError& err) {
    EXPECT_NE(std::string(err.what()).find("rows '0'"), std::string::npos) << err.what();
  }
}

TEST(SimSystolic, ImpossibleConfigsAreInputErrors) {
  auto bad = [](auto mutate) {
    SystolicConfig c = cfg_of(8, 8, Dataflow::Os);
    mutate(c);
    EXPECT_THROW(c.validate(), InputError);
  };
  bad([](SystolicConfig& c) { c.rows = 0; });
  bad([](SystolicConfig& c) { c.cols = -3; });
  bad([](SystolicConfig& c) { c.rows = kMaxArraySide + 1; });
  bad([](SystolicConfig& c) { c.ifmap_sram_kb = 0; });
  bad([](SystolicConfig& c) { c.filter_sram_kb = -1; });
  bad([](SystolicConfig& c) { c.ofmap_sram_kb = kMaxSramKb + 1; });
  bad([](SystolicConfig& c) { c.bandwidth = -1; });
  bad([](SystolicConfig& c) { c.bandwidth = std::nan(""); });
  bad([](SystolicConfig& c) { c.bandwidth = INFINITY; });
  EXPECT_THROW(parse_dataflow("rs"), InputError);
  EXPECT_THROW(parse_precision("int8"), InputError);
  // A GEMM whose counts overflow 64 bits is refused, not wrapped.
  const EnergyParams e = energy_params(Precision::Q16);
  EXPECT_THROW(cost_gemm(cfg_of(1, 1, Dataflow::Os), {"huge", 1 << 24, 1 << 24, 1 << 24}, e),
               InputError);
  EXPECT_THROW(cost_gemm(cfg_of(8, 8, Dataflow::Os), {"zero", 0, 4, 4}, e), InputError);
}
