// The commands besides `run`'s JSON path, through the binary: `info` and `plan` report what the
// library computes for the folder; `profile --out` writes its three files, whose cost model
// `run --cost-model` takes; `run --text` tokenizes as the library's tokenizer does; `run
// --labels` gives the accuracy of the printed top-1 labels; and the size syntax of --budget,
// every unit and every bad form (parse_bytes, src/cli).
#include <gtest/gtest.h>

#include <cmath>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "core/error.h"
#include "edgerun/edgerun.h"
#include "edgerun/preprocess.h"
#include "io/file.h"
#include "models/model.h"
#include "test_models.h"
#include "test_util.h"

using namespace edgerun;
using edgerun::test::cli_failed;
using edgerun::test::cli_ok;
using edgerun::test::run_edgerun;
using edgerun::test::TempDir;
namespace fs = std::filesystem;

namespace {
// Fixtures shared by the tests of this binary, removed when it exits.
const TempDir& root() { return edgerun::test::binary_temp_dir(); }

std::string model(const std::string& synth) {
  const std::string dir = root().file(synth);
  if (fs::exists(dir)) return dir;
  edgerun::test::TestModelSpec s;
  s.synth = synth;
  s.n_layer = 2;
  return edgerun::test::make_test_model(root(), synth, s);
}
}  // namespace

TEST(CliCommands, InfoReportsTheLibrarysSummary) {
  for (const char* name : {"vit-tiny", "bert-tiny", "gpt2-tiny"}) {
    const std::string dir = model(name);
    const auto r = run_edgerun("info " + dir + " --json");
    ASSERT_TRUE(cli_ok(r));
    const auto j = nlohmann::json::parse(r.out);
    const ModelSummary s = Session::open(dir, {})->summary();
    EXPECT_EQ(j["arch"], s.arch) << name;
    EXPECT_EQ(j["family"], s.family) << name;
    EXPECT_EQ(j["n_layer"], s.n_layer) << name;
    EXPECT_EQ(j["hidden"], s.hidden) << name;
    EXPECT_EQ(j["weight_bytes"].get<uint64_t>(), s.weight_bytes) << name;
    EXPECT_EQ(j["primary_output"], s.primary_output) << name;
    const auto text = run_edgerun("info " + dir);
    ASSERT_TRUE(cli_ok(text));
    EXPECT_TRUE(edgerun::test::contains(text.out, s.arch)) << text.out;
  }
}

TEST(CliCommands, PlanIsTheSessionsPlan) {
  const std::string dir = model("bert-tiny");
  SessionOptions o;
  o.budget_bytes = 300 << 10;
  auto s = Session::open(dir, o);
  Inputs in;
  in.input_ids = HostArray(DType::I64, {1, 16});
  for (int64_t i = 0; i < 16; ++i) in.input_ids->as<int64_t>()[i] = i + 1;
  const auto want = nlohmann::json::parse(s->plan_json(in));
  const auto r = run_edgerun("plan " + dir + " --budget 300K --seq 16 --json");
  ASSERT_TRUE(cli_ok(r));
  const auto got = nlohmann::json::parse(r.out);
  for (const char* k : {"executor", "agents", "min_budget_bytes", "streamed_bytes_per_pass", "full_pass_bytes", "resident_layers"})
    EXPECT_EQ(got[k], want[k]) << k;
  EXPECT_EQ(got["layers"].size(), want["layers"].size());
  const auto swap = run_edgerun("plan " + dir + " --budget 300K --seq 16 --executor swap --json");
  ASSERT_TRUE(cli_ok(swap));
  EXPECT_EQ(nlohmann::json::parse(swap.out)["executor"], "swap");
  const auto text = run_edgerun("plan " + dir + " --budget 300K --seq 16");
  ASSERT_TRUE(cli_ok(text));
  EXPECT_TRUE(edgerun::test::contains(text.out, "executor " + want["executor"].get<std::string>())) << text.out;
  // --layers lists every layer, with tiles under --tile: NAME.k rows, as many as the library plans.
  const auto tiled = run_edgerun("plan " + dir + " --budget 300K --seq 16 --tile 4K --layers");
  ASSERT_TRUE(cli_ok(tiled));
  o.tile_bytes = 4096;
  const auto want_tiled = nlohmann::json::parse(Session::open(dir, o)->plan_json(in));
  ASSERT_GT(want_tiled["layers"].size(), want["layers"].size());
  for (const auto& l : want_tiled["layers"])
    EXPECT_TRUE(edgerun::test::contains(tiled.out, " " + l["name"].get<std::string>() + " ")) << l["name"];
  EXPECT_TRUE(edgerun::test::contains(tiled.out, "intermediate.dense.1")) << tiled.out;
}

