// The edgerun binary end to end: the stable interface `run DIR --input X.npy --output-npy Y.npy
// --json`, exit codes, one-line errors, and no output file left behind on failure.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "test_util.h"
#include "edgerun/edgerun.h"
#include "formats/npy.h"

using namespace edgerun;
namespace fs = std::filesystem;

namespace {
const std::string kGolden = std::string(EDGERUN_TEST_DATA) + "/golden";

using Result = edgerun::test::CmdResult;
Result sh(const std::string& args, bool merge_stderr = true) {
  return edgerun::test::run_edgerun(args, merge_stderr);
}
std::string tmp(const std::string& name) {
  return (fs::temp_directory_path() / (std::to_string(::getpid()) + "_" + name)).string();
}
}  // namespace

TEST(Cli, RunWritesOutputAndJsonReport) {
  const std::string out = tmp("vit_out.npy");
  Result r = sh("run " + kGolden + "/vit_cls --input " + kGolden + "/vit_cls/input.npy --output-npy " +
                    out + " --json --threads 1",
                false);
  ASSERT_EQ(r.code, 0) << r.out;
  auto j = nlohmann::json::parse(r.out);
  for (const char* k : {"latency_ms", "load_ms", "compute_ms", "peak_rss_bytes", "budget_bytes",
                        "budget_high_water_bytes", "bytes_read", "blas_core"})
    EXPECT_TRUE(j.contains(k)) << k;
  EXPECT_GT(j["peak_rss_bytes"].get<uint64_t>(), 0u);
  HostArray got = read_npy(out), want = read_npy(kGolden + "/vit_cls/expected.npy");
  ASSERT_EQ(got.shape, want.shape);
  for (int64_t i = 0; i < want.numel(); ++i)
    EXPECT_NEAR(got.as<float>()[i], want.as<float>()[i], 1e-4);
  fs::remove(out);
}

TEST(Cli, GenerationReportsTokensPerSecond) {
  Result r = sh("run " + kGolden + "/gpt2_lm --ids 1,2,3 --new-tokens 4 --json", false);
  ASSERT_EQ(r.code, 0) << r.out;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["generated_ids"].size(), 7u);
  EXPECT_GT(j["tokens_per_s"].get<double>(), 0.0);
}

TEST(Cli, BadInputGivesOneLineAndNoOutputFile) {
  const std::string out = tmp("never.npy");
  Result r = sh("run " + kGolden + "/gpt2_lm --ids 1,2,99999 --output-npy " + out);
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.out.find("outside the vocabulary"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(out));
}

TEST(Cli, MissingModelFolder) {
  Result r = sh("run /nonexistent/model --ids 1");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.out.find("/nonexistent/model"), std::string::npos) << r.out;
}

TEST(Cli, UnknownOptionIsUsageError) {
  Result r = sh("run " + kGolden + "/gpt2_lm --frobnicate");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.out.find("frobnicate"), std::string::npos) << r.out;
}

TEST(Cli, CorruptImageIsInputError) {
  const std::string img = tmp("broken.png");
  { std::FILE* f = std::fopen(img.c_str(), "wb"); std::fputs("\x89PNG garbage", f); std::fclose(f); }
  Result r = sh("run " + kGolden + "/vit_cls --input " + img);
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.out.find(img), std::string::npos) << r.out;
  fs::remove(img);
}
