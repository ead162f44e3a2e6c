// `edgerun sim systolic` / `edgerun sim samm` end to end: the COMPUTE_REPORT.csv interface
// (SCALE-Sim's column names first), JSON, and bad input turned into one-line errors with exit
// codes and no report left behind.
#include <gtest/gtest.h>

#include "test_util.h"
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

using namespace std::string_literals;
namespace fs = std::filesystem;

namespace {

using edgerun::test::cli_failed;
using edgerun::test::cli_ok;
using edgerun::test::run_edgerun;
using edgerun::test::TempDir;

std::string slurp(const std::string& p) {
  std::ifstream f(p);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

}  // namespace

TEST(SimCli, SystolicTopologyWritesComputeReport) {
  TempDir t("sim_cli");
  const std::string topo = t.write("topo.csv", "Layer, M, N, K,\nl0, 17, 32, 48,\nl1, 20, 9, 13,\n");
  const std::string out = t.file("out");
  const auto r = run_edgerun("sim systolic --topology " + topo + " --array 8x8 --dataflow os --out " + out);
  ASSERT_TRUE(cli_ok(r));
  const std::string csv = slurp(out + "/COMPUTE_REPORT.csv");
  ASSERT_EQ(csv.rfind("LayerID, Total Cycles, Stall Cycles, Overall Util %, Mapping Efficiency %, "
                      "Compute Util %, ", 0),
            0u)
      << csv;
  std::istringstream lines(csv);
  std::string header, row0, row1, extra;
  std::getline(lines, header);
  std::getline(lines, row0);
  std::getline(lines, row1);
  EXPECT_FALSE(std::getline(lines, extra));  // one row per topology layer
  // SCALE-Sim's own figures for these GEMMs: reference.csv, 8x8 os, example_l0 and example_l1.
  EXPECT_EQ(row0.rfind("0, 743, 0, 54.9125168236877", 0), 0u) << row0;
  EXPECT_EQ(row1.rfind("1, 161, 0, ", 0), 0u) << row1;
  auto j = nlohmann::json::parse(slurp(out + "/SIM_REPORT.json"));
  EXPECT_EQ(j["total"]["total_cycles"], 743 + 161);
  EXPECT_EQ(j["layers"][1]["name"], "l1");
  EXPECT_EQ(j["array"]["dataflow"], "os");
}

TEST(SimCli, SystolicModelJson) {
  const auto r = run_edgerun("sim systolic --model "s + EDGERUN_TEST_DATA +
                             "/sim/vit_digits_shape --array 17x32 --dataflow ws --attention taylor --json");
  ASSERT_TRUE(cli_ok(r));
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["workload"]["tokens"], 17);
  EXPECT_EQ(j["workload"]["attention"], "taylor");
  EXPECT_EQ(j["layers"].size(), 1u + 2 * (6 + 8) + 1);
  EXPECT_GT(j["sim_time_us"].get<double>(), 0.0);  // reported; how fast is the host's business
}

// An ONNX CNN: each Conv as its im2col GEMM (M output pixels, N output channels, K = C x kernel),
// the Gemm as itself; --input-shape rebinds the shapes.
TEST(SimCli, SystolicOnnxModelGemms) {
  const std::string model = EDGERUN_TEST_DATA + "/onnx/cnn_bn"s;
  auto r = run_edgerun("sim systolic --model " + model + " --json");
  ASSERT_TRUE(cli_ok(r));
  auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["layers"].size(), 4u);
  auto mnk = [&](size_t i) {
    const auto& l = j["layers"][i];
    return std::vector<int64_t>{l["m"].get<int64_t>(), l["n"].get<int64_t>(), l["k"].get<int64_t>()};
  };
  EXPECT_EQ(mnk(0), (std::vector<int64_t>{16 * 16, 8, 3 * 9}));
  EXPECT_EQ(mnk(1), (std::vector<int64_t>{8 * 8, 8, 8 * 9}));
  EXPECT_EQ(mnk(3), (std::vector<int64_t>{1, 5, 16}));
  r = run_edgerun("sim systolic --model " + model + " --input-shape x=2x3x16x16 --json");
  ASSERT_TRUE(cli_ok(r));
  j = nlohmann::json::parse(r.out);
  EXPECT_EQ(mnk(0), (std::vector<int64_t>{2 * 16 * 16, 8, 3 * 9}));
  EXPECT_TRUE(cli_failed(run_edgerun("sim systolic --model " + model + " --seq 8"), 3, "--seq applies to BERT and GPT-2"));
  EXPECT_TRUE(cli_failed(run_edgerun("sim systolic --model " + model + " --input-shape y=1x3x8x8"), 3, "no input named 'y'"));
  EXPECT_TRUE(cli_failed(run_edgerun("sim systolic --model " + model + " --input-shape x=1x3x32x32"), 3, "dimension 2 must be 16"));
}