TEST(CliCommands, ProfileWritesItsFilesAndRunTakesTheCostModel) {
  const std::string dir = model("gpt2-tiny"), out = root().file("prof");
  // --no-record: other tests share this model, and a recorded cost model would change their plans.
  auto r = run_edgerun("profile " + dir + " --out " + out + " --threads 1 --no-record");
  ASSERT_TRUE(cli_ok(r));
  const auto prof = nlohmann::json::parse(read_text_file(out + "/profile.json"));
  EXPECT_EQ(prof["layers"].size(), build_model(dir).graph.layers.size());
  EXPECT_TRUE(nlohmann::json::parse(read_text_file(out + "/cost_model.json"))["measured"].get<bool>());
  EXPECT_EQ(read_text_file(out + "/profile.csv").rfind("layer,depth,bytes,flops,", 0), 0u);
  EXPECT_TRUE(edgerun::test::contains(r.out, "t_in")) << r.out;
  EXPECT_FALSE(edgerun::test::contains(r.out, "recorded in")) << r.out;
  r = run_edgerun("run " + dir + " --ids 1,2,3 --budget 50% --cost-model " + out + "/cost_model.json --json");
  ASSERT_TRUE(cli_ok(r));
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["read_bandwidth_source"], "cost model " + out + "/cost_model.json");
  EXPECT_EQ(j["cost_model_source"], "cost model " + out + "/cost_model.json");
  EXPECT_TRUE(cli_failed(run_edgerun("run " + dir + " --ids 1,2 --cost-model " + root().file("none.json")), 1,
                         "none.json"));
}

TEST(CliCommands, TextIsTokenizedAsTheLibraryDoes) {
  struct Case {
    const char *synth, *tokenizer, *kind;
  };
  for (const Case c : {Case{"bert-tiny", "wordpiece", "wordpiece"}, Case{"gpt2-tiny", "bpe", "bpe"}}) {
    const std::string dir = root().file(std::string("text_") + c.synth);
    if (!fs::exists(dir)) fs::copy(model(c.synth), dir);
    for (const auto& f : fs::directory_iterator(std::string(EDGERUN_TEST_DATA) + "/tokenizers/" + c.tokenizer))
      fs::copy_file(f.path(), fs::path(dir) / f.path().filename(), fs::copy_options::overwrite_existing);
    const std::string text = "The quick brown fox, jumps!";
    const Encoding e = load_tokenizer(dir, c.kind)->encode(text);
    HostArray ids(DType::I64, {1, static_cast<int64_t>(e.ids.size())});
    std::copy(e.ids.begin(), e.ids.end(), ids.as<int64_t>());
    SessionOptions o;
    o.threads = 1;
    Inputs in;
    in.input_ids = ids;
    const HostArray want = Session::open(dir, o)->run(in);
    const std::string out = root().file(std::string("text_") + c.synth + ".npy");
    const auto r = run_edgerun("run " + dir + " --text \"" + text + "\" --threads 1 -o " + out + " --json");
    ASSERT_TRUE(cli_ok(r));
    EXPECT_EQ(read_npy(out).bytes, want.bytes) << c.synth;
    if (std::string(c.synth) == "gpt2-tiny") {
      // The fixture tokenizer has 700 tokens, the model 1000: generated ids past 700 could not be
      // printed, so generation from text is refused before the first token, not halfway through.
      const auto g = run_edgerun("run " + dir + " --text \"" + text + "\" --new-tokens 3 --threads 1");
      EXPECT_TRUE(cli_failed(g, 1, "the tokenizer has 700 tokens but the model can generate 1000"));
    }
  }
}

