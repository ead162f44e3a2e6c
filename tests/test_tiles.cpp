// Tiles (docs/STREAMING.md "Tiles"): a transformer's large Linears are built as output-column
// tiles that stream and compute as units of their own. On the tiny synth models with 4 KiB tiles:
// more and smaller layers and a lower minimum budget; every executor at every budget from that
// minimum upward gives the resident tiled output bit for bit; the tiled output matches the
// untiled one within fp32 rounding; GPT-2's generation under a budget gives the resident tokens.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>

#include "edgerun/edgerun.h"
#include "test_models.h"
#include "test_util.h"

using namespace edgerun;
using edgerun::test::TestModelSpec;
using edgerun::test::with_deadline;

namespace {

constexpr uint64_t kTile = 4096;

struct Tiled {
  std::string dir;
  Inputs in;
};

Tiled& tiled_model(const std::string& synth) {
  static std::map<std::string, Tiled> models;
  auto it = models.find(synth);
  if (it != models.end()) return it->second;
  TestModelSpec s;
  s.synth = synth;
  s.n_layer = 3;
  Tiled t;
  t.dir = edgerun::test::make_test_model(edgerun::test::binary_temp_dir(), "tiles_" + synth, s);
  t.in = edgerun::test::test_inputs(t.dir);
  return models.emplace(synth, std::move(t)).first->second;
}

SessionOptions options(uint64_t tile, Executor ex = Executor::Resident, uint64_t budget = 0) {
  SessionOptions o;
  o.tile_bytes = tile;
  o.executor = ex;
  o.budget_bytes = budget;
  o.threads = 1;
  return o;
}

nlohmann::json plan_of(const Tiled& m, const SessionOptions& o) {
  auto s = Session::open(m.dir, o);
  return nlohmann::json::parse(s->plan_json(m.in));
}

HostArray run_with(const Tiled& m, const SessionOptions& o) {
  auto s = Session::open(m.dir, o);
  HostArray out;
  with_deadline([&] { out = s->run(m.in); });
  const Report r = s->report();
  if (o.budget_bytes) EXPECT_LE(r.budget_high_water_bytes, o.budget_bytes);
  return out;
}

class Tiles : public ::testing::TestWithParam<const char*> {};

}  // namespace

TEST_P(Tiles, LayersHoldAboutOneTileAndTheMinimumBudgetFalls) {
  const Tiled& m = tiled_model(GetParam());
  const auto whole = plan_of(m, options(0)), tiles = plan_of(m, options(kTile));
  EXPECT_GT(tiles["layers"].size(), whole["layers"].size());
  EXPECT_LT(tiles["min_budget_bytes"].get<uint64_t>(), whole["min_budget_bytes"].get<uint64_t>());
  EXPECT_EQ(tiles["full_pass_bytes"], whole["full_pass_bytes"]);  // the same bytes, in smaller reads
  // A layer passes a tile only where one op's weights do (a Conv1D, an embedding table, a bias
  // beside a full tile): at most a tile and a bit, or the layer's one weight.
  uint64_t largest_whole = 0;
  for (const auto& l : whole["layers"]) largest_whole = std::max(largest_whole, l["bytes"].get<uint64_t>());
  for (const auto& l : tiles["layers"]) EXPECT_LT(l["bytes"].get<uint64_t>(), largest_whole) << l["name"];
}

TEST_P(Tiles, EveryExecutorAtEveryBudgetGivesTheResidentTiledBits) {
  const Tiled& m = tiled_model(GetParam());
  const HostArray ref = run_with(m, options(kTile));
  const uint64_t min = plan_of(m, options(kTile))["min_budget_bytes"].get<uint64_t>();
  for (Executor ex : {Executor::Swap, Executor::Pipeload, Executor::Auto})
    for (double f : {1.0, 1.5, 3.0, 10.0}) {
      const uint64_t budget = static_cast<uint64_t>(static_cast<double>(min) * f);
      const HostArray out = run_with(m, options(kTile, ex, budget));
      ASSERT_EQ(out.bytes.size(), ref.bytes.size());
      EXPECT_EQ(std::memcmp(out.bytes.data(), ref.bytes.data(), ref.bytes.size()), 0)
          << to_string(ex) << " at " << f << " x the minimum";
    }
}

TEST_P(Tiles, TiledAndWholeAgreeWithinFp32Rounding) {
  const Tiled& m = tiled_model(GetParam());
  const HostArray a = run_with(m, options(0)), b = run_with(m, options(kTile));
  ASSERT_EQ(a.bytes.size(), b.bytes.size());
  const float* x = reinterpret_cast<const float*>(a.bytes.data());
  const float* y = reinterpret_cast<const float*>(b.bytes.data());
  double worst = 0, scale = 0;
  for (size_t i = 0; i < a.bytes.size() / sizeof(float); ++i) {
    worst = std::max(worst, static_cast<double>(std::fabs(x[i] - y[i])));
    scale = std::max(scale, static_cast<double>(std::fabs(x[i])));
  }
  EXPECT_LE(worst, 1e-5 * std::max(1.0, scale));
}

TEST(TilesGpt2, GenerationUnderABudgetGivesTheResidentTiledTokens) {
  // GPT-2's Conv1D weights become row tiles (partial sums) that the decode steps (one row) and
  // the prompt's pass both run: sampled tokens depend on every logit bit.
  const Tiled& m = tiled_model("gpt2-tiny");
  GenerateParams p;
  p.new_tokens = 6;
  p.top_k = 5;
  p.seed = 3;
  auto tokens = [&](const SessionOptions& o) {
    auto s = Session::open(m.dir, o);
    HostArray out;
    with_deadline([&] { out = s->generate(*m.in.input_ids, p); });
    return out.bytes;
  };
  const auto ref = tokens(options(kTile));
  auto probe = Session::open(m.dir, options(kTile));
  const uint64_t min = nlohmann::json::parse(probe->plan_generate_json(*m.in.input_ids, p.new_tokens))["min_budget_bytes"];
  for (Executor ex : {Executor::Swap, Executor::Pipeload})
    EXPECT_EQ(tokens(options(kTile, ex, min + min / 2)), ref) << to_string(ex);
}

INSTANTIATE_TEST_SUITE_P(Families, Tiles, ::testing::Values("vit-tiny", "bert-tiny", "gpt2-tiny"),
                         [](const auto& i) {
                           std::string n = i.param;
                           for (char& c : n) c = c == '-' ? '_' : c;
                           return n;
                         });
