// Streamed runs of the real binary, a fresh process per case: the process's peak resident set
// (measured from outside by the peak-RSS launcher, and VmHWM as the report gives it) stays
// within the budget plus the fixed baseline; read errors made by the OS (an LD_PRELOAD pread
// that fails as a disk would) end the run with exit 1, one line naming file and offset and no
// output, in a forward pass and in the middle of generation; and with freed budget memory made
// inaccessible (EDGERUN_GUARD_FREED) every executor still gives resident's exact output, so no
// buffer is read after its release.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "edgerun/edgerun.h"
#include "edgerun/preprocess.h"
#include "models/model.h"
#include "test_models.h"
#include "test_util.h"

using namespace edgerun;
using edgerun::test::CmdOptions;
using edgerun::test::cli_failed;
using edgerun::test::cli_ok;
using edgerun::test::run_edgerun;
using edgerun::test::TempDir;
using edgerun::test::TestModelSpec;
namespace fs = std::filesystem;

namespace {

// Fixtures shared by the tests of this binary, removed when it exits.
const TempDir& root() { return edgerun::test::binary_temp_dir(); }

struct CliModel {
  std::string dir, input;  // input: the CLI arguments that give it its input
  uint64_t input_bytes = 0, output_bytes = 0;
  bool generate = false;
  std::string plan_args;  // plan's input shape: --seq 8 for the text models (a ViT's is its image)
};

// A model folder and its input as CLI arguments (pixel values in a .npy for ViT, ids for text).
CliModel cli_model(const std::string& synth, int64_t n_layer, bool generate = false) {
  static std::map<std::string, CliModel> cache;
  const std::string key = synth + "_" + std::to_string(n_layer) + (generate ? "_gen" : "");
  if (auto it = cache.find(key); it != cache.end()) return it->second;
  TestModelSpec s;
  s.synth = synth;
  s.n_layer = n_layer;
  CliModel m;
  const std::string base = synth + "_" + std::to_string(n_layer);
  m.dir = fs::exists(root().file(base)) ? root().file(base) : edgerun::test::make_test_model(root(), base, s);
  const Inputs in = edgerun::test::test_inputs(m.dir, 8);
  if (in.pixel_values) {
    const std::string npy = root().file(key + "_x.npy");
    write_npy(npy, *in.pixel_values);
    m.input = "--input " + npy;
    m.input_bytes = in.pixel_values->bytes.size();
  } else {
    m.plan_args = " --seq 8";
    std::string ids;
    for (int64_t i = 0; i < in.input_ids->numel(); ++i) ids += (i ? "," : "") + std::to_string(in.input_ids->as<int64_t>()[i]);
    m.input = "--ids " + ids;
    m.input_bytes = in.input_ids->bytes.size();
  }
  m.generate = generate;
  if (generate) m.input += " --new-tokens 4";
  const ModelGraph mg = build_model(m.dir);
  const Value& out = mg.graph.values[mg.graph.output];
  m.output_bytes = static_cast<uint64_t>(out.cols) * 4 * 8;  // at most 8 rows of the output
  return cache.emplace(key, m).first->second;
}

// The smallest budget `plan` accepts for the model's input (and new tokens).
uint64_t min_budget(const CliModel& m, int new_tokens = -1) {
  if (new_tokens < 0) new_tokens = m.generate ? 4 : 0;
  const auto r = run_edgerun("plan " + m.dir + " --json" + m.plan_args + (new_tokens ? " --new-tokens " + std::to_string(new_tokens) : ""));
  EXPECT_TRUE(cli_ok(r));
  return nlohmann::json::parse(r.out)["min_budget_bytes"].get<uint64_t>();
}

// Outside the arena and the baseline measured when the session opened, a run also holds its
// input and output arrays and a little heap (plan, report, JSON text): stated here.
constexpr uint64_t kAllowance = 2ull << 20;

}  // namespace

