// The cost model `edgerun profile` records beside iobench's bandwidth record: the profile loads
// the way the executors do (a limited budget, huge pages where the kernel has them, pages
// committed, the session's reader), records its fits per device and model, and later sessions
// (and `plan`) plan with them without being given a file, saying so; a record that cannot be read
// is ignored. Also the per-layer compute times and the fit helpers on data with known answers.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/memory_budget.h"
#include "edgerun/edgerun.h"
#include "edgerun/tools.h"
#include "io/file.h"
#include "models/model.h"
#include "runtime/cost_model.h"
#include "runtime/cost_model_record.h"
#include "runtime/profiler.h"
#include "test_models.h"
#include "test_util.h"

using namespace edgerun;
using edgerun::test::TempDir;

namespace {
ProfileRequest quick_profile() {
  ProfileRequest o;
  o.threads = 1;
  o.repeats = 1;
  o.max_block_layers = 2;
  o.cold = false;
  return o;
}

// A report after one run of the model at half its weights (streamed, so loads are planned).
Report report_after_run(const std::string& dir, SessionOptions o = {}) {
  o.threads = 1;
  o.budget_fraction = 0.5;
  auto s = Session::open(dir, o);
  s->run(edgerun::test::test_inputs(dir, 8));
  return s->report();
}
}  // namespace

TEST(CostModel, LayerTimesInterpolateInFlops) {
  LayerTimes l;
  l.points = {{1e6, 2.0}, {3e6, 4.0}, {7e6, 6.0}};
  EXPECT_DOUBLE_EQ(l.predict(1e6), 2.0);
  EXPECT_DOUBLE_EQ(l.predict(2e6), 3.0);   // on the first segment
  EXPECT_DOUBLE_EQ(l.predict(5e6), 5.0);   // on the second
  EXPECT_DOUBLE_EQ(l.predict(9e6), 7.0);   // past the last: along the last segment
  EXPECT_DOUBLE_EQ(l.predict(5e5), 1.0);   // below the first: in proportion
  LayerTimes one;
  one.points = {{2e6, 4.0}};
  EXPECT_DOUBLE_EQ(one.predict(3e6), 6.0);
  LayerTimes falling;  // noise: a larger shape measured faster; never extrapolate downwards
  falling.points = {{1e6, 3.0}, {2e6, 2.0}};
  EXPECT_DOUBLE_EQ(falling.predict(4e6), 4.0);
  EXPECT_DOUBLE_EQ(LayerTimes{}.predict(1e6), 0.0);
}

TEST(CostModel, ComputeUsesTheLayerTimesWhereItHasThem) {
  CostModel c;
  c.measured = true;
  c.t_ex.coef = {1e-6, 0, 0};
  c.t_ex.n_fit = 4;
  c.layer_compute.resize(2);
  c.layer_compute[1].points = {{1e6, 10.0}, {2e6, 12.0}};
  EXPECT_DOUBLE_EQ(c.compute_ms(1.5e6, 1), 11.0);  // the table
  EXPECT_DOUBLE_EQ(c.compute_ms(1.5e6, 0), 1.5);   // no points: the fit
  EXPECT_DOUBLE_EQ(c.compute_ms(1.5e6, 5), 1.5);   // past the table: the fit
  c.layers_holdout = {0.97, 0.05, 6};
  const CostModel back = CostModel::from_json(c.to_json(), "mem.json");
  EXPECT_EQ(back.to_json(), c.to_json());
  EXPECT_DOUBLE_EQ(back.compute_ms(1.5e6, 1), 11.0);
  EXPECT_EQ(back.layers_holdout.n, 6);
  // A file written before the per-layer times: the fit alone.
  auto j = nlohmann::json::parse(c.to_json());
  j.erase("layer_compute_ms");
  EXPECT_TRUE(CostModel::from_json(j.dump(), "old.json").layer_compute.empty());
  j = nlohmann::json::parse(c.to_json());
  j["layer_compute_ms"]["points"][1][0] = {1e6, -1.0};
  EXPECT_THROW(CostModel::from_json(j.dump(), "bad.json"), Error);
}

