// Implemented in src/serve/
//
// `edgerun serve` and `edgerun replay` (docs/SERVE.md): a YAML config of models for the
// multi-model scheduler (edgerun/scheduler.h), served over the Open Inference Protocol (KServe
// v2 REST, with the binary tensor extension) on cpp-httplib with Prometheus metrics, or driven
// by a workload file of arrivals without HTTP.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "edgerun/scheduler.h"

namespace edgerun {

// The HTTP server's bounds. Request and response bodies live outside the MemoryBudget, in the
// server allowance (allowance_bytes()), which the memory bound of a serve run includes.
struct ServerLimits {
  uint64_t max_body_bytes = 16ull << 20;  // a larger request is refused (413)
  int threads = 8;                        // connections served at once (a keep-alive one holds its thread)
  int queue = 16;                         // accepted connections waiting for a thread; then accept blocks
  int read_timeout_s = 10, write_timeout_s = 10, keep_alive_s = 5;
  int keep_alive_max = 100;               // requests per connection
};

struct ServeConfig {
  std::vector<ModelSpec> models;
  SchedulerOptions scheduler;
  ServerLimits limits;
  std::string listen = "127.0.0.1:8000";
  std::string path;  // the config file (model paths are relative to its folder)
};

// Reads a config file (docs/SERVE.md "Config"). FormatError naming the file, line and key for
// malformed YAML, unknown keys and bad values; model paths are resolved against the file's folder.
ServeConfig load_serve_config(const std::string& path);

// Bytes the server may hold outside the budget: a request body and its decoded tensors for each
// connection thread and each admitted request, and a response of the same bound for each.
uint64_t allowance_bytes(const ServeConfig& c);

class Server {
 public:
  // Opens the scheduler and starts listening (IoError when the address cannot be bound). A
  // non-loopback address needs api_key (checked as `Authorization: Bearer` on every route but
  // health). Serves on its own threads until stop().
  static std::unique_ptr<Server> start(const ServeConfig& c, const std::string& api_key);
  virtual ~Server() = default;
  virtual int port() const = 0;  // the bound port (0 in the config: one the kernel chose)
  // Drains: new requests get 503, every admitted request is answered, then the listener stops.
  virtual void stop() = 0;
  // Blocks until stop() has finished (from another thread or a signal handler's thread).
  virtual void wait() = 0;
  virtual Scheduler& scheduler() = 0;
};

// A workload file (docs/SERVE.md "Replay"): streams of arrivals per model (periodic at a rate,
// Poisson, or listed times) with real inputs.
struct WorkloadStream {
  std::string model, input;  // input: a file for encode_input (an image, .npy, text), or "" (zeros)
  std::string arrival = "periodic";  // periodic | poisson | list
  double rate_per_s = 1;
  int64_t count = 1;
  double start_ms = 0;
  uint64_t seed = 1;
  std::vector<double> times_ms;  // list
  double deadline_ms = -1;       // < 0: the model's
};
struct Workload {
  std::string path;
  std::string config;  // the serve config it runs with (relative to the workload's folder)
  std::vector<WorkloadStream> streams;
};
Workload load_workload(const std::string& path);

struct ReplayReport {
  std::string json;       // scheduler_report_json plus the workload's name
  int64_t lost = 0;       // requests that got no answer (must be 0)
  int64_t failed = 0;     // answered with an error
};
// Runs the workload's arrivals against the scheduler in real time (each at its time, no HTTP)
// and reports. progress (optional) gets a line per second.
ReplayReport replay(const Workload& w, const ServeConfig& c, const std::function<void(const std::string&)>& progress);

}  // namespace edgerun
