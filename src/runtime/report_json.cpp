// Report -> JSON, PlanResult -> PlanSummary.
#include "runtime/report_json.h"

namespace edgerun {

nlohmann::json report_json_object(const Report& r) {
  nlohmann::json j = {{"latency_ms", r.latency_ms}, {"load_ms", r.load_ms}, {"compute_ms", r.compute_ms},
                      {"peak_rss_bytes", r.peak_rss_bytes}, {"budget_bytes", r.budget_bytes},
                      {"budget_high_water_bytes", r.budget_high_water_bytes},
                      {"arena_fresh_bytes", r.arena_fresh_bytes}, {"bytes_read", r.bytes_read},
                      {"threads", r.threads}, {"blas_core", r.blas_core}, {"io_engine", r.io_engine},
                      {"huge_pages", r.huge_pages},
                      {"executor", to_string(r.executor)},
                      {"agents", r.agents}, {"min_budget_bytes", r.min_budget_bytes},
                      {"fixed_baseline_bytes", r.fixed_baseline_bytes}, {"streamed_bytes_per_pass", r.streamed_bytes},
                      {"predicted_ms_per_pass", r.predicted_ms}, {"bound_ms_per_pass", r.bound_ms},
                      {"latency_ms_per_pass", r.passes > 0 ? r.latency_ms / static_cast<double>(r.passes) : r.latency_ms},
                      {"passes", r.passes},
                      {"prepare_ms", r.prepare_ms}, {"committed_bytes", r.committed_bytes},
                      {"read_bytes_per_s", r.read_bytes_per_s}, {"read_bandwidth_source", r.read_bandwidth_source},
                      {"cost_model_source", r.cost_model_source},
                      {"weight_bytes", r.weight_bytes},
                      {"call_compute_ms", r.call_compute_ms}};
  if (r.tokens_generated) {
    j["decode_ms"] = r.decode_ms;
    j["tokens_generated"] = r.tokens_generated;
    j["tokens_per_s"] = r.tokens_per_s;
  }
  return j;
}

PlanSummary plan_summary(const PlanResult& p) {
  PlanSummary s;
  s.executor = p.plan.kind;
  s.agents = p.plan.agents;
  s.prefetch = p.plan.prefetch;
  s.blocks = p.plan.blocks;
  for (size_t i = 0; i < p.plan.pinned.size(); ++i)
    if (p.plan.pinned[i]) s.resident_layers.push_back(p.layers[i].name);
  s.predicted_ms = p.predicted_ms;
  s.predicted_first_ms = p.predicted_first_ms;
  s.predicted_peak_bytes = p.predicted_peak;
  s.min_budget_bytes = p.min_budget;
  s.weight_bytes = p.model_weight_bytes;
  s.full_pass_bytes = p.full_pass_bytes;
  s.streamed_bytes = p.streamed_bytes;
  for (const auto& l : p.layers)
    s.layers.push_back({l.name, l.bytes, l.resident, l.peak, l.flops, l.load_ms, l.compute_ms});
  return s;
}

nlohmann::json plan_json_object(const PlanSummary& p) {
  nlohmann::json ls = nlohmann::json::array();
  for (const auto& l : p.layers)
    ls.push_back({{"name", l.name}, {"bytes", l.bytes}, {"resident_bytes", l.resident_bytes}, {"peak_bytes", l.peak_bytes},
                  {"flops", l.flops}, {"load_ms", l.load_ms}, {"compute_ms", l.compute_ms}});
  nlohmann::json blocks = nlohmann::json::array();
  for (const auto& b : p.blocks) blocks.push_back({b.first, b.second});
  return {{"executor", to_string(p.executor)},
          {"agents", p.agents},
          {"prefetch", p.prefetch},
          {"blocks", blocks},
          {"resident_layers", p.resident_layers},
          {"predicted_ms_per_pass", p.predicted_ms},
          {"predicted_first_pass_ms", p.predicted_first_ms},
          {"predicted_peak_bytes", p.predicted_peak_bytes},
          {"min_budget_bytes", p.min_budget_bytes},
          {"weight_bytes", p.weight_bytes},
          {"full_pass_bytes", p.full_pass_bytes},
          {"streamed_bytes_per_pass", p.streamed_bytes},
          {"cost_model_source", p.cost_model_source},
          {"wide_huge_rounding", p.wide_huge_rounding},
          {"layers", ls}};
}

std::string plan_json(const PlanSummary& p, const std::string& model, uint64_t budget_bytes) {
  nlohmann::json j = plan_json_object(p);
  j["model"] = model;
  j["budget_bytes"] = budget_bytes;
  return j.dump(2);
}

}  // namespace edgerun