TEST(CliStreaming, PeakResidentSetStaysWithinBudgetPlusBaseline) {
#ifdef EDGERUN_SANITIZED
  GTEST_SKIP() << "a sanitizer build: shadow memory and quarantine are in the resident set";
#endif
  struct Case {
    CliModel m;
    const char* executor;
    double fraction;  // of the weights; 0: the minimum budget
    const char* threads;
  };
  const CliModel vit = cli_model("vit-base", 4), bert = cli_model("bert-base", 2), gpt2 = cli_model("gpt2", 2, true);
  const Case cases[] = {
      {vit, "swap", 0, "1"},        {vit, "pipeload", 0, "1"},  {vit, "pipeload", 0.25, "1"},
      {vit, "pipeload", 0.25, "0"}, {bert, "swap", 0.3, "1"},   {bert, "pipeload", 0, "1"},
      {gpt2, "swap", 0, "1"},       {gpt2, "pipeload", 0.25, "0"},
  };
  for (const Case& c : cases) {
    const uint64_t weights = fs::file_size(c.m.dir + "/model.safetensors");
    const uint64_t budget = c.fraction > 0 ? static_cast<uint64_t>(c.fraction * static_cast<double>(weights)) : min_budget(c.m);
    const std::string args = "run " + c.m.dir + " " + c.m.input + " --budget " + std::to_string(budget) + " --executor " +
                             c.executor + " --threads " + c.threads + " --json";
    CmdOptions o;
    o.measure_peak_rss = true;
    const auto r = run_edgerun(args, o);
    ASSERT_TRUE(cli_ok(r)) << args;
    const auto j = nlohmann::json::parse(r.out);
    ASSERT_EQ(j["executor"], c.executor) << args;
    const uint64_t bound = budget + j["fixed_baseline_bytes"].get<uint64_t>() + c.m.input_bytes + c.m.output_bytes + kAllowance;
    EXPECT_LE(r.peak_rss_bytes, bound) << args << ": the process's peak (measured outside) passed the budget";
    EXPECT_LE(j["peak_rss_bytes"].get<uint64_t>(), bound) << args << ": VmHWM passed the budget";
    // The launcher measured this process: its peak holds at least what the budget held.
    EXPECT_GE(r.peak_rss_bytes, j["budget_high_water_bytes"].get<uint64_t>()) << args;
  }
}

namespace {
// The environment that makes pread fail at `offset` of the model's weights the nth time it is
// read (tests/tools/fault_preload.cpp), logging to `log`.
CmdOptions faulty(const std::string& file, uint64_t offset, int nth, const std::string& kind, const std::string& log) {
  CmdOptions o;
  std::string asan = std::getenv("ASAN_OPTIONS") ? std::getenv("ASAN_OPTIONS") : "";
  o.env = {{"LD_PRELOAD", EDGERUN_FAULT_PRELOAD},
           {"EDGERUN_FAULT_PATH", file},
           {"EDGERUN_FAULT_OFFSET", std::to_string(offset)},
           {"EDGERUN_FAULT_NTH", std::to_string(nth)},
           {"EDGERUN_FAULT_KIND", kind},
           {"EDGERUN_FAULT_LOG", log},
           // A sanitizer runtime must come first among preloaded libraries unless told otherwise.
           {"ASAN_OPTIONS", asan + (asan.empty() ? "" : ":") + "verify_asan_link_order=0"}};
  return o;
}

// The offset of the read the fault log names ("... (read of N at OFF)").
std::string faulted_read_offset(const std::string& log) {
  const std::string text = edgerun::test::read_bytes(log);
  const auto at = text.rfind(" at ");
  if (at == std::string::npos) return "";
  return text.substr(at + 4, text.find(')', at) - at - 4);
}
}  // namespace