TEST(CliCommands, LabelsGiveTheAccuracyOfTheTopLabel) {
  const std::string dir = model("vit-tiny");
  const ModelSummary m = Session::open(dir, {})->summary();
  HostArray px(DType::F32, {4, m.num_channels, m.image_size, m.image_size});
  for (int64_t i = 0; i < px.numel(); ++i) px.as<float>()[i] = static_cast<float>((i * 7919) % 997) / 500.0f - 1.0f;
  const std::string x = root().file("px.npy"), y = root().file("y.npy"), bad = root().file("bad.npy");
  write_npy(x, px);
  SessionOptions o;
  o.threads = 1;
  Inputs in;
  in.pixel_values = px;
  const HostArray logits = Session::open(dir, o)->run(in);
  HostArray labels(DType::I64, {4});
  for (int64_t b = 0; b < 4; ++b) {
    const float* row = logits.as<float>() + b * m.num_labels;
    const int64_t top = std::max_element(row, row + m.num_labels) - row;
    labels.as<int64_t>()[b] = b < 3 ? top : (top + 1) % m.num_labels;  // three right, one wrong
  }
  write_npy(y, labels);
  const auto r = run_edgerun("run " + dir + " --input " + x + " --labels " + y + " --threads 1 --json");
  ASSERT_TRUE(cli_ok(r));
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["correct"], 3);
  EXPECT_DOUBLE_EQ(j["accuracy"].get<double>(), 0.75);
  const auto text = run_edgerun("run " + dir + " --input " + x + " --labels " + y + " --threads 1");
  ASSERT_TRUE(cli_ok(text));
  EXPECT_TRUE(edgerun::test::contains(text.out, "accuracy 75.00% (3 of 4)")) << text.out;
  write_npy(bad, HostArray(DType::I64, {3}));
  EXPECT_TRUE(cli_failed(run_edgerun("run " + dir + " --input " + x + " --labels " + bad + " --json"), 3, "one per input"));
}

TEST(ParseBytes, EveryUnitAndEveryBadForm) {
  using edgerun::parse_bytes;
  EXPECT_EQ(parse_bytes("4096", 0), 4096u);
  EXPECT_EQ(parse_bytes("4096B", 0), 4096u);
  EXPECT_EQ(parse_bytes("3K", 0), 3u * 1024);
  EXPECT_EQ(parse_bytes("3k", 0), 3u * 1024);
  EXPECT_EQ(parse_bytes("3KiB", 0), 3u * 1024);
  EXPECT_EQ(parse_bytes("300M", 0), 300u << 20);
  EXPECT_EQ(parse_bytes("300MiB", 0), 300u << 20);
  EXPECT_EQ(parse_bytes("1.5G", 0), 3ull << 29);
  EXPECT_EQ(parse_bytes("2GiB", 0), 2ull << 30);
  EXPECT_EQ(parse_bytes("0.5K", 0), 512u);
  EXPECT_EQ(parse_bytes(".5k", 0), 512u);
  // Case-insensitive; K/M/G/T and KiB/.../TiB are powers of 1024, KB/.../TB powers of 1000.
  EXPECT_EQ(parse_bytes("300mib", 0), 300u << 20);
  EXPECT_EQ(parse_bytes("2g", 0), 2ull << 30);
  EXPECT_EQ(parse_bytes("1T", 0), 1ull << 40);
  EXPECT_EQ(parse_bytes("500MB", 0), 500000000u);
  EXPECT_EQ(parse_bytes("500mb", 0), 500000000u);
  EXPECT_EQ(parse_bytes("3kB", 0), 3000u);
  EXPECT_EQ(parse_bytes("1.5GB", 0), 1500000000u);
  EXPECT_EQ(parse_bytes("2TB", 0), 2000000000000u);
  EXPECT_EQ(parse_bytes("4096b", 0), 4096u);
  EXPECT_EQ(parse_bytes("25%", 1000), 250u);
  EXPECT_EQ(parse_bytes("12.5%", 4096), 512u);
  for (const char* bad : {"", "abc", "M", "12Q", "12 M", " 12M", "12MiBs", "12KK", "-5M", "+5M", "0", "0.4", "1e3",
                          "0x10", "1.2.3M", "1e30", "nan", "inf", "2000000T"})
    EXPECT_THROW(parse_bytes(bad, 1000), InputError) << "\"" << bad << "\"";
  EXPECT_THROW(parse_bytes("10%", 0), InputError) << "a percentage needs a base";
  EXPECT_NE(edgerun::test::error_of<InputError>([] { parse_bytes("12Q", 0); }).find("unknown size unit \"Q\""),
            std::string::npos);
  EXPECT_DOUBLE_EQ(edgerun::parse_percent("10%"), 0.10);
  EXPECT_DOUBLE_EQ(edgerun::parse_percent("0.5%"), 0.005);
  for (const char* bad : {"10", "%", "-1%", "0%", "x%", "10%%", "2000000%"})
    EXPECT_THROW(edgerun::parse_percent(bad), InputError) << "\"" << bad << "\"";
  SessionOptions so;
  cli::set_budget(so, std::nullopt);  // --budget not given: no budget
  EXPECT_EQ(so.budget_bytes, 0u);
  EXPECT_EQ(so.budget_fraction, 0.0);
  EXPECT_THROW(cli::set_budget(so, ""), InputError);   // given, but empty
  EXPECT_THROW(cli::set_budget(so, "0"), InputError);  // no budget holds nothing
  EXPECT_THROW(cli::set_budget(so, "0.0M"), InputError);
  cli::set_budget(so, "15%");
  EXPECT_DOUBLE_EQ(so.budget_fraction, 0.15);
  cli::set_budget(so, "2M");
  EXPECT_EQ(so.budget_bytes, 2u << 20);
}

