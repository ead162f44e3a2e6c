// Scheduler: quotas in one shared budget, bounded per-model queues, one compute lane choosing by
// policy, batching, predicted latencies, drain. docs/SERVE.md describes the scheme.
#include "edgerun/scheduler.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <limits>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "core/error.h"
#include "edgerun/format.h"
#include "runtime/report.h"
#include "runtime/scheduler_inputs.h"
#include "runtime/scheduler_quotas.h"
#include "runtime/session_open.h"
#include "runtime/trace.h"

namespace edgerun {

const char* to_string(Policy p) {
  switch (p) {
    case Policy::RoundRobin: return "round-robin";
    case Policy::Priority: return "priority";
    case Policy::Edf: return "edf";
  }
  return "?";
}

Policy parse_policy(std::string_view s) {
  if (s == "round-robin" || s == "rr") return Policy::RoundRobin;
  if (s == "priority") return Policy::Priority;
  if (s == "edf") return Policy::Edf;
  ER_THROW(InputError, "unknown scheduling policy '", s, "' (round-robin, priority, edf)");
}

namespace {
using Clock = std::chrono::steady_clock;
constexpr double kNoDeadline = std::numeric_limits<double>::infinity();
constexpr int kWarmupPasses = 3;

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

struct Pending {
  Inputs in;
  int64_t rows = 1;
  std::string key;
  double arrival_ms = 0, deadline_ms = kNoDeadline;  // since the scheduler started; absolute
  double predicted_service_ms = 0, predicted_ms = 0;
  uint64_t seq = 0;
  std::promise<RequestResult> done;
};

struct Model {
  ModelSpec spec;
  std::unique_ptr<Session> s;
  ModelSummary sum;
  std::deque<std::unique_ptr<Pending>> q;
  ModelStats st;
  // Predicted pass time per shape key and rows (the planner's, made on the lane).
  std::map<std::pair<std::string, int64_t>, double> predicted;
  double probe_ms = 0;  // the probe's prediction, for shapes not planned yet (scaled by rows)
  uint64_t read_seen = 0;  // the session's bytes read when its last pass ended (lane only)
  int64_t probe_rows = 1;
};

void push_bounded(std::vector<double>& v, double x) {
  if (v.size() >= ModelStats::kMaxSamples) v.erase(v.begin(), v.begin() + ModelStats::kMaxSamples / 2);
  v.push_back(x);
}

void record(ModelStats& st, const RequestResult& r) {
  push_bounded(st.latency_ms, r.latency_ms);
  push_bounded(st.service_ms, r.service_ms);
  push_bounded(st.predicted_ms, r.predicted_ms);
  push_bounded(st.predicted_service_ms, r.predicted_service_ms);
  const std::vector<double>& b = latency_bounds_ms();
  if (st.latency_buckets.empty()) st.latency_buckets.assign(b.size() + 1, 0);
  ++st.latency_buckets[static_cast<size_t>(std::lower_bound(b.begin(), b.end(), r.latency_ms) - b.begin())];
  st.latency_sum_ms += r.latency_ms;
}

void check_name(const std::string& n) {
  if (n.empty() || n.size() > 128)
    ER_THROW(InputError, "model name '", n, "' must have 1 to 128 characters");
  for (char c : n)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-'))
      ER_THROW(InputError, "model name '", n, "' may hold only letters, digits, '_', '.' and '-'");
}

SessionOptions session_options(const ModelSpec& m, const SchedulerOptions& o, std::shared_ptr<SharedBudget> b,
                               uint64_t quota) {
  SessionOptions so;
  so.threads = m.threads;
  so.executor = m.executor;
  so.attention = m.attention;
  so.precision = m.precision;
  so.direct_io = o.direct_io;
  so.commit_budget = o.commit_budget;
  so.shared_budget = std::move(b);
  so.budget_bytes = quota;
  so.expected_calls = 1000;  // a server's model runs again and again: keep what the quota holds
  return so;
}

class SchedulerImpl final : public Scheduler {
 public:
  SchedulerImpl(const std::vector<ModelSpec>& specs, const SchedulerOptions& o) : o_(o), t0_(Clock::now()) {
    if (specs.empty()) ER_THROW(InputError, "the scheduler needs at least one model");
    if (o.budget_bytes == 0) ER_THROW(InputError, "the scheduler needs a budget");
    std::set<std::string> names;
    for (const ModelSpec& m : specs) {
      check_name(m.name);
      if (!names.insert(m.name).second) ER_THROW(InputError, "model name '", m.name, "' is given twice");
      if (!(m.weight > 0)) ER_THROW(InputError, "model '", m.name, "': weight must be > 0");
      if (m.max_queue < 1 || m.max_queue > 4096) ER_THROW(InputError, "model '", m.name, "': max_queue must be in [1, 4096]");
      if (m.max_batch < 1 || m.max_batch > 256) ER_THROW(InputError, "model '", m.name, "': max_batch must be in [1, 256]");
      if (m.deadline_ms < 0) ER_THROW(InputError, "model '", m.name, "': deadline_ms must be >= 0");
    }
    budget_ = SharedBudget::make(o.budget_bytes, o.huge_pages);
    trace_ = std::make_unique<Trace>(&shared_arena(*budget_));
    // Minimum and useful memory of each model, planned alone without a budget (the minimum
    // reported is the one a limited budget accepts).
    std::vector<uint64_t> min(specs.size()), useful(specs.size());
    std::vector<std::unique_ptr<Session>> probes;
    std::vector<Inputs> probe_inputs;
    for (size_t i = 0; i < specs.size(); ++i) {
      probes.push_back(open_model(specs[i], 0));
      Session* s = probes.back().get();
      if (specs[i].max_batch > 1) check_batchable(specs[i].name, s->summary());
      // Sized for the largest batch it may run.
      const Inputs one = probe_input(s->summary(), specs[i]);
      const Inputs probe = concat_batch(std::vector<const Inputs*>(static_cast<size_t>(specs[i].max_batch), &one));
      PlanSummary p = s->plan(probe);
      min[i] = p.min_budget_bytes;
      useful[i] = std::max(p.min_budget_bytes, p.predicted_peak_bytes);
      if (p.executor != Executor::Resident) useful[i] = std::numeric_limits<uint64_t>::max();  // more always helps
      probe_inputs.push_back(probe);
    }
    const std::vector<uint64_t> quotas =
        assign_quotas(specs, min, useful, o.budget_bytes, [&](size_t i, const std::vector<uint64_t>& budgets) {
          return predicted_at(*probes[i], probe_inputs[i], budgets);
        });
    probes.clear();
    for (size_t i = 0; i < specs.size(); ++i) {
      auto m = std::make_unique<Model>();
      m->spec = specs[i];
      m->spec.quota_bytes = quotas[i];
      m->s = open_model(m->spec, quotas[i]);
      m->sum = m->s->summary();
      m->st.name = m->spec.name;
      m->st.quota_bytes = quotas[i];
      m->st.min_budget_bytes = min[i];
      m->st.weight_bytes = m->sum.weight_bytes;
      warm_up(*m);
      const Report rep = m->s->report();
      baseline_ = std::max(baseline_, rep.fixed_baseline_bytes);
      m->read_seen = rep.bytes_read;
      specs_.push_back(m->spec);
      models_.push_back(std::move(m));
    }
    held_ = o.start_held;
    lane_ = std::thread([this] { lane(); });
  }