TEST(CliStreaming, ReadErrorsEndTheRunWithExitOneNamingFileAndOffset) {
  TempDir t("cli_faults");
  const CliModel m = cli_model("gpt2-tiny", 6);
  const std::string file = fs::canonical(m.dir + "/model.safetensors").string();
  const ModelGraph mg = build_model(m.dir);
  // A byte in the middle of a middle layer's largest tensor.
  const Layer& mid = mg.graph.layers[mg.graph.layers.size() / 2];
  const WeightSlot* big = nullptr;
  for (SlotId s : mid.slots)
    if (!big || mg.graph.slots[s].nbytes() > big->nbytes()) big = &mg.graph.slots[s];
  const uint64_t offset = big->begin + big->nbytes() / 2;
  const uint64_t budget = min_budget(m, 6);  // the generation cases make 6 tokens
  const std::string out = t.file("y.npy");
  struct Case {
    std::string what, args;
    int nth;
  };
  const std::string run = "run " + m.dir + " " + m.input + " --budget " + std::to_string(budget) + " --json -o " + out;
  const Case cases[] = {
      {"forward, pipeload, direct reads", run + " --executor pipeload --agents 2 --io-engine threads", 1},
      {"forward, swap, buffered reads", run + " --executor swap --buffered-io", 1},
      // At the minimum budget every pass reads the layer again: the third read is the third pass.
      {"generation, pipeload", run + " --executor pipeload --io-engine threads --new-tokens 6", 3},
      {"generation, swap, buffered reads", run + " --executor swap --buffered-io --new-tokens 6", 3},
  };
  for (const Case& c : cases)
    for (const char* kind : {"eio", "eof"}) {
      const std::string log = t.file(std::string("fault_") + kind + ".log");
      fs::remove(log);
      const auto r = run_edgerun(c.args, faulty(file, offset, c.nth, kind, log));
      const std::string what = c.what + ", " + kind;
      const std::string read_at = faulted_read_offset(log);
      ASSERT_FALSE(read_at.empty()) << what << ": no fault was injected; " << r.describe();
      EXPECT_TRUE(cli_failed(r, 1, file, {out})) << what;
      EXPECT_TRUE(edgerun::test::contains(r.err, "offset " + read_at)) << what << ": " << r.err;
      // Control: the same run with the fault never reached succeeds.
      if (std::string(kind) == "eio") {
        EXPECT_TRUE(cli_ok(run_edgerun(c.args, faulty(file, offset, 1000000, kind, log)))) << what;
        fs::remove(out);
      }
    }
}

TEST(CliStreaming, NoBufferIsReadAfterItsRelease) {
  // EDGERUN_GUARD_FREED maps released budget memory PROT_NONE: a layer freed while a kernel
  // still reads it (or a KV cache, an activation) kills the process with SIGSEGV instead of
  // reading stale bytes from a kept page. Every executor must still equal resident exactly.
  TempDir t("cli_guard");
  for (const CliModel& m : {cli_model("gpt2-tiny", 6), cli_model("gpt2-tiny", 6, true), cli_model("bert-tiny", 6),
                            cli_model("vit-tiny", 6)}) {
    const std::string want = t.file("want.npy"), got = t.file("got.npy");
    ASSERT_TRUE(cli_ok(run_edgerun("run " + m.dir + " " + m.input + " --executor resident --threads 1 -o " + want)));
    const std::string ref = edgerun::test::read_bytes(want);
    const uint64_t min = min_budget(m), weights = fs::file_size(m.dir + "/model.safetensors");
    for (uint64_t budget : {min, min + (weights - min) / 3})
      for (const char* ex : {"swap --no-prefetch", "swap", "pipeload --agents 1", "pipeload --agents 3"}) {
        const std::string args = "run " + m.dir + " " + m.input + " --budget " + std::to_string(budget) +
                                 " --executor " + ex + " --threads 1 -o " + got;
        CmdOptions o;
        o.env = {{"EDGERUN_GUARD_FREED", "1"}};
        const auto r = run_edgerun(args, o);
        EXPECT_TRUE(cli_ok(r)) << args;
        EXPECT_EQ(edgerun::test::read_bytes(got), ref) << args << ": not resident's output";
        fs::remove(got);
      }
  }
}
