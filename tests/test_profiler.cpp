// The cost model's least-squares fits on data with known answers (exact coefficients, R^2,
// held-out MAPE, the hold-out split, collinear columns), its JSON round trip; the profiler's
// samples and per-layer figures against the graph they came from; and the Chrome trace a run
// writes (every layer's compute span, loader and daemon tracks, well-formed events).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <random>

#include "edgerun/edgerun.h"
#include "io/file.h"
#include "models/model.h"
#include "runtime/cost_model.h"
#include "runtime/profiler.h"
#include "test_models.h"
#include "test_util.h"

using namespace edgerun;

namespace {
bool close(double a, double b, double rel) { return std::fabs(a - b) <= rel * std::max(1.0, std::fabs(b)); }

// Ordinary least squares for y ~ a x + b d + c, solved independently of cost_model.cpp (normal
// equations by Cramer's rule in long double).
std::array<double, 3> ols(const std::vector<Sample>& s) {
  long double A[3][3] = {}, b[3] = {};
  for (const Sample& p : s) {
    const long double r[3] = {p.x, p.d, 1.0L};
    for (int i = 0; i < 3; ++i) {
      b[i] += r[i] * p.y;
      for (int j = 0; j < 3; ++j) A[i][j] += r[i] * r[j];
    }
  }
  auto det = [](long double m[3][3]) {
    return m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) +
           m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
  };
  const long double D = det(A);
  std::array<double, 3> out{};
  for (int c = 0; c < 3; ++c) {
    long double M[3][3];
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j < 3; ++j) M[i][j] = j == c ? b[i] : A[i][j];
    out[c] = static_cast<double>(det(M) / D);
  }
  return out;
}
}  // namespace

TEST(CostModel, FitRecoversAnExactPlane) {
  // y = 2e-6 x + 0.3 d + 5 (ms from bytes and depth), twelve samples: indices 0, 4, 8 held out.
  std::vector<Sample> s;
  for (int i = 0; i < 12; ++i) {
    const double x = 1e6 * (1 + (i * 7) % 12), d = i % 5;
    s.push_back({x, d, 2e-6 * x + 0.3 * d + 5});
  }
  const LinearFit f = fit_linear(s);
  EXPECT_EQ(f.n_fit, 9);
  EXPECT_EQ(f.n_holdout, 3);
  EXPECT_TRUE(close(f.coef[0], 2e-6, 1e-7)) << f.coef[0];
  EXPECT_TRUE(close(f.coef[1], 0.3, 1e-7)) << f.coef[1];
  EXPECT_TRUE(close(f.coef[2], 5.0, 1e-7)) << f.coef[2];
  EXPECT_NEAR(f.r2, 1.0, 1e-12);
  EXPECT_NEAR(f.mape_holdout, 0.0, 1e-8);
  EXPECT_NEAR(f.predict(3e6, 2), 2e-6 * 3e6 + 0.6 + 5, 1e-6);
  // No hold-out when asked for none, or with fewer than four samples.
  EXPECT_EQ(fit_linear(s, 1).n_holdout, 0);
  EXPECT_EQ(fit_linear(std::vector<Sample>(s.begin(), s.begin() + 3)).n_holdout, 0);
  EXPECT_EQ(fit_linear({}).n_fit, 0);
}

TEST(CostModel, FitOfNoisyDataIsTheLeastSquaresSolution) {
  std::mt19937 g(5);
  std::normal_distribution<double> noise(0.0, 0.4);
  std::vector<Sample> s;
  for (int i = 0; i < 40; ++i) {
    const double x = 1e5 * (1 + i % 13), d = (i * 3) % 11;
    s.push_back({x, d, 4e-5 * x - 0.2 * d + 1.5 + noise(g)});
  }
  const LinearFit f = fit_linear(s, 1);
  const auto want = ols(s);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(close(f.coef[i], want[i], 1e-6)) << i << ": " << f.coef[i] << " vs " << want[i];
  double mean = 0, ss_res = 0, ss_tot = 0;
  for (const Sample& p : s) mean += p.y / static_cast<double>(s.size());
  for (const Sample& p : s) {
    const double e = p.y - (want[0] * p.x + want[1] * p.d + want[2]);
    ss_res += e * e;
    ss_tot += (p.y - mean) * (p.y - mean);
  }
  EXPECT_NEAR(f.r2, 1.0 - ss_res / ss_tot, 1e-9);
  EXPECT_GT(f.r2, 0.9);
  EXPECT_LT(f.r2, 1.0);
}

TEST(CostModel, CollinearDepthGivesAUsableFit) {
  // Transformer layers are alike: every sample at the same depth. The ridge term keeps the
  // solve finite and the predictions exact on the data.
  std::vector<Sample> s;
  for (int i = 1; i <= 8; ++i) s.push_back({1e6 * i, 3, 1e-6 * 1e6 * i + 2});
  const LinearFit f = fit_linear(s, 1);
  for (const Sample& p : s) EXPECT_NEAR(f.predict(p.x, p.d), p.y, 1e-6);
  EXPECT_NEAR(f.r2, 1.0, 1e-9);
}

