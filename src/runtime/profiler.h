// Layer profiler (Hermes) and cost-model fitting (SwapNet): per layer bytes, FLOPs, depth, cold
// direct-I/O load time and compute time, measured the way the executors load and compute (a
// limited budget with huge pages, committed before timing; the session's direct reader; its
// thread count); then least-squares fits of t_in, t_ex and t_out on blocks of varied size
// (1..k layers, several token counts) and the per-layer compute times, judged by R^2 and MAPE
// on held-out blocks (t_ex and the per-layer times: at a pass shape that was not fitted).
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "edgerun/tools.h"
#include "runtime/cost_model.h"
#include "runtime/cost_model_record.h"

namespace edgerun {


struct LayerProfile {
  std::string name;
  int32_t depth = 0;
  uint64_t bytes = 0;
  double flops = 0;       // at the profile's largest token count
  double load_ms = 0;     // cold, direct I/O, this layer alone
  double compute_ms = 0;  // at the profile's largest token count
  double free_ms = 0;
};

struct ProfileResult {
  std::string model;
  int64_t B = 1, T = 1;  // shape of the per-layer compute column
  std::vector<LayerProfile> layers;
  std::vector<Sample> in_samples, ex_samples, out_samples;
  std::vector<Sample> ex_holdout_samples;  // compute blocks at the held-out shape
  CostModel cost;
  // How it was measured, and the key it is recorded under (cost_model_record.h).
  CostModelKey key;
  uint64_t budget_bytes = 0, committed_bytes = 0;
  bool huge_pages = false;
  std::string io_engine = "buffered";
  int threads = 0;
  std::string to_json() const;
  std::string to_csv() const;
};

ProfileResult profile_model(const std::string& model_dir, const ProfileRequest& opts);

}  // namespace edgerun
