// Implemented in src/runtime/
//
// The multi-model scheduler (SwapNet's multi-DNN scheduling, docs/SERVE.md): several models in
// one SharedBudget of M bytes, model k under its quota M_k (Σ M_k ≤ M, each M_k at least the
// model's minimum budget), so that before every swap-in Σ resident + s_i ≤ M holds by
// construction and a model's blocks stay resident across requests as far as its quota allows.
// Requests queue per model (bounded); one compute lane runs one pass at a time on all the
// threads, choosing the next model by policy (round-robin, priority, earliest deadline first),
// batching queued requests of one model when allowed. Each request's latency is predicted from
// the cost model before it runs; a request predicted to miss its deadline is refused early or
// run, as configured. `edgerun serve` (HTTP) and `edgerun replay` (workload files) drive it.
//
//   edgerun::SchedulerOptions o;  o.budget_bytes = 900 << 20;
//   auto s = edgerun::Scheduler::open({{.name = "det", .path = "yolov3.onnx"}}, o);
//   auto f = s->submit("det", std::move(inputs));
//   edgerun::RequestResult r = f.get();
#pragma once
#include <cstdint>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "edgerun/edgerun.h"
#include "edgerun/errors.h"

namespace edgerun {

enum class Policy : uint8_t { RoundRobin, Priority, Edf };
const char* to_string(Policy p);
Policy parse_policy(std::string_view s);  // "round-robin" | "priority" | "edf"; InputError else

// Refusals of a request (HTTP: 429 and 503).
class QueueFullError : public Error { using Error::Error; };
class UnavailableError : public Error { using Error::Error; };  // predicted miss, shutting down

struct ModelSpec {
  std::string name;           // unique; [A-Za-z0-9_.-]+
  std::string path;           // a model folder (Hugging Face layout) or a .onnx file
  uint64_t quota_bytes = 0;   // 0: a share of what the given quotas leave, by weight
  double weight = 1;          // how much its passes count when the unassigned budget is shared (> 0)
  int priority = 0;           // Policy::Priority runs higher first
  double deadline_ms = 0;     // each request's deadline after its arrival (0: none)
  int max_queue = 16;         // waiting requests; one more is refused (QueueFullError)
  int max_batch = 1;          // > 1: queued requests of one shape run as one batch of up to this
  int threads = 0;            // 0: all cores
  Executor executor = Executor::Auto;
  std::optional<AttnVariant> attention;
  std::optional<Precision> precision;
  // The input the minimum budget and the predictions are sized for: text models' tokens per
  // sequence (0: min(128, positions)); ONNX models take their declared shapes, batch 1.
  int64_t tokens = 0;
};

struct SchedulerOptions {
  uint64_t budget_bytes = 0;  // M (required)
  Policy policy = Policy::RoundRobin;
  bool reject_predicted_misses = true;  // false: run them anyway (and count the miss)
  bool huge_pages = true, commit_budget = true, direct_io = true;
  std::string trace_path;     // a Chrome trace of the whole run, written by write_trace()
  // The lane waits for release() before its first pass (requests queue meanwhile): a workload
  // starts all at once, and tests build exact queues.
  bool start_held = false;
};

struct RequestResult {
  std::vector<std::pair<std::string, HostArray>> outputs;  // summary().outputs order
  double queue_ms = 0, service_ms = 0, latency_ms = 0;    // latency = queue + service
  double predicted_ms = 0;      // predicted latency at admission (queue ahead + service)
  double predicted_service_ms = 0;
  bool deadline_missed = false;
  int batch = 1;                // requests in the pass that served this one
  int64_t pass_index = 0;       // that pass's place among the scheduler's passes (0, 1, ...)
};

struct ModelStats {
  std::string name;
  uint64_t quota_bytes = 0, min_budget_bytes = 0, weight_bytes = 0;
  int64_t ok = 0, failed = 0, rejected_full = 0, rejected_deadline = 0, deadline_missed = 0;
  int64_t queued = 0;  // waiting now
  int64_t passes = 0;
  uint64_t bytes_read = 0;
  // Per answered request, the most recent kMaxSamples of each (older halves are dropped).
  static constexpr size_t kMaxSamples = 1 << 20;
  std::vector<double> latency_ms, service_ms, predicted_ms, predicted_service_ms;
  // Every answered request's latency, counted per bucket of latency_bounds_ms() (the last
  // bucket: above them all), and their sum: the Prometheus histogram.
  std::vector<int64_t> latency_buckets;
  double latency_sum_ms = 0;
  double single_ms = 0;  // the model's pass alone under its quota (warm-up median): ANTT's T_single
  // The cost model's prediction of that pass, before any was measured: predictions start from
  // it and then follow the measured passes.
  double cost_model_ms = 0;
};

// Upper bounds (ms) of the latency histogram's buckets.
const std::vector<double>& latency_bounds_ms();

struct SchedulerStats {
  std::vector<ModelStats> models;
  uint64_t budget_bytes = 0, budget_in_use = 0, budget_high_water = 0;
  uint64_t peak_rss_bytes = 0;        // the process's VmHWM
  uint64_t fixed_baseline_bytes = 0;  // RSS outside the budget (the sessions' largest measure)
  double uptime_ms = 0;
};

class Scheduler {
 public:
  // Opens every model (InputError/FormatError/IoError naming the model), checks that the budget
  // holds every minimum need and sets the quotas (BudgetError, naming the smallest that works),
  // runs each model once alone (warm-up: plans, commits, measures single_ms) and starts the lane.
  static std::unique_ptr<Scheduler> open(const std::vector<ModelSpec>& models, const SchedulerOptions& o);
  virtual ~Scheduler() = default;
  virtual const std::vector<ModelSpec>& specs() const = 0;  // with the quotas set
  virtual const ModelSummary& summary(const std::string& model) const = 0;  // InputError if unknown
  // Queues a request; its future yields the outputs or throws (InputError for bad inputs,
  // UnavailableError for a predicted miss). Throws at once: InputError (unknown model),
  // QueueFullError, UnavailableError (draining). deadline_ms < 0: the model's.
  virtual std::future<RequestResult> submit(const std::string& model, Inputs in, double deadline_ms = -1) = 0;
  // Lets a lane held by SchedulerOptions::start_held run.
  virtual void release() = 0;
  // Refuses new requests (UnavailableError), answers every admitted one (releasing a held
  // lane), stops the lane.
  virtual void drain() = 0;
  virtual SchedulerStats stats() const = 0;
  virtual void write_trace(const std::string& path) const = 0;
};

// Percentile p in [0, 100] of v (nearest rank); 0 when empty.
double percentile(std::vector<double> v, double p);

// The run's report as JSON (docs/SERVE.md "Reports"): per model latency percentiles, mean,
// throughput, deadline misses, predicted vs measured (MAPE, R²); makespan, ANTT and STP (PREMA:
// T_single of each request is its model's single_ms), peak RSS against the budget.
// within_budget: peak RSS ≤ budget + fixed baseline + allowance_bytes (a server's request and
// response buffers; 0 without one).
std::string scheduler_report_json(const SchedulerStats& s, double makespan_ms, uint64_t allowance_bytes = 0);

}  // namespace edgerun