TEST(CostModel, JsonRoundTripAndDefaults) {
  CostModel c;
  EXPECT_DOUBLE_EQ(c.load_ms(1500000000, 0), 1000.0);  // not measured: bytes / B
  c.t_in = fit_linear({{1e6, 0, 3}, {2e6, 1, 5}, {3e6, 2, 7}, {4e6, 3, 9}}, 1);
  c.t_ex.coef = {1e-9, 0, 0.5};
  c.t_ex.n_fit = 4;
  c.read_bytes_per_s = 2.5e9;
  c.measured = true;
  const CostModel back = CostModel::from_json(c.to_json(), "mem.json");
  EXPECT_EQ(back.to_json(), c.to_json());
  EXPECT_NEAR(back.load_ms(5000000, 4), c.t_in.predict(5e6, 4), 1e-9);
  EXPECT_THROW(CostModel::from_json("{\"t_in\": 3}", "bad.json"), Error);
  EXPECT_THROW(CostModel::from_json("not json", "bad.json"), Error);
}

TEST(Profiler, SamplesAndLayersAreTheGraphs) {
  edgerun::test::TempDir t("profile");
  edgerun::test::TestModelSpec spec;
  spec.synth = "bert-tiny";
  spec.n_layer = 3;
  const std::string dir = edgerun::test::make_test_model(t, "bert", spec);
  ProfileRequest o;
  o.threads = 1;
  o.repeats = 1;
  o.max_block_layers = 2;
  o.cold = false;
  std::vector<std::string> progress;
  o.progress = [&](const std::string& s) { progress.push_back(s); };
  const ProfileResult r = profile_model(dir, o);
  const ModelGraph mg = build_model(dir);
  const Graph& g = mg.graph;
  const size_t n = g.layers.size();
  ASSERT_EQ(r.layers.size(), n);
  // Loads: every weight-bearing layer alone, then pairs (first = 0, 2, 4, ...).
  size_t want_in = 0;
  for (int k = 1; k <= 2; ++k)
    for (size_t first = 0; first + k <= n; first += (k == 1 ? 1 : k)) {
      uint64_t bytes = 0;
      for (int j = 0; j < k; ++j) bytes += g.layer_weight_bytes(static_cast<int32_t>(first + j));
      if (bytes == 0) continue;
      ASSERT_LT(want_in, r.in_samples.size());
      EXPECT_EQ(r.in_samples[want_in].x, static_cast<double>(bytes));
      EXPECT_EQ(r.in_samples[want_in].d, static_cast<double>(first));
      EXPECT_GE(r.in_samples[want_in].y, 0.0);
      ++want_in;
    }
  EXPECT_EQ(r.in_samples.size(), want_in);
  EXPECT_EQ(r.out_samples.size(), want_in);
  for (size_t l = 0; l < n; ++l) {
    EXPECT_EQ(r.layers[l].name, g.layers[l].name);
    EXPECT_EQ(r.layers[l].depth, static_cast<int32_t>(l));
    EXPECT_EQ(r.layers[l].bytes, g.layer_weight_bytes(static_cast<int32_t>(l)));
    EXPECT_EQ(r.layers[l].flops, g.layer_flops(static_cast<int32_t>(l), r.B, r.T, 0));
  }
  EXPECT_EQ(r.B, 1);
  EXPECT_EQ(r.T, 128);  // the largest of 8, 32, 128 that the positions allow
  EXPECT_TRUE(r.cost.measured);
  EXPECT_EQ(r.cost.t_in.n_fit + r.cost.t_in.n_holdout, static_cast<int>(want_in));
  double bytes = 0, ms = 0;
  for (const Sample& s : r.in_samples) bytes += s.x, ms += s.y;
  EXPECT_DOUBLE_EQ(r.cost.read_bytes_per_s, bytes / (ms / 1e3));
  EXPECT_EQ(progress.size(), 1u + 3u + 1u);  // one round of loads, three token counts, one held out
  // The per-layer compute times plans use: a point per fitted token count, judged at the
  // held-out one (T = 64) on every block the t_ex samples have there.
  ASSERT_EQ(r.cost.layer_compute.size(), n);
  for (const LayerTimes& l : r.cost.layer_compute) EXPECT_EQ(l.points.size(), 3u);
  EXPECT_FALSE(r.ex_holdout_samples.empty());
  EXPECT_EQ(r.cost.layers_holdout.n, static_cast<int>(r.ex_holdout_samples.size()));
  EXPECT_EQ(r.cost.t_ex.n_holdout, static_cast<int>(r.ex_holdout_samples.size()));
  EXPECT_EQ(r.cost.t_ex.n_fit, static_cast<int>(r.ex_samples.size()));
  const auto j = nlohmann::json::parse(r.to_json());
  EXPECT_EQ(j["layers"].size(), n);
  EXPECT_EQ(j["samples"]["t_in"].size(), want_in);
  size_t csv_lines = 0;
  for (char c : r.to_csv()) csv_lines += c == '\n';
  EXPECT_EQ(csv_lines, n + 1);
}