  ~SchedulerImpl() override { drain(); }

  const std::vector<ModelSpec>& specs() const override { return specs_; }

  const ModelSummary& summary(const std::string& name) const override { return find(name).sum; }

  std::future<RequestResult> submit(const std::string& name, Inputs in, double deadline_ms) override {
    Model& m = find(name);
    auto p = std::make_unique<Pending>();
    p->rows = batch_rows(in);
    p->key = shape_key(in);
    p->in = std::move(in);
    std::future<RequestResult> f = p->done.get_future();
    std::lock_guard<std::mutex> lk(mu_);
    if (draining_) ER_THROW(UnavailableError, "the server is shutting down");
    if (static_cast<int>(m.q.size()) >= m.spec.max_queue) {
      ++m.st.rejected_full;
      ER_THROW(QueueFullError, "model '", name, "': its queue of ", m.spec.max_queue, " requests is full");
    }
    const double now = now_ms();
    const double d = deadline_ms >= 0 ? deadline_ms : m.spec.deadline_ms;
    p->arrival_ms = now;
    p->deadline_ms = d > 0 ? now + d : kNoDeadline;
    p->seq = next_seq_++;
    p->predicted_service_ms = predicted_locked(m, p->key, p->rows);
    p->predicted_ms = ahead_ms_locked(m, *p, now) + p->predicted_service_ms;
    if (o_.reject_predicted_misses && now + p->predicted_ms > p->deadline_ms) {
      ++m.st.rejected_deadline;
      ER_THROW(UnavailableError, "model '", name, "': predicted to finish in ", fixed(p->predicted_ms), " ms, after its ",
               fixed(d), " ms deadline");
    }
    m.q.push_back(std::move(p));
    cv_.notify_all();
    return f;
  }

