// `edgerun serve --config models.yaml`: the Open Inference Protocol over HTTP for every model of
// the config in one budget, until SIGTERM or SIGINT (then drained: exit 0). `edgerun replay
// WORKLOAD`: the same scheduler driven by a workload file, with its report.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "edgerun/serve.h"

namespace edgerun::cli {

namespace {
struct ServeArgs {
  std::string config, budget, listen, policy, api_key_file, trace, report, port_file, workload;
  bool json = false;
};

void write_text(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary);
  f << text;
  if (!f) fail<IoError>(path, ": cannot write");
}

// The config with the command line's overrides.
ServeConfig configured(const ServeArgs& a) {
  ServeConfig c = load_serve_config(a.config);
  if (!a.budget.empty()) c.scheduler.budget_bytes = parse_bytes(a.budget);
  if (c.scheduler.budget_bytes == 0) fail<InputError>(a.config, ": give the budget (budget: in the config, or --budget)");
  if (!a.listen.empty()) c.listen = a.listen;
  if (!a.policy.empty()) c.scheduler.policy = parse_policy(a.policy);
  if (!a.trace.empty()) c.scheduler.trace_path = a.trace;
  return c;
}

// The API key, from a file or EDGERUN_API_KEY (never the command line, where `ps` shows it).
std::string api_key(const ServeArgs& a) {
  if (!a.api_key_file.empty()) {
    std::ifstream f(a.api_key_file);
    if (!f) fail<InputError>("--api-key-file ", a.api_key_file, ": cannot read it");
    std::string k;
    std::getline(f, k);
    while (!k.empty() && (k.back() == '\r' || k.back() == ' ')) k.pop_back();
    if (k.empty()) fail<InputError>("--api-key-file ", a.api_key_file, ": the file holds no key");
    return k;
  }
  const char* e = std::getenv("EDGERUN_API_KEY");
  return e ? e : "";
}

int serve(const ServeArgs& a) {
  if (a.config.empty()) fail<InputError>("serve: give the models with --config FILE (docs/SERVE.md)");
  if (!a.trace.empty()) check_output_file("--trace", a.trace);
  if (!a.report.empty()) check_output_file("--report", a.report);
  if (!a.port_file.empty()) check_output_file("--port-file", a.port_file);
  const ServeConfig c = configured(a);
  const std::string key = api_key(a);
  // Every thread the server starts inherits this mask; the main thread alone takes the signals.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  auto server = Server::start(c, key);
  std::fprintf(stderr, "edgerun serve: %zu models in %s (server allowance %s), listening on port %d\n",
               c.models.size(), format_bytes(static_cast<double>(c.scheduler.budget_bytes)).c_str(),
               format_bytes(static_cast<double>(allowance_bytes(c))).c_str(), server->port());
  if (!a.port_file.empty()) write_text(a.port_file, std::to_string(server->port()) + "\n");
  int sig = 0;
  sigwait(&stop_signals, &sig);
  std::fprintf(stderr, "edgerun serve: %s: draining\n", sig == SIGTERM ? "SIGTERM" : "SIGINT");
  server->stop();
  if (!a.report.empty()) {
    const SchedulerStats st = server->scheduler().stats();
    write_text(a.report, scheduler_report_json(st, st.uptime_ms, allowance_bytes(c)) + "\n");
  }
  std::fprintf(stderr, "edgerun serve: stopped\n");
  return 0;
}

int replay_cmd(const ServeArgs& a) {
  if (!a.report.empty()) check_output_file("--report", a.report);
  if (!a.trace.empty()) check_output_file("--trace", a.trace);
  const Workload w = load_workload(a.workload);
  ServeArgs b = a;
  if (b.config.empty()) b.config = w.config;
  const ServeConfig c = configured(b);
  const ReplayReport r = replay(w, c, [](const std::string& s) { std::fprintf(stderr, "replay: %s\n", s.c_str()); });
  if (!a.report.empty()) write_text(a.report, r.json + "\n");
  if (a.json) {
    std::printf("%s\n", r.json.c_str());
  } else {
    const nlohmann::json j = nlohmann::json::parse(r.json);
    std::printf("%-16s %6s %9s %9s %9s %9s %7s %9s\n", "model", "ok", "mean ms", "p50 ms", "p95 ms", "p99 ms", "missed",
                "pred MAPE");
    for (const auto& m : j["models"])
      std::printf("%-16s %6lld %9.1f %9.1f %9.1f %9.1f %7lld %8.1f%%\n", m["name"].get<std::string>().c_str(),
                  m["ok"].get<long long>(), m["latency_ms"]["mean"].get<double>(), m["latency_ms"]["p50"].get<double>(),
                  m["latency_ms"]["p95"].get<double>(), m["latency_ms"]["p99"].get<double>(),
                  m["deadline_missed"].get<long long>(), 100 * m["prediction"]["latency_mape"].get<double>());
    std::printf("makespan %.1f ms, %lld requests, ANTT %.3f, STP %.2f, peak RSS %s (budget %s + baseline %s)%s\n",
                j["makespan_ms"].get<double>(), j["requests"].get<long long>(), j["antt"].get<double>(),
                j["stp"].get<double>(), format_bytes(j["peak_rss_bytes"].get<double>()).c_str(),
                format_bytes(j["budget_bytes"].get<double>()).c_str(),
                format_bytes(j["fixed_baseline_bytes"].get<double>()).c_str(),
                j["within_budget"].get<bool>() ? "" : " OVER THE BUDGET");
  }
  if (r.lost) fail<InternalError>("replay: ", r.lost, " requests got no answer");
  return 0;
}

void add_common(CLI::App* c, ServeArgs& a) {
  c->add_option("--budget", a.budget, "The memory budget all models share (overrides the config's budget:)");
  c->add_option("--policy", a.policy, "round-robin, priority or edf (overrides the config's policy:)")
      ->check(CLI::IsMember({"round-robin", "priority", "edf"}));
  c->add_option("--trace", a.trace, "Write a Chrome trace of the whole run here (a track per model and agent)");
  c->add_option("--report", a.report, "Write the run's report (JSON) here when it ends");
}
}  // namespace

