// The scheduler's run report: latency percentiles, throughput, deadline misses, predicted vs
// measured latency, and the multi-program metrics as PREMA (Choi and Rhu, HPCA 2020) defines them
// for DNN tasks: each request i is a task with turnaround T_MP,i (its latency here) and T_SP,i,
// its time alone (its model's single_ms): ANTT = (1/n) Σ T_MP,i / T_SP,i (1: no slowdown; lower
// is better) and STP = Σ T_SP,i / T_MP,i (higher is better; n at most). docs/SERVE.md.
#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "edgerun/scheduler.h"

namespace edgerun {

const std::vector<double>& latency_bounds_ms() {
  static const std::vector<double> b{1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000};
  return b;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const double rank = std::ceil(std::clamp(p, 0.0, 100.0) / 100.0 * static_cast<double>(v.size()));
  const size_t i = rank < 1 ? 0 : static_cast<size_t>(rank) - 1;
  return v[std::min(i, v.size() - 1)];
}

namespace {
double mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? 0 : s / static_cast<double>(v.size());
}

// Mean |predicted - measured| / measured.
double mape(const std::vector<double>& pred, const std::vector<double>& y) {
  double s = 0;
  size_t n = 0;
  for (size_t i = 0; i < std::min(pred.size(), y.size()); ++i)
    if (y[i] > 0) s += std::abs(pred[i] - y[i]) / y[i], ++n;
  return n ? s / static_cast<double>(n) : 0;
}

// 1 - Σ(y - ŷ)² / Σ(y - ȳ)²: how much of the measured variation the prediction explains.
double r_squared(const std::vector<double>& pred, const std::vector<double>& y) {
  const size_t n = std::min(pred.size(), y.size());
  if (n < 2) return 0;
  const double m = mean(y);
  double res = 0, tot = 0;
  for (size_t i = 0; i < n; ++i) res += (y[i] - pred[i]) * (y[i] - pred[i]), tot += (y[i] - m) * (y[i] - m);
  return tot > 0 ? 1 - res / tot : 0;
}
}  // namespace

std::string scheduler_report_json(const SchedulerStats& s, double makespan_ms, uint64_t allowance_bytes) {
  nlohmann::json models = nlohmann::json::array();
  double antt_sum = 0, stp = 0;
  int64_t n_all = 0, missed = 0, answered = 0;
  for (const ModelStats& m : s.models) {
    for (double t : m.latency_ms)
      if (t > 0 && m.single_ms > 0) antt_sum += t / m.single_ms, stp += m.single_ms / t, ++n_all;
    missed += m.deadline_missed;
    answered += m.ok;
    models.push_back({
        {"name", m.name},
        {"quota_bytes", m.quota_bytes},
        {"min_budget_bytes", m.min_budget_bytes},
        {"weight_bytes", m.weight_bytes},
        {"ok", m.ok},
        {"failed", m.failed},
        {"rejected_queue_full", m.rejected_full},
        {"rejected_predicted_miss", m.rejected_deadline},
        {"deadline_missed", m.deadline_missed},
        {"deadline_miss_rate", m.ok ? static_cast<double>(m.deadline_missed) / static_cast<double>(m.ok) : 0.0},
        {"passes", m.passes},
        {"bytes_read", m.bytes_read},
        {"latency_ms", {{"mean", mean(m.latency_ms)},
                        {"p50", percentile(m.latency_ms, 50)},
                        {"p95", percentile(m.latency_ms, 95)},
                        {"p99", percentile(m.latency_ms, 99)},
                        {"max", percentile(m.latency_ms, 100)}}},
        {"service_ms", {{"mean", mean(m.service_ms)}, {"p50", percentile(m.service_ms, 50)}}},
        {"single_ms", m.single_ms},
        {"cost_model_ms", m.cost_model_ms},
        {"throughput_per_s", makespan_ms > 0 ? static_cast<double>(m.ok) / (makespan_ms / 1000.0) : 0.0},
        {"prediction", {{"latency_mape", mape(m.predicted_ms, m.latency_ms)},
                        {"latency_r2", r_squared(m.predicted_ms, m.latency_ms)},
                        {"service_mape", mape(m.predicted_service_ms, m.service_ms)},
                        {"service_r2", r_squared(m.predicted_service_ms, m.service_ms)}}},
    });
  }
  nlohmann::json j = {
      {"models", models},
      {"requests", answered},
      {"makespan_ms", makespan_ms},
      {"throughput_per_s", makespan_ms > 0 ? static_cast<double>(answered) / (makespan_ms / 1000.0) : 0.0},
      {"deadline_miss_rate", answered ? static_cast<double>(missed) / static_cast<double>(answered) : 0.0},
      {"antt", n_all ? antt_sum / static_cast<double>(n_all) : 0.0},
      {"stp", stp},
      {"stp_per_request", n_all ? stp / static_cast<double>(n_all) : 0.0},
      {"budget_bytes", s.budget_bytes},
      {"budget_high_water_bytes", s.budget_high_water},
      {"peak_rss_bytes", s.peak_rss_bytes},
      {"fixed_baseline_bytes", s.fixed_baseline_bytes},
      {"server_allowance_bytes", allowance_bytes},
      {"within_budget", s.peak_rss_bytes <= s.budget_bytes + s.fixed_baseline_bytes + allowance_bytes},
  };
  return j.dump(2);
}

}  // namespace edgerun