  void release() override {
    {
      std::lock_guard<std::mutex> lk(mu_);
      held_ = false;
    }
    cv_.notify_all();
  }

  void drain() override {
    {
      std::lock_guard<std::mutex> lk(mu_);
      draining_ = true;
      held_ = false;
    }
    cv_.notify_all();
    if (lane_.joinable()) lane_.join();
  }

  SchedulerStats stats() const override {
    SchedulerStats s;
    std::lock_guard<std::mutex> lk(mu_);
    for (const auto& m : models_) {
      ModelStats st = m->st;
      st.queued = static_cast<int64_t>(m->q.size());
      s.models.push_back(std::move(st));
    }
    s.fixed_baseline_bytes = baseline_;
    s.peak_rss_bytes = process_peak_rss_bytes();
    s.budget_bytes = budget_->limit();
    s.budget_in_use = budget_->in_use();
    s.budget_high_water = budget_->high_water();
    s.uptime_ms = now_ms();
    return s;
  }

  void write_trace(const std::string& path) const override { trace_->write(path); }

 private:
  static std::string fixed(double v) { return std::to_string(static_cast<int64_t>(std::llround(v))); }
  double now_ms() const { return ms_between(t0_, Clock::now()); }

  // quota 0: a session of its own without a budget (to plan with), else its quota in budget_.
  std::unique_ptr<Session> open_model(const ModelSpec& m, uint64_t quota) {
    try {
      SessionOptions so = session_options(m, o_, quota ? budget_ : nullptr, quota);
      return open_session(m.path, so, quota ? trace_.get() : nullptr, m.name + ": ");
    } catch (const Error& e) {
      rethrow_named(e, m.name);
    }
  }

  // The same error type, its message prefixed with the model's name.
  [[noreturn]] static void rethrow_named(const Error& e, const std::string& model) {
    const std::string msg = "model '" + model + "': " + e.what();
    if (dynamic_cast<const FormatError*>(&e)) throw FormatError(msg);
    if (dynamic_cast<const IoError*>(&e)) throw IoError(msg);
    if (dynamic_cast<const UnsupportedError*>(&e)) throw UnsupportedError(msg);
    if (dynamic_cast<const BudgetError*>(&e)) throw BudgetError(msg);
    if (dynamic_cast<const InputError*>(&e)) throw InputError(msg);
    throw InternalError(msg);
  }

  Model& find(const std::string& name) const {
    for (const auto& m : models_)
      if (m->spec.name == name) return *m;
    ER_THROW(InputError, "unknown model '", name, "'");
  }

  // Batching concatenates along axis 0 and splits every output the same way: each input and
  // output must have a free batch axis.
  static void check_batchable(const std::string& name, const ModelSummary& sum) {
    for (const auto& in : sum.inputs)
      if (in.dims.empty() || in.dims[0] >= 0)
        ER_THROW(InputError, "model '", name, "': max_batch > 1 needs a symbolic batch axis, and input '",
                 in.name, "' has a fixed first dimension");
  }

  // Plans and runs the probe alone: commits the quota's pages, fills the prediction cache and
  // measures the model's single-request time (ANTT's T_single).
  void warm_up(Model& m) {
    Inputs probe = probe_input(m.sum, m.spec);
    try {
      m.s->prepare(probe);
      m.probe_rows = batch_rows(probe);
      m.probe_ms = m.s->plan(probe).predicted_ms;
      m.predicted[{shape_key(probe), m.probe_rows}] = m.probe_ms;
      std::vector<double> t;
      for (int i = 0; i < kWarmupPasses; ++i) {
        const auto a = Clock::now();
        m.s->run_outputs(probe);
        t.push_back(ms_between(a, Clock::now()));
      }
      std::sort(t.begin() + 1, t.end());
      m.st.single_ms = t[1 + (t.size() - 1) / 2];
      // From here on the prediction follows the measured passes (see serve()).
      m.st.cost_model_ms = m.probe_ms;
      m.probe_ms = m.st.single_ms;
      m.predicted[{shape_key(probe), m.probe_rows}] = m.probe_ms;
    } catch (const Error& e) {
      rethrow_named(e, m.spec.name);
    }
  }

