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

using Result = edgerun::test::CmdResult;
Result sh(const std::string& args) { return edgerun::test::run_edgerun(args); }
std::string tmp(const std::string& name) {
  return (fs::temp_directory_path() / ("sim_" + std::to_string(::getpid()) + "_" + name)).string();
}
std::string write(const std::string& name, const std::string& text) {
  const std::string p = tmp(name);
  std::ofstream(p) << text;
  return p;
}
std::string slurp(const std::string& p) {
  std::ifstream f(p);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

}  // namespace

TEST(SimCli, SystolicTopologyWritesComputeReport) {
  const std::string topo = write("topo.csv", "Layer, M, N, K,\nl0, 17, 32, 48,\nl1, 20, 9, 13,\n");
  const std::string out = tmp("out");
  Result r = sh("sim systolic --topology " + topo + " --array 8x8 --dataflow os --out " + out);
  ASSERT_EQ(r.code, 0) << r.out;
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
  EXPECT_EQ(row0.rfind("0, 743, 0, 54.9125168236877", 0), 0u) << row0;
  EXPECT_EQ(row1.rfind("1, 161, 0, ", 0), 0u) << row1;
  auto j = nlohmann::json::parse(slurp(out + "/SIM_REPORT.json"));
  EXPECT_EQ(j["total"]["total_cycles"], 743 + 161);
  EXPECT_EQ(j["layers"][1]["name"], "l1");
  EXPECT_EQ(j["array"]["dataflow"], "os");
  fs::remove_all(out);
  fs::remove(topo);
}

TEST(SimCli, SystolicModelJson) {
  Result r = sh("sim systolic --model "s + EDGERUN_TEST_DATA +
                "/sim/vit_digits_shape --array 17x32 --dataflow ws --attention taylor --json");
  ASSERT_EQ(r.code, 0) << r.out;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["workload"]["tokens"], 17);
  EXPECT_EQ(j["workload"]["attention"], "taylor");
  EXPECT_EQ(j["layers"].size(), 1u + 2 * (6 + 8) + 1);
  EXPECT_LT(j["sim_time_us"].get<double>(), 1e5);
}

TEST(SimCli, SammReport) {
  const std::string out = tmp("samm");
  Result r = sh("sim samm --model "s + EDGERUN_TEST_DATA + "/sim/vit_digits_shape --json --out " +
                out);
  ASSERT_EQ(r.code, 0) << r.out;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["attention"]["cycles_per_inference"], 918);
  EXPECT_DOUBLE_EQ(j["attention"]["time"]["100MHz_us"].get<double>(), 9.18);
  EXPECT_DOUBLE_EQ(j["attention"]["time"]["250MHz_us"].get<double>(), 3.672);
  EXPECT_TRUE(fs::exists(out + "/SAMM_REPORT.json"));
  fs::remove_all(out);
  Result text = sh("sim samm --model "s + EDGERUN_TEST_DATA + "/sim/vit_digits_shape");
  ASSERT_EQ(text.code, 0) << text.out;
  EXPECT_NE(text.out.find("DianNao"), std::string::npos);
}

TEST(SimCli, BadInputIsOneLineErrorAndNoReport) {
  const std::string good = write("good.csv", "Layer, M, N, K,\na, 4, 4, 4,\n");
  const std::string bad = write("bad.csv", "Layer, M, N, K,\na, 4, 4, 4,\nb, 4, four, 4,\n");
  const std::string out = tmp("bad_out");
  struct Case {
    std::string args, needle;
    int code;
  };
  const Case cases[] = {
      {"--topology " + bad + " --array 8x8", bad + ":3", 1},
      {"--topology " + good + " --array 0x8", "rows '0'", 3},
      {"--topology " + good + " --array -4x8", "--array", 3},
      {"--topology " + good + " --array 100000x8", "[1, 16384]", 3},
      {"--topology " + good + " --array 8x8 --dataflow rs", "dataflow", 3},
      {"--topology " + good + " --array 8x8 --ifmap-sram 0", "--ifmap-sram", 3},
      {"--topology " + good + " --array 8x8 --ofmap-sram -2", "--ofmap-sram", 3},
      {"--topology " + good + " --array 8x8 --bandwidth -1", "--bandwidth", 3},
      {"--topology " + good + " --array 8x8 --beta 2", "--beta", 3},
      {"--topology " + tmp("missing.csv"), "missing.csv", 1},
      {"--array 8x8", "exactly one of", 3},
      {"--model "s + EDGERUN_TEST_DATA + "/golden/bert_cls", "--seq", 3},
      {"--model "s + EDGERUN_TEST_DATA + "/golden/gpt2_lm --seq 8 --attention taylor", "causal",
       1},
  };
  for (const Case& c : cases) {
    Result r = sh("sim systolic " + c.args + " --out " + out);
    EXPECT_EQ(r.code, c.code) << c.args << "\n" << r.out;
    EXPECT_NE(r.out.find(c.needle), std::string::npos) << c.args << "\n" << r.out;
    EXPECT_FALSE(fs::exists(out + "/COMPUTE_REPORT.csv")) << c.args;
  }
  fs::remove(good);
  fs::remove(bad);
  fs::remove_all(out);
}
