// GET /metrics: per-model request counts by outcome, latency histograms (seconds, as Prometheus
// names them), queue depth, quotas and bytes streamed; the budget's limit, use and high water.
#include "serve/metrics.h"

#include <cstdio>

namespace edgerun::serve {

namespace {
void family(std::string& out, const char* name, const char* type, const char* help) {
  out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}
std::string num(double v) {
  char b[48];
  std::snprintf(b, sizeof b, "%.17g", v);
  return b;
}
}  // namespace

std::string prometheus_text(const SchedulerStats& s, bool draining, uint64_t allowance) {
  std::string o;
  family(o, "edgerun_requests_total", "counter", "Inference requests by model and outcome.");
  for (const ModelStats& m : s.models) {
    const std::string l = "{model=\"" + m.name + "\",outcome=\"";
    o += "edgerun_requests_total" + l + "ok\"} " + std::to_string(m.ok) + "\n";
    o += "edgerun_requests_total" + l + "failed\"} " + std::to_string(m.failed) + "\n";
    o += "edgerun_requests_total" + l + "rejected_queue_full\"} " + std::to_string(m.rejected_full) + "\n";
    o += "edgerun_requests_total" + l + "rejected_predicted_miss\"} " + std::to_string(m.rejected_deadline) + "\n";
  }
  family(o, "edgerun_deadline_missed_total", "counter", "Answered requests that finished after their deadline.");
  for (const ModelStats& m : s.models)
    o += "edgerun_deadline_missed_total{model=\"" + m.name + "\"} " + std::to_string(m.deadline_missed) + "\n";
  family(o, "edgerun_request_latency_seconds", "histogram", "Latency of answered requests, arrival to answer.");
  const std::vector<double>& bounds = latency_bounds_ms();
  for (const ModelStats& m : s.models) {
    int64_t cum = 0;
    for (size_t i = 0; i <= bounds.size(); ++i) {
      cum += i < m.latency_buckets.size() ? m.latency_buckets[i] : 0;
      const std::string le = i < bounds.size() ? num(bounds[i] / 1000.0) : "+Inf";
      o += "edgerun_request_latency_seconds_bucket{model=\"" + m.name + "\",le=\"" + le + "\"} " + std::to_string(cum) + "\n";
    }
    o += "edgerun_request_latency_seconds_sum{model=\"" + m.name + "\"} " + num(m.latency_sum_ms / 1000.0) + "\n";
    o += "edgerun_request_latency_seconds_count{model=\"" + m.name + "\"} " + std::to_string(cum) + "\n";
  }
  family(o, "edgerun_queue_depth", "gauge", "Requests waiting per model.");
  for (const ModelStats& m : s.models) o += "edgerun_queue_depth{model=\"" + m.name + "\"} " + std::to_string(m.queued) + "\n";
  family(o, "edgerun_model_quota_bytes", "gauge", "Each model's quota of the budget.");
  for (const ModelStats& m : s.models) o += "edgerun_model_quota_bytes{model=\"" + m.name + "\"} " + std::to_string(m.quota_bytes) + "\n";
  family(o, "edgerun_bytes_streamed_total", "counter", "Weight bytes read from storage per model.");
  for (const ModelStats& m : s.models) o += "edgerun_bytes_streamed_total{model=\"" + m.name + "\"} " + std::to_string(m.bytes_read) + "\n";
  family(o, "edgerun_passes_total", "counter", "Forward passes per model (a batch is one).");
  for (const ModelStats& m : s.models) o += "edgerun_passes_total{model=\"" + m.name + "\"} " + std::to_string(m.passes) + "\n";
  family(o, "edgerun_budget_bytes", "gauge", "The memory budget all models share.");
  o += "edgerun_budget_bytes " + std::to_string(s.budget_bytes) + "\n";
  family(o, "edgerun_budget_in_use_bytes", "gauge", "Budget bytes in use now.");
  o += "edgerun_budget_in_use_bytes " + std::to_string(s.budget_in_use) + "\n";
  family(o, "edgerun_budget_high_water_bytes", "gauge", "The most budget bytes in use at once.");
  o += "edgerun_budget_high_water_bytes " + std::to_string(s.budget_high_water) + "\n";
  family(o, "edgerun_process_peak_rss_bytes", "gauge", "The process's peak resident memory (VmHWM).");
  o += "edgerun_process_peak_rss_bytes " + std::to_string(s.peak_rss_bytes) + "\n";
  family(o, "edgerun_fixed_baseline_bytes", "gauge", "Resident memory outside the budget: binary, libraries, threads.");
  o += "edgerun_fixed_baseline_bytes " + std::to_string(s.fixed_baseline_bytes) + "\n";
  family(o, "edgerun_server_allowance_bytes", "gauge", "The bound on request and response buffers outside the budget.");
  o += "edgerun_server_allowance_bytes " + std::to_string(allowance) + "\n";
  family(o, "edgerun_draining", "gauge", "1 while the server drains before it stops.");
  o += std::string("edgerun_draining ") + (draining ? "1" : "0") + "\n";
  return o;
}

}  // namespace edgerun::serve
