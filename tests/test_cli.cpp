// The edgerun binary end to end: the stable interface `run DIR --input X.npy --output-npy Y.npy
// --json`. Every bad input of the CLI's commands is a row of test_cli_errors.cpp's table.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "edgerun/edgerun.h"
#include "edgerun/preprocess.h"
#include "test_util.h"

using namespace edgerun;
using edgerun::test::cli_ok;
using edgerun::test::run_edgerun;
using edgerun::test::TempDir;

namespace {
const std::string kGolden = std::string(EDGERUN_TEST_DATA) + "/golden";
}  // namespace

TEST(Cli, RunWritesOutputAndJsonReport) {
  TempDir t("cli_run");
  const std::string out = t.file("vit_out.npy");
  const auto r = run_edgerun("run " + kGolden + "/vit_cls --input " + kGolden + "/vit_cls/input.npy --output-npy " +
                             out + " --json --threads 1");
  ASSERT_TRUE(cli_ok(r));
  auto j = nlohmann::json::parse(r.out);
  for (const char* k : {"latency_ms", "load_ms", "compute_ms", "peak_rss_bytes", "budget_bytes",
                        "budget_high_water_bytes", "bytes_read", "blas_core"})
    EXPECT_TRUE(j.contains(k)) << k;
  EXPECT_GT(j["peak_rss_bytes"].get<uint64_t>(), 0u);
  HostArray got = read_npy(out), want = read_npy(kGolden + "/vit_cls/expected.npy");
  ASSERT_EQ(got.shape, want.shape);
  EXPECT_LE(edgerun::test::max_abs_err(got.as<float>(), want.as<float>(), want.numel()), 1e-4);
}

TEST(Cli, GenerationReportsTokensPerSecond) {
  const auto r = run_edgerun("run " + kGolden + "/gpt2_lm --ids 1,2,3 --new-tokens 4 --json");
  ASSERT_TRUE(cli_ok(r));
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["generated_ids"].size(), 7u);
  EXPECT_GT(j["tokens_per_s"].get<double>(), 0.0);
}