TEST(SimCli, SammReport) {
  TempDir t("samm_cli");
  const std::string out = t.file("samm");
  auto r = run_edgerun("sim samm --model "s + EDGERUN_TEST_DATA + "/sim/vit_digits_shape --json --out " + out);
  ASSERT_TRUE(cli_ok(r));
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["attention"]["cycles_per_inference"], 918);
  EXPECT_DOUBLE_EQ(j["attention"]["time"]["100MHz_us"].get<double>(), 9.18);
  EXPECT_DOUBLE_EQ(j["attention"]["time"]["250MHz_us"].get<double>(), 3.672);
  EXPECT_TRUE(fs::exists(out + "/SAMM_REPORT.json"));
  r = run_edgerun("sim samm --model "s + EDGERUN_TEST_DATA + "/sim/vit_digits_shape");
  ASSERT_TRUE(cli_ok(r));
  EXPECT_NE(r.out.find("DianNao"), std::string::npos);
}

TEST(SimCli, BadInputIsOneLineErrorAndNoReport) {
  TempDir t("sim_bad");
  const std::string good = t.write("good.csv", "Layer, M, N, K,\na, 4, 4, 4,\n");
  const std::string bad = t.write("bad.csv", "Layer, M, N, K,\na, 4, 4, 4,\nb, 4, four, 4,\n");
  const std::string out = t.file("bad_out");
  struct Case {
    std::string args, needle;
    int code;
  };
  const Case cases[] = {
      {"systolic --topology " + bad + " --array 8x8", bad + ":3", 1},
      {"systolic --topology " + good + " --array 0x8", "rows '0'", 3},
      {"systolic --topology " + good + " --array -4x8", "--array", 3},
      {"systolic --topology " + good + " --array 100000x8", "[1, 16384]", 3},
      {"systolic --topology " + good + " --array 8x8 --dataflow rs", "dataflow", 3},
      {"systolic --topology " + good + " --array 8x8 --ifmap-sram 0", "--ifmap-sram", 3},
      {"systolic --topology " + good + " --array 8x8 --ofmap-sram -2", "--ofmap-sram", 3},
      {"systolic --topology " + good + " --array 8x8 --bandwidth -1", "--bandwidth", 3},
      {"systolic --topology " + good + " --array 8x8 --beta 2", "--beta", 3},
      {"systolic --topology " + t.file("missing.csv"), "missing.csv", 1},
      {"systolic --array 8x8", "exactly one of", 3},
      {"systolic --model "s + EDGERUN_TEST_DATA + "/golden/bert_cls", "--seq", 3},
      {"systolic --model "s + EDGERUN_TEST_DATA + "/golden/gpt2_lm --seq 8 --attention taylor", "causal", 1},
      {"samm --model "s + EDGERUN_TEST_DATA + "/golden/bert_cls", "--seq", 3},
      {"samm --model " + t.file("nothing"), "nothing", 1},
  };
  for (const Case& c : cases) {
    // The whole --out folder, not only its report, must not exist after a failure.
    const auto r = run_edgerun("sim " + c.args + " --out " + out);
    EXPECT_TRUE(cli_failed(r, c.code, c.needle, {out})) << "sim " << c.args;
  }
}
