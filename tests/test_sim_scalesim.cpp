// edgerun's systolic model against SCALE-Sim's own numbers (tests/data/scalesim/reference.csv,
// made by scripts/scalesim_reference.py with the pinned PyPI scalesim in the no-stall
// configuration). Total cycles must be identical on every layer; utilization and mapping
// efficiency equal to rounding; SRAM operand reads identical.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "io/file.h"
#include "sim/topology_csv.h"
#include "sim/systolic.h"
#include "test_util.h"

using namespace edgerun;
using namespace edgerun::sim;

namespace {

bool near_rel(double a, double b) { return std::fabs(a - b) <= 1e-9 * std::max(1.0, std::fabs(b)); }

}  // namespace

TEST(SimScaleSim, MatchesReferenceOnEveryLayer) {
  const auto rows = edgerun::test::read_csv(std::string(EDGERUN_TEST_DATA) + "/scalesim/reference.csv");
  ASSERT_GE(rows.size(), 250u) << "reference.csv looks truncated";
  const EnergyParams e = energy_params(Precision::Q16);
  std::set<std::string> arrays, dataflows, families;
  for (const auto& r : rows) {
    const std::string what = r.at("array") + " " + r.at("dataflow") + " " + r.at("layer");
    ArrayShape a = parse_array_shape(r.at("array"));
    SystolicConfig cfg;
    cfg.rows = a.rows;
    cfg.cols = a.cols;
    cfg.dataflow = parse_dataflow(r.at("dataflow"));
    GemmShape g{r.at("layer"), std::stoll(r.at("M")), std::stoll(r.at("N")), std::stoll(r.at("K"))};
    GemmCost c = cost_gemm(cfg, g, e);
    arrays.insert(r.at("array"));
    dataflows.insert(r.at("dataflow"));
    families.insert(r.at("layer").substr(0, r.at("layer").find('_')));

    EXPECT_EQ(c.total_cycles, std::stoll(r.at("Total Cycles"))) << what;
    EXPECT_EQ(c.stall_cycles, std::stoll(r.at("Stall Cycles"))) << what;
    EXPECT_PRED2(near_rel, c.overall_util_pct, std::stod(r.at("Overall Util %"))) << what;
    EXPECT_PRED2(near_rel, c.mapping_eff_pct, std::stod(r.at("Mapping Efficiency %"))) << what;
    EXPECT_PRED2(near_rel, c.compute_util_pct, std::stod(r.at("Compute Util %"))) << what;
    EXPECT_EQ(c.mem.sram_ifmap_reads, std::stoll(r.at("SRAM IFMAP Reads"))) << what;
    EXPECT_EQ(c.mem.sram_filter_reads, std::stoll(r.at("SRAM Filter Reads"))) << what;
    // SCALE-Sim's os bookkeeping adds rows + cols per fold to its ofmap write count (it counts
    // the padded fold's shape once more after flipping it); edgerun counts the words written.
    int64_t extra = cfg.dataflow == Dataflow::Os ? c.geo.folds * (cfg.rows + cfg.cols) : 0;
    EXPECT_EQ(c.mem.sram_ofmap_writes + extra, std::stoll(r.at("SRAM OFMAP Writes"))) << what;
  }
  // The set covers what the reference promises: five arrays, three dataflows, every family.
  EXPECT_EQ(arrays, (std::set<std::string>{"8x8", "16x32", "32x32", "17x32", "17x1"}));
  EXPECT_EQ(dataflows, (std::set<std::string>{"os", "ws", "is"}));
  for (const char* f : {"vit", "bert", "resnet20", "odd"}) EXPECT_TRUE(families.count(f)) << f;
}

TEST(SimScaleSim, VitB16LayerAndWholeModelSpeed) {
  // One ViT-B/16 encoder layer on 32x32 os: SCALE-Sim's total over its 30 GEMMs (speed.json,
  // from scripts/scalesim_reference.py --speed) must be edgerun's, to the cycle.
  const std::string dir = std::string(EDGERUN_TEST_DATA) + "/scalesim/";
  auto speed = nlohmann::json::parse(read_text_file(dir + "speed.json"));
  SystolicConfig cfg;
  cfg.rows = cfg.cols = 32;
  cfg.dataflow = Dataflow::Os;
  const EnergyParams e = energy_params(Precision::Q16);
  std::vector<LayerGemm> layer;
  for (GemmShape& g : read_topology_csv(dir + "vit_b16_layer.csv")) layer.push_back({"", g});
  ASSERT_EQ(layer.size(), 30u);
  EXPECT_EQ(simulate_systolic(cfg, layer, e).total_cycles,
            speed["scalesim_layer_cycles"].get<int64_t>());
  // The whole model (362 GEMMs), three dataflows: one cost per GEMM, and the total is theirs.
  // (How fast this runs is measured in bench/, docs/BENCHMARKS.md, not asserted here.)
  std::vector<LayerGemm> model;
  for (GemmShape& g : read_topology_csv(dir + "vit_b16.csv")) model.push_back({"", g});
  ASSERT_EQ(model.size(), 362u);
  for (Dataflow df : {Dataflow::Os, Dataflow::Ws, Dataflow::Is}) {
    cfg.dataflow = df;
    const SystolicReport r = simulate_systolic(cfg, model, e);
    ASSERT_EQ(r.gemms.size(), model.size());
    int64_t sum = 0;
    for (const GemmCost& c : r.gemms) sum += c.total_cycles;
    EXPECT_EQ(r.total_cycles, sum);
    EXPECT_GT(r.total_cycles, 0);
  }
}
