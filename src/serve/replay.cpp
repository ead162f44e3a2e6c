// `edgerun replay`: a workload's arrivals submitted to the scheduler at their times (no HTTP),
// every answer awaited, and the run's report.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <future>
#include <nlohmann/json.hpp>
#include <mutex>
#include <random>
#include <thread>

#include "edgerun/serve.h"
#include "edgerun/tasks.h"
#include "runtime/scheduler_inputs.h"

namespace edgerun {

namespace {
using Clock = std::chrono::steady_clock;

struct Arrival {
  double at_ms;
  size_t stream;
};

std::vector<double> arrival_times(const WorkloadStream& s) {
  std::vector<double> t;
  if (s.arrival == "list") {
    t = s.times_ms;
  } else if (s.arrival == "periodic") {
    for (int64_t k = 0; k < s.count; ++k) t.push_back(s.start_ms + 1000.0 * static_cast<double>(k) / s.rate_per_s);
  } else {
    std::mt19937_64 rng(s.seed);
    std::exponential_distribution<double> gap(s.rate_per_s / 1000.0);
    double at = s.start_ms;
    for (int64_t k = 0; k < s.count; ++k) {
      t.push_back(at);
      at += gap(rng);
    }
  }
  return t;
}

Inputs stream_input(const WorkloadStream& s, const ModelSummary& m, const ModelSpec& spec) {
  // No file: the input the scheduler sizes the model's quota and predictions for.
  if (s.input.empty()) return probe_input(m, spec);
  InputSpec is;
  if (!m.inputs.empty()) is.files = {s.input};
  else is.file = s.input;
  return encode_input(spec.path, m, is).inputs;
}
}  // namespace

ReplayReport replay(const Workload& w, const ServeConfig& c, const std::function<void(const std::string&)>& progress) {
  auto sched = Scheduler::open(c.models, c.scheduler);
  std::vector<Inputs> inputs;
  std::vector<Arrival> arrivals;
  for (size_t i = 0; i < w.streams.size(); ++i) {
    const WorkloadStream& s = w.streams[i];
    const ModelSpec* spec = nullptr;
    for (const ModelSpec& m : sched->specs())
      if (m.name == s.model) spec = &m;
    if (!spec) throw InputError(w.path + ": stream " + std::to_string(i) + " names model '" + s.model + "', which the config does not have");
    inputs.push_back(stream_input(s, sched->summary(s.model), *spec));
    for (double t : arrival_times(s)) arrivals.push_back({t, i});
  }
  std::stable_sort(arrivals.begin(), arrivals.end(), [](const Arrival& a, const Arrival& b) { return a.at_ms < b.at_ms; });
  // Answers are collected (and their outputs freed) as they come, by a thread of their own.
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::future<RequestResult>> pending;
  bool submitted_all = false;
  ReplayReport r;
  std::thread collector([&] {
    for (;;) {
      std::unique_lock<std::mutex> lk(mu);
      cv.wait(lk, [&] { return !pending.empty() || submitted_all; });
      if (pending.empty()) return;
      std::future<RequestResult> f = std::move(pending.front());
      pending.pop_front();
      lk.unlock();
      if (f.wait_for(std::chrono::minutes(10)) != std::future_status::ready) {
        ++r.lost;
        continue;
      }
      try {
        f.get();
      } catch (const std::exception&) {
        ++r.failed;
      }
    }
  });
  int64_t refused = 0, submitted = 0;
  const auto t0 = Clock::now();
  auto last_note = t0;
  for (const Arrival& a : arrivals) {
    std::this_thread::sleep_until(t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double, std::milli>(a.at_ms)));
    const WorkloadStream& s = w.streams[a.stream];
    try {
      auto f = sched->submit(s.model, inputs[a.stream], s.deadline_ms);
      std::lock_guard<std::mutex> lk(mu);
      pending.push_back(std::move(f));
      ++submitted;
      cv.notify_one();
    } catch (const QueueFullError&) {
      ++refused;
    } catch (const UnavailableError&) {
      ++refused;
    }
    if (progress && Clock::now() - last_note > std::chrono::seconds(1)) {
      last_note = Clock::now();
      progress(std::to_string(submitted + refused) + " of " + std::to_string(arrivals.size()) + " requests submitted");
    }
  }
  {
    std::lock_guard<std::mutex> lk(mu);
    submitted_all = true;
  }
  cv.notify_one();
  collector.join();
  const double makespan = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  const SchedulerStats st = sched->stats();
  sched->drain();
  if (!c.scheduler.trace_path.empty()) sched->write_trace(c.scheduler.trace_path);
  nlohmann::json j = nlohmann::json::parse(scheduler_report_json(st, makespan));
  j["workload"] = w.path;
  j["policy"] = to_string(c.scheduler.policy);
  j["arrivals"] = arrivals.size();
  j["submitted"] = submitted;
  j["refused_at_submit"] = refused;
  j["failed"] = r.failed;
  j["lost"] = r.lost;
  r.json = j.dump(2);
  return r;
}

}  // namespace edgerun