  double predicted_locked(const Model& m, const std::string& key, int64_t rows) const {
    auto it = m.predicted.find({key, rows});
    if (it != m.predicted.end()) return it->second;
    return m.probe_ms * static_cast<double>(rows) / static_cast<double>(m.probe_rows);
  }

  // Predicted time before p starts: the pass running now, then what the policy runs first.
  double ahead_ms_locked(const Model& mine, const Pending& p, double now) const {
    double t = std::max(0.0, running_end_ms_ - now);
    const size_t pos = mine.q.size();
    for (const auto& m : models_)
      for (size_t i = 0; i < m->q.size(); ++i) {
        const Pending& o = *m->q[i];
        bool before = false;
        switch (o_.policy) {
          case Policy::Edf: before = o.deadline_ms <= p.deadline_ms; break;
          case Policy::Priority:
            before = m->spec.priority > mine.spec.priority || (m->spec.priority == mine.spec.priority && o.seq < p.seq);
            break;
          case Policy::RoundRobin: before = m.get() == &mine || i <= pos; break;
        }
        if (before) t += o.predicted_service_ms;
      }
    return t;
  }

  // The next model to serve, and the index of its request to start with; -1 when none waits.
  std::pair<int, size_t> pick_locked() {
    const int n = static_cast<int>(models_.size());
    int best = -1;
    size_t at = 0;
    for (int k = 0; k < n; ++k) {
      const int i = (rr_next_ + k) % n;
      const Model& m = *models_[static_cast<size_t>(i)];
      if (m.q.empty()) continue;
      if (o_.policy == Policy::RoundRobin) return {i, 0};
      for (size_t j = 0; j < m.q.size(); ++j) {
        if (best < 0) {
          best = i, at = j;
          continue;
        }
        const Model& b = *models_[static_cast<size_t>(best)];
        const Pending &x = *m.q[j], &y = *b.q[at];
        const bool better = o_.policy == Policy::Edf
                                ? (x.deadline_ms < y.deadline_ms || (x.deadline_ms == y.deadline_ms && x.seq < y.seq))
                                : (m.spec.priority > b.spec.priority || (m.spec.priority == b.spec.priority && x.seq < y.seq));
        if (better) best = i, at = j;
        if (o_.policy == Policy::Priority) break;  // FIFO within a model
      }
    }
    return {best, at};
  }

  void lane() {
    std::unique_lock<std::mutex> lk(mu_);
    for (;;) {
      if (held_) {
        cv_.wait(lk);
        continue;
      }
      auto [i, at] = pick_locked();
      if (i < 0) {
        if (draining_) return;
        cv_.wait(lk);
        continue;
      }
      Model& m = *models_[static_cast<size_t>(i)];
      rr_next_ = (i + 1) % static_cast<int>(models_.size());
      std::vector<std::unique_ptr<Pending>> batch;
      batch.push_back(std::move(m.q[at]));
      m.q.erase(m.q.begin() + static_cast<std::ptrdiff_t>(at));
      for (size_t j = 0; j < m.q.size() && static_cast<int>(batch.size()) < m.spec.max_batch;)
        if (m.q[j]->key == batch.front()->key) {
          batch.push_back(std::move(m.q[j]));
          m.q.erase(m.q.begin() + static_cast<std::ptrdiff_t>(j));
        } else {
          ++j;
        }
      double service = 0;
      for (const auto& p : batch) service += p->predicted_service_ms;
      running_end_ms_ = now_ms() + service;
      lk.unlock();
      serve(m, std::move(batch));
      lk.lock();
      running_end_ms_ = 0;
    }
  }