// One size per model: info's weight_bytes is plan's and the run report's, and the base of
// --budget N%; plan's full_pass_bytes is what a fully streamed pass reads (no embedding tables).
TEST(ParseBytes, OneWeightSizeEverywhereAndTheBaseOfPercentages) {
  const std::string dir = model("bert-tiny");
  const auto info = run_edgerun("info " + dir + " --json");
  ASSERT_TRUE(cli_ok(info));
  const auto i = nlohmann::json::parse(info.out);
  const uint64_t w = i["weight_bytes"].get<uint64_t>();
  uint64_t streamed = 0, gathered = 0;
  for (const auto& l : i["layers"]) {
    streamed += l["weight_bytes"].get<uint64_t>();
    gathered += l["gathered_bytes"].get<uint64_t>();
  }
  EXPECT_EQ(streamed + gathered, w) << "the layer list adds up to the model's size";
  EXPECT_EQ(i["full_pass_bytes"].get<uint64_t>(), streamed);
  EXPECT_GT(gathered, 0u);
  const auto plan = run_edgerun("plan " + dir + " --seq 8 --json --budget 60%");
  ASSERT_TRUE(cli_ok(plan));
  const auto p = nlohmann::json::parse(plan.out);
  EXPECT_EQ(p["weight_bytes"].get<uint64_t>(), w);
  EXPECT_EQ(p["full_pass_bytes"].get<uint64_t>(), streamed);
  EXPECT_EQ(p["budget_bytes"].get<uint64_t>(), static_cast<uint64_t>(std::llround(0.6 * static_cast<double>(w))));
  const auto run = run_edgerun("run " + dir + " --ids 1,2,3 --json --budget 60%");
  ASSERT_TRUE(cli_ok(run));
  const auto r = nlohmann::json::parse(run.out);
  EXPECT_EQ(r["weight_bytes"].get<uint64_t>(), w);
  EXPECT_EQ(r["budget_bytes"], p["budget_bytes"]);
}

TEST(ParseBytes, TheBudgetOptionReachesThePlan) {
  const std::string dir = model("bert-tiny");
  for (auto [arg, bytes] : {std::pair<const char*, uint64_t>{"400K", 400u << 10}, {"1M", 1u << 20}, {"409600", 409600}}) {
    const auto r = run_edgerun(std::string("plan ") + dir + " --seq 8 --json --budget " + arg);
    ASSERT_TRUE(cli_ok(r));
    EXPECT_EQ(nlohmann::json::parse(r.out)["budget_bytes"].get<uint64_t>(), bytes) << arg;
  }
}