TEST(CostModel, FitOnOneSetJudgedOnAnother) {
  // y = 3e-6 x + 2 exactly: fitted on four samples, judged on two others (a 10% error in one).
  std::vector<Sample> fit = {{1e6, 0, 5}, {2e6, 1, 8}, {3e6, 2, 11}, {4e6, 0, 14}};
  std::vector<Sample> hold = {{5e6, 1, 17}, {6e6, 2, 20 / 1.1}};
  std::vector<const Sample*> f, h;
  for (const Sample& s : fit) f.push_back(&s);
  for (const Sample& s : hold) h.push_back(&s);
  const LinearFit l = fit_linear(f, h);
  EXPECT_EQ(l.n_fit, 4);
  EXPECT_EQ(l.n_holdout, 2);
  EXPECT_NEAR(l.r2, 1.0, 1e-12);
  EXPECT_NEAR(l.predict(5e6, 1), 17.0, 1e-6);  // the ridge term: not exact to the last digit
  EXPECT_NEAR(l.mape_holdout, 0.05, 1e-7);  // (0 + 0.1) / 2
  const FitQuality q = judge({1, 2, 3}, {1, 2, 4});
  EXPECT_EQ(q.n, 3);
  EXPECT_NEAR(q.mape, 0.25 / 3, 1e-12);
  EXPECT_NEAR(q.r2, 1.0 - 1.0 / (14.0 / 3.0), 1e-12);  // ss_res 1, ss_tot 4.667
}

TEST(Profiler, LoadsTheWayTheExecutorsDo) {
  TempDir t("prof_exec");
  edgerun::test::TestModelSpec spec;
  spec.n_layer = 3;
  const std::string dir = edgerun::test::make_test_model(t, "gpt2", spec);
  const ProfileResult r = profile_model(dir, quick_profile());
  EXPECT_NE(r.budget_bytes, MemoryBudget::kUnlimited);
  EXPECT_GE(r.budget_bytes, build_model(dir).graph.model_weight_bytes());
  EXPECT_EQ(r.huge_pages, MemoryBudget::huge_pages_available());
  EXPECT_GT(r.committed_bytes, 0u);  // the largest block's pages, before the clock starts
  EXPECT_EQ(r.threads, 1);
  EXPECT_EQ(r.key.threads, 1);
  // The session's reader for the same model (io_uring where allowed, else threads; buffered
  // where the filesystem refuses O_DIRECT).
  SessionOptions o;
  o.threads = 1;
  auto s = Session::open(dir, o);
  s->run(edgerun::test::test_inputs(dir, 8));
  EXPECT_EQ(r.io_engine, s->report().io_engine);
  const auto j = nlohmann::json::parse(r.to_json());
  EXPECT_EQ(j["measured_with"]["huge_pages"].get<bool>(), r.huge_pages);
  EXPECT_EQ(j["measured_with"]["backends"].get<std::string>(), r.key.backends);
}

// A fresh, empty cache folder per test.
class CostModelRecord : public ::testing::Test {
 protected:
  TempDir t_{"cm_record"};
  edgerun::test::ScopedEnv env_{"EDGERUN_CACHE_DIR", t_.file("cache")};
  std::string model(const std::string& synth = "gpt2-tiny") {
    edgerun::test::TestModelSpec spec;
    spec.synth = synth;
    spec.n_layer = 3;
    return edgerun::test::make_test_model(t_, synth, spec);
  }
};