  // Runs a batch on the lane (unlocked); answers each request.
  void serve(Model& m, std::vector<std::unique_ptr<Pending>> batch) {
    const double start = now_ms();
    if (o_.reject_predicted_misses) {
      std::vector<std::unique_ptr<Pending>> keep;
      for (auto& p : batch) {
        if (start + p->predicted_service_ms > p->deadline_ms) {
          p->done.set_exception(std::make_exception_ptr(UnavailableError(
              "model '" + m.spec.name + "': predicted to miss its deadline (it would start " +
              fixed(start - p->arrival_ms) + " ms after its arrival)")));
          std::lock_guard<std::mutex> lk(mu_);
          ++m.st.rejected_deadline;
        } else {
          keep.push_back(std::move(p));
        }
      }
      batch = std::move(keep);
      if (batch.empty()) return;
    }
    std::vector<const Inputs*> parts;
    int64_t rows = 0;
    for (const auto& p : batch) {
      parts.push_back(&p->in);
      rows += p->rows;
    }
    std::vector<std::pair<std::string, HostArray>> outs;
    double service = 0;
    try {
      Inputs in = concat_batch(parts);
      const std::pair<std::string, int64_t> key{batch.front()->key, rows};
      if (!m.predicted.count(key)) {
        const double pred = m.s->plan(in).predicted_ms;
        std::lock_guard<std::mutex> lk(mu_);
        m.predicted[key] = pred;
      }
      ScopedSpan span(trace_.get(), m.spec.name, "pass (" + std::to_string(batch.size()) + " requests)");
      const auto a = Clock::now();
      outs = m.s->run_outputs(in);
      service = ms_between(a, Clock::now());
    } catch (...) {
      m.read_seen = m.s->report().bytes_read;  // a failed pass's reads are no request's
      if (batch.size() > 1) {  // one bad request must not fail the others: run them one by one
        for (auto& p : batch) {
          std::vector<std::unique_ptr<Pending>> one;
          one.push_back(std::move(p));
          serve(m, std::move(one));
        }
        return;
      }
      batch.front()->done.set_exception(std::current_exception());
      std::lock_guard<std::mutex> lk(mu_);
      ++m.st.failed;
      return;
    }
    const double end = now_ms();
    const Report rep = m.s->report();
    std::lock_guard<std::mutex> lk(mu_);
    m.st.bytes_read += rep.bytes_read - m.read_seen;
    m.read_seen = rep.bytes_read;
    baseline_ = std::max(baseline_, rep.fixed_baseline_bytes);
    ++m.st.passes;
    const int64_t pass = passes_++;
    // The cost model's prediction of a shape is where its predictions start; each measured pass
    // then moves them (an exponential average), so that a model the profile missed, or a device
    // busier than when it was profiled, is still predicted by what it does.
    double& pred = m.predicted[{batch.front()->key, rows}];
    pred = 0.5 * pred + 0.5 * service;
    int64_t row = 0;
    for (auto& p : batch) {
      RequestResult r;
      r.outputs = batch.size() == 1 ? std::move(outs) : slice_rows(outs, row, p->rows, rows);
      row += p->rows;
      r.service_ms = service;
      r.queue_ms = start - p->arrival_ms;
      r.latency_ms = end - p->arrival_ms;
      r.predicted_ms = p->predicted_ms;
      r.predicted_service_ms = p->predicted_service_ms;
      r.deadline_missed = end > p->deadline_ms;
      r.batch = static_cast<int>(batch.size());
      r.pass_index = pass;
      ++m.st.ok;
      m.st.deadline_missed += r.deadline_missed;
      record(m.st, r);
      p->done.set_value(std::move(r));
    }
  }

  SchedulerOptions o_;
  Clock::time_point t0_;
  std::shared_ptr<SharedBudget> budget_;
  std::unique_ptr<Trace> trace_;
  std::vector<std::unique_ptr<Model>> models_;
  std::vector<ModelSpec> specs_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool draining_ = false;
  bool held_ = false;
  int64_t passes_ = 0;
  uint64_t next_seq_ = 0;
  int rr_next_ = 0;
  double running_end_ms_ = 0;
  uint64_t baseline_ = 0;
  std::thread lane_;
};
}  // namespace

std::unique_ptr<Scheduler> Scheduler::open(const std::vector<ModelSpec>& models, const SchedulerOptions& o) {
  return std::make_unique<SchedulerImpl>(models, o);
}

}  // namespace edgerun
