// `edgerun serve` and `edgerun replay` as a user runs them: every row of bad config is one error
// line with its exit code before anything serves; a replayed workload answers every arrival and
// reports the run.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "test_util.h"

using namespace edgerun;
using namespace edgerun::test;

namespace {
const std::string kData = EDGERUN_TEST_DATA;

std::string model_lines(const std::string& name, const std::string& path, const std::string& extra = "") {
  return "  - name: " + name + "\n    path: " + path + "\n" + extra;
}
}  // namespace

class ServeCli : public TempDirTest {};

TEST_F(ServeCli, EveryBadConfigIsOneErrorBeforeServing) {
  const std::string cls = kData + "/onnx/cnn_bn", det = kData + "/onnx/yolov3_tiny/model.onnx";
  const struct {
    const char* what;
    std::string yaml, args;
    int code;
    const char* says;
  } rows[] = {
      {"missing model", "budget: 64M\nmodels:\n" + model_lines("a", kData + "/no/such.onnx"), "", 3, "does not exist"},
      {"duplicate names", "budget: 64M\nmodels:\n" + model_lines("a", cls) + model_lines("a", det), "", 3, "given twice"},
      {"quota below the smallest block", "budget: 64M\nmodels:\n" + model_lines("a", det, "    quota: 8K\n"), "", 4,
       "below its minimum budget"},
      {"budget below the minimum needs", "budget: 300K\nmodels:\n" + model_lines("a", det) + model_lines("b", kData + "/onnx/fcn_tiny"), "",
       4, "below the models' minimum needs"},
      {"malformed YAML", "budget: 64M\nmodels: [\n", "", 3, "malformed YAML"},
      {"unknown key", "budget: 64M\nmodels:\n" + model_lines("a", cls, "    priorty: 3\n"), "", 3, "unknown key 'priorty'"},
      {"bad size", "budget: 64Q\nmodels:\n" + model_lines("a", cls), "", 3, "unknown size unit"},
      {"quota and weight", "budget: 64M\nmodels:\n" + model_lines("a", cls, "    quota: 8M\n    weight: 2\n"), "", 3, "not both"},
      {"no models", "budget: 64M\nmodels: []\n", "", 3, "at least one model"},
      {"no budget", "models:\n" + model_lines("a", cls), "", 3, "give the budget"},
      {"bad policy", "budget: 64M\npolicy: fifo\nmodels:\n" + model_lines("a", cls), "", 3, "unknown scheduling policy"},
      {"non-loopback without a key", "budget: 64M\nmodels:\n" + model_lines("a", cls), " --listen 0.0.0.0:0", 3, "without an API key"},
      {"bad listen", "budget: 64M\nmodels:\n" + model_lines("a", cls), " --listen localhost", 3, "not HOST:PORT"},
      {"batch on a fixed batch axis", "budget: 64M\nmodels:\n" + model_lines("a", kData + "/onnx/mobile_block", "    max_batch: 2\n"), "", 3,
       "symbolic batch axis"},
  };
  for (const auto& row : rows) {
    const std::string cfg = write_file("models.yaml", row.yaml);
    const CmdResult r = run_edgerun("serve --config " + cfg + row.args, {.unset_env = {"EDGERUN_API_KEY"}, .timeout_s = 120});
    EXPECT_TRUE(cli_failed(r, row.code, row.says)) << row.what;
  }
  EXPECT_TRUE(cli_failed(run_edgerun("serve --config " + tmp_->file("none.yaml")), 3, "cannot read the file"));
}

TEST_F(ServeCli, ReplayAnswersEveryArrivalAndReports) {
  write_file("models.yaml", "budget: 8M\npolicy: edf\nmodels:\n" + model_lines("cls", kData + "/onnx/cnn_bn", "    deadline_ms: 5000\n") +
                                model_lines("seg", kData + "/onnx/fcn_tiny", "    priority: 2\n    max_batch: 2\n"));
  const std::string w = write_file("work.yaml",
                                   "config: models.yaml\nstreams:\n"
                                   "  - model: cls\n    arrival: periodic\n    rate: 200\n    count: 10\n    input: " +
                                       kData + "/onnx/cnn_bn/x.npy\n"
                                       "  - model: seg\n    arrival: list\n    times_ms: [0, 1, 2, 30]\n"
                                       "  - model: seg\n    arrival: poisson\n    rate: 100\n    count: 5\n    seed: 7\n");
  const std::string trace = tmp_->file("trace.json");
  const CmdResult r = run_edgerun("replay " + w + " --json --trace " + trace);
  ASSERT_TRUE(cli_ok(r)) << r.describe();
  const nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["arrivals"], 19);
  EXPECT_EQ(j["requests"], 19);
  EXPECT_EQ(j["lost"], 0);
  EXPECT_EQ(j["failed"], 0);
  EXPECT_EQ(j["policy"], "edf");
  EXPECT_TRUE(j["within_budget"].get<bool>()) << r.out;
  EXPECT_LE(j["budget_high_water_bytes"].get<uint64_t>(), 8u << 20);
  for (const auto& m : j["models"]) {
    EXPECT_GT(m["latency_ms"]["p50"].get<double>(), 0) << m["name"];
    EXPECT_GE(m["latency_ms"]["p99"].get<double>(), m["latency_ms"]["p50"].get<double>());
    EXPECT_GT(m["single_ms"].get<double>(), 0);
  }
  EXPECT_GT(j["antt"].get<double>(), 0);
  EXPECT_GT(j["stp"].get<double>(), 0);
  const nlohmann::json t = nlohmann::json::parse(read_bytes(trace));
  bool cls_track = false, counter = false;
  for (const auto& e : t["traceEvents"]) {
    cls_track |= e["ph"] == "M" && e["args"]["name"] == "cls";
    counter |= e["ph"] == "C";
  }
  EXPECT_TRUE(cls_track && counter) << "a track per model and the budget as a counter";
  EXPECT_TRUE(cli_failed(run_edgerun("replay " + write_file("bad.yaml", "config: models.yaml\nstreams:\n  - model: nope\n")), 3,
                         "names model 'nope'"));
}