TEST_F(CostModelRecord, AProfileIsRecordedAndLaterSessionsPlanWithIt) {
  const std::string dir = model();
  EXPECT_EQ(report_after_run(dir).cost_model_source, "default");
  const ProfileReport p = edgerun::profile(dir, quick_profile());
  EXPECT_EQ(p.recorded_in, t_.file("cache") + "/cost_models.json");
  EXPECT_EQ(p.recorded_in, cost_model_record_path());
  const Report r = report_after_run(dir);
  EXPECT_EQ(r.cost_model_source.rfind("profile ", 0), 0u) << r.cost_model_source;
  EXPECT_EQ(r.read_bandwidth_source, r.cost_model_source);  // no iobench record: the profile's B
  // The plan says so too.
  SessionOptions o;
  o.threads = 1;
  o.budget_fraction = 0.5;
  const auto plan = nlohmann::json::parse(Session::open(dir, o)->plan_json(edgerun::test::test_inputs(dir, 8)));
  EXPECT_EQ(plan["cost_model_source"], r.cost_model_source);
  // Another model on the same device has no record; nor has a session without direct I/O.
  EXPECT_EQ(report_after_run(model("bert-tiny")).cost_model_source, "default");
  SessionOptions buffered;
  buffered.direct_io = false;
  EXPECT_EQ(report_after_run(dir, buffered).cost_model_source, "default");
  // A file given wins over the record.
  const std::string file = t_.write("cm.json", CostModel().to_json());
  SessionOptions given;
  given.cost_model_path = file;
  EXPECT_EQ(report_after_run(dir, given).cost_model_source, "cost model " + file);
  // --no-record (ProfileRequest::record) leaves the record alone.
  ProfileRequest q = quick_profile();
  q.record = false;
  EXPECT_EQ(edgerun::profile(dir, q).recorded_in, "");
}

TEST_F(CostModelRecord, TheCliRecordsAndPlanUsesIt) {
  const std::string dir = model(), out = t_.file("prof");
  edgerun::test::CmdOptions env;
  env.env = {{"EDGERUN_CACHE_DIR", t_.file("cache")}};
  auto r = edgerun::test::run_edgerun("profile " + dir + " --out " + out + " --threads 1 --repeats 1 --warm", env);
  ASSERT_TRUE(edgerun::test::cli_ok(r));
  EXPECT_TRUE(edgerun::test::contains(r.out, "recorded in " + t_.file("cache") + "/cost_models.json")) << r.out;
  EXPECT_TRUE(edgerun::test::contains(r.out, "huge pages")) << r.out;
  r = edgerun::test::run_edgerun("plan " + dir + " --budget 50% --seq 8 --threads 1 --json", env);
  ASSERT_TRUE(edgerun::test::cli_ok(r));
  EXPECT_EQ(nlohmann::json::parse(r.out)["cost_model_source"].get<std::string>().rfind("profile ", 0), 0u) << r.out;
}

TEST_F(CostModelRecord, AnUnreadableRecordIsIgnored) {
  const std::string dir = model();
  const ProfileReport p = edgerun::profile(dir, quick_profile());
  ASSERT_FALSE(p.recorded_in.empty());
  const std::string good = read_text_file(p.recorded_in);
  auto corrupt = nlohmann::json::parse(good);
  auto& entries = corrupt["devices"].begin().value();
  const std::string id = entries.begin().key();
  std::vector<std::string> texts = {"", "not json", "[1,2]", R"({"devices": 3})", R"({"devices": {"0:0": 4}})"};
  for (const nlohmann::json& bad : {nlohmann::json(3), nlohmann::json({{"cost_model", {{"t_in_ms", 3}}}}),
                                   nlohmann::json({{"cost_model", "fast"}})}) {
    entries[id] = bad;
    texts.push_back(corrupt.dump());
  }
  auto negative = nlohmann::json::parse(good);
  negative["devices"].begin().value()[id]["cost_model"]["read_bytes_per_s"] = -1;
  texts.push_back(negative.dump());
  for (const std::string& text : texts) {
    std::ofstream(p.recorded_in, std::ios::trunc) << text;
    EXPECT_EQ(report_after_run(dir).cost_model_source, "default") << text;
  }
  // A broken record is replaced by the next profile.
  ASSERT_FALSE(edgerun::profile(dir, quick_profile()).recorded_in.empty());
  EXPECT_EQ(report_after_run(dir).cost_model_source.rfind("profile ", 0), 0u);
}