// An ONNX CNN: its compute samples are the N-D ops' FLOPs at the bound input shape (the fixture's
// batch axis is symbolic: batches of 1, 2 and 4).
TEST(Profiler, OnnxLayersHaveTheirConvFlops) {
  const std::string dir = std::string(EDGERUN_TEST_DATA) + "/onnx/cnn_bn";
  ProfileRequest o;
  o.threads = 1;
  o.repeats = 1;
  o.max_block_layers = 1;
  o.cold = false;
  const ProfileResult r = profile_model(dir, o);
  const ModelGraph mg = build_model(dir);
  ASSERT_EQ(r.layers.size(), mg.graph.layers.size());
  ASSERT_EQ(r.layers.size(), 4u);
  // The last batch profiled: c1 3->8 3x3 over a 16x16 output (2 * 16*16*8 * 27 per image) and
  // the 2x2 max pool in its layer (8x8x8 outputs of 4 inputs).
  EXPECT_EQ(r.B, 4);
  EXPECT_EQ(r.layers[0].name, "/c1/Conv");
  EXPECT_DOUBLE_EQ(r.layers[0].flops, 4.0 * (2 * 16 * 16 * 8 * 27 + 8 * 8 * 8 * 4));
  EXPECT_DOUBLE_EQ(r.layers[3].flops, 4.0 * 2 * 5 * 16);  // fc: 16 -> 5
  EXPECT_EQ(r.cost.t_ex.n_fit, 3 * 4);      // four layers at three batches
  EXPECT_EQ(r.cost.t_ex.n_holdout, 4);      // and at the held-out batch of 3
  for (const auto& l : r.layers) EXPECT_GT(l.compute_ms, 0.0) << l.name;
}

TEST(Trace, ARunWritesEveryLayersSpansOnItsAgentsTracks) {
  edgerun::test::TempDir t("trace");
  edgerun::test::TestModelSpec spec;
  spec.n_layer = 4;
  const std::string dir = edgerun::test::make_test_model(t, "gpt2", spec);
  for (const char* ex : {"resident", "swap", "pipeload"}) {
    SessionOptions o;
    o.threads = 1;
    o.executor = parse_executor(ex);
    o.budget_fraction = std::string(ex) == "resident" ? 0 : 0.5;
    o.trace_path = t.file(std::string(ex) + ".json");
    auto s = Session::open(dir, o);
    const Inputs in = edgerun::test::test_inputs(dir, 8);
    s->run(in);
    const auto j = nlohmann::json::parse(read_text_file(o.trace_path));
    std::map<int, std::string> tracks;
    std::map<std::string, std::vector<std::string>> spans;  // track -> span names
    std::map<int, double> last_end;
    for (const auto& e : j["traceEvents"]) {
      if (e["ph"] == "M") tracks[e["tid"].get<int>()] = e["args"]["name"].get<std::string>();
    }
    for (const auto& e : j["traceEvents"]) {
      if (e["ph"] != "X") continue;
      const int tid = e["tid"].get<int>();
      ASSERT_TRUE(tracks.count(tid)) << ex << ": a span on an unnamed track";
      EXPECT_GE(e["dur"].get<double>(), 0.0) << ex;
      EXPECT_GE(e["ts"].get<double>(), 0.0) << ex;
      spans[tracks[tid]].push_back(e["name"].get<std::string>());
    }
    const ModelGraph mg = build_model(dir);
    for (const auto& l : mg.graph.layers) {
      const auto& inf = spans["inference"];
      EXPECT_EQ(std::count(inf.begin(), inf.end(), "compute " + l.name), 1) << ex << ": compute " << l.name;
    }
    size_t loads = 0;
    for (const auto& [track, names] : spans)
      for (const auto& n : names) loads += n.rfind("load ", 0) == 0;
    EXPECT_GE(loads, mg.graph.layers.size() - 1) << ex << ": a load span per weight-bearing layer";
    if (std::string(ex) != "resident") {
      EXPECT_TRUE(spans.count("daemon")) << ex << ": frees are traced";
    }
    if (std::string(ex) == "pipeload") {
      // Which agent takes which layer is the scheduler's business; loads are on agents' tracks.
      size_t on_agents = 0;
      for (const auto& [track, names] : spans)
        if (track.rfind("loader ", 0) == 0)
          for (const auto& n : names) on_agents += n.rfind("load ", 0) == 0;
      EXPECT_EQ(on_agents, loads) << ex;
    }
  }
}