Runner add_serve(CLI::App& app) {
  auto a = std::make_shared<ServeArgs>();
  CLI::App* c = app.add_subcommand(
      "serve",
      "Serve the config's models over the Open Inference Protocol (KServe v2 REST, binary tensor "
      "data included) in one memory budget, until SIGTERM or SIGINT (then every admitted request is "
      "answered and the exit code is 0)");
  c->add_option("--config", a->config, "The models (YAML; docs/SERVE.md)")->required();
  c->add_option("--listen", a->listen, "HOST:PORT (default 127.0.0.1:8000, or the config's listen:); port 0: any free port");
  c->add_option("--api-key-file", a->api_key_file,
                "A file holding the API key that a non-loopback --listen requires (also EDGERUN_API_KEY); "
                "requests then need Authorization: Bearer KEY on every route but /v2/health");
  c->add_option("--port-file", a->port_file, "Write the bound port here once listening");
  add_common(c, *a);
  c->footer(kSizeHelp);
  return [a] { return serve(*a); };
}

Runner add_replay(CLI::App& app) {
  auto a = std::make_shared<ServeArgs>();
  CLI::App* c = app.add_subcommand(
      "replay",
      "Drive the serve scheduler with a workload file of arrivals (periodic, Poisson or listed "
      "times; real inputs) without HTTP, and report latency percentiles, deadline misses, ANTT, STP "
      "and predicted against measured latency");
  c->add_option("workload", a->workload, "The workload (YAML; docs/SERVE.md)")->required();
  c->add_option("--config", a->config, "The models (default: the workload's config:)");
  c->add_flag("--json", a->json, "Print the report as JSON only");
  add_common(c, *a);
  c->footer(kSizeHelp);
  return [a] { return replay_cmd(*a); };
}

}  // namespace edgerun::cli
