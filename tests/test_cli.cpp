// The edgerun binary end to end: the stable interface `run DIR --input X.npy --output-npy Y.npy
// --json`, and every bad input of the CLI's commands as a table: the exact exit code, one
// "edgerun: " line naming the culprit, nothing on stdout, no output file or folder left behind,
// and never a death by signal or a hang (test_util.h's cli_failed).
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "edgerun/edgerun.h"
#include "edgerun/preprocess.h"
#include "test_util.h"

using namespace edgerun;
using edgerun::test::cli_failed;
using edgerun::test::cli_ok;
using edgerun::test::run_edgerun;
using edgerun::test::TempDir;
namespace fs = std::filesystem;

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

// One row per bad input: arguments, exit code (README: 3 input, 4 budget, 1 model file or I/O),
// a part of the message, and the outputs that must not exist afterwards.
struct BadCase {
  std::string args;
  int code;
  std::string needle;
  std::vector<std::string> absent;
};

TEST(Cli, EveryBadInputIsOneLineWithItsExitCodeAndNoOutput) {
  TempDir t("cli_bad");
  const std::string out = t.file("y.npy"), trace = t.file("trace.json"), prof = t.file("prof"),
                    conv = t.file("conv"), img = t.write("broken.png", "\x89PNG garbage"),
                    trunc = t.file("trunc"), gpt2 = kGolden + "/gpt2_lm", bert = kGolden + "/bert_cls",
                    vit = kGolden + "/vit_cls";
  fs::copy(vit, trunc, fs::copy_options::recursive);
  fs::resize_file(trunc + "/model.safetensors", fs::file_size(trunc + "/model.safetensors") - 100);
  const std::vector<std::string> outputs{out, trace};
  const BadCase cases[] = {
      // run: inputs and options
      {"run " + gpt2 + " --ids 1,2,99999 -o " + out + " --trace " + trace, 3, "outside the vocabulary", outputs},
      {"run " + bert + " --ids 1,x,3 -o " + out, 3, "\"x\"", outputs},
      {"run " + gpt2 + " --ids 1,2 --new-tokens 100000 --json -o " + out, 3, "positions", outputs},
      {"run " + vit + " --input " + img + " -o " + out, 3, img, outputs},
      {"run " + vit + " --text hello -o " + out, 3, "--text needs a text model", outputs},
      {"run " + bert + " --ids 1,2 --input " + vit + "/input.npy -o " + out, 3, "exactly one of", outputs},
      {"run " + gpt2 + " --frobnicate", 3, "--frobnicate", {}},
      {"run " + bert + " --ids 1,2 --threads 5000", 3, "--threads", {}},
      {"run " + bert + " --ids 1,2 --executor warp", 3, "warp", {}},
      {"run " + bert + " --ids 1,2 --budget 12Q -o " + out, 3, "12Q", outputs},
      {"run", 3, "model is required", {}},
      {"", 3, "subcommand", {}},
      // run: the budget (exit 4 names the smallest budget that works)
      {"run " + bert + " --ids 1,2,3 --budget 4K --json -o " + out + " --trace " + trace, 4, "49152 bytes", outputs},
      {"run " + gpt2 + " --ids 1,2,3 --new-tokens 8 --budget 8K -o " + out, 4, "minimum", outputs},
      // run: model files and I/O
      {"run /nonexistent/model --ids 1 -o " + out, 1, "/nonexistent/model", outputs},
      {"run " + trunc + " --input " + vit + "/input.npy -o " + out, 1, "model.safetensors", outputs},
      {"run " + vit + " --input " + t.file("missing.npy") + " -o " + out, 1, "missing.npy", outputs},
      // the other commands
      {"info /nonexistent", 1, "/nonexistent", {}},
      {"info " + trunc, 1, "model.safetensors", {}},
      {"plan " + bert + " --budget 4K --seq 8", 4, "minimum", {}},
      {"plan " + bert + " --seq 8 --budget 1Q", 3, "1Q", {}},
      {"profile " + trunc + " --out " + prof, 1, "model.safetensors", {prof}},
      {"convert " + trunc + " --dtype bf16 --out " + conv, 1, "model.safetensors", {conv}},
      {"convert " + vit + " --dtype int3 --out " + conv, 3, "int3", {conv}},
      {"iobench " + t.file("missing.bin"), 1, "missing.bin", {}},
  };
  for (const BadCase& c : cases) {
    const auto r = run_edgerun(c.args);
    EXPECT_TRUE(cli_failed(r, c.code, c.needle, c.absent)) << "edgerun " << c.args;
  }
}
