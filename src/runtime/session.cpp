// Session: the public facade over build_model + planner + MemoryBudget + Engine.
#include <algorithm>
#include <chrono>
#include <cmath>

#include "core/error.h"
#include "edgerun/edgerun.h"
#include "io/bandwidth_record.h"
#include "io/direct_reader.h"
#include "io/file.h"
#include "kernels/cpu/kernels.h"
#include "runtime/baseline.h"
#include "runtime/cost_model_record.h"
#include "runtime/engine.h"
#include "runtime/planner.h"
#include "runtime/report.h"
#include "runtime/report_json.h"
#include "runtime/session_open.h"
#include "runtime/trace.h"

namespace edgerun {

namespace {
bool same_plan(const ExecPlan& a, const ExecPlan& b) {
  return a.kind == b.kind && a.blocks == b.blocks && a.agents == b.agents && a.prefetch == b.prefetch &&
         a.pinned == b.pinned;
}

BuildOptions build_options(const SessionOptions& o) {
  BuildOptions b;
  b.attention = o.attention;
  b.precision = o.precision;
  b.all_outputs = o.all_outputs;
  b.tile_bytes = o.tile_bytes;
  return b;
}

uint64_t budget_from(const SessionOptions& o, uint64_t weight_bytes) {
  if (o.budget_fraction > 0) return static_cast<uint64_t>(std::llround(o.budget_fraction * static_cast<double>(weight_bytes)));
  return o.budget_bytes;
}

class SharedBudgetImpl final : public SharedBudget {
 public:
  SharedBudgetImpl(uint64_t limit, bool huge) : arena(limit, huge ? HugePages::WhenLimited : HugePages::Off) {}
  uint64_t limit() const override { return arena.limit(); }
  uint64_t in_use() const override { return arena.in_use(); }
  uint64_t high_water() const override { return arena.high_water(); }
  uint64_t resident_bytes() const override { return arena.resident_bytes(); }
  MemoryBudget arena;
};

// The session's budget: its own arena, or its quota in a shared one.
std::unique_ptr<MemoryBudget> make_budget(const SessionOptions& o, uint64_t weight_bytes) {
  const uint64_t limit = budget_from(o, weight_bytes);
  if (!o.shared_budget)
    return std::make_unique<MemoryBudget>(limit, o.huge_pages ? HugePages::WhenLimited : HugePages::Off);
  if (limit == MemoryBudget::kUnlimited)
    ER_THROW(InputError, "a session in a shared budget needs a quota (budget_bytes or budget_fraction)");
  return std::make_unique<MemoryBudget>(static_cast<SharedBudgetImpl&>(*o.shared_budget).arena, limit);
}

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

class SessionImpl final : public Session {
 public:
  SessionImpl(const std::string& dir, const SessionOptions& o, Trace* shared_trace = nullptr,
              const std::string& track_prefix = "")
      : opts_(o), mg_(build_model(dir, build_options(o))), budget_(make_budget(o, mg_.graph.model_weight_bytes())) {
    kind_ = o.executor;
    if (o.agents < 0 || o.agents > 64) ER_THROW(InputError, "--agents must be in [1, 64]");
    if (shared_trace) trace_ = std::make_unique<Trace>(shared_trace, track_prefix);
    else if (!o.trace_path.empty()) trace_ = std::make_unique<Trace>(budget_.get());
    EngineOptions eo;
    eo.threads = o.threads;
    eo.trace = trace_.get();
    engine_ = std::make_unique<Engine>(mg_, *budget_, eo);
    if (!o.cost_model_path.empty()) {
      cost_ = CostModel::from_json(read_text_file(o.cost_model_path), o.cost_model_path);
      bw_source_ = cost_source_ = "cost model " + o.cost_model_path;
    } else if (o.direct_io && !mg_.weights.paths.empty()) {
      // What `edgerun profile` recorded for this model, device, backends and thread count (its
      // loads were direct reads), where it has; the bound's B from iobench all the same.
      if (auto rec = recorded_cost_model(cost_model_key(mg_, *engine_))) {
        cost_ = rec->model;
        bw_source_ = cost_source_ = "profile " + rec->measured_at;
      }
      // The device's bandwidth as `edgerun iobench` last measured it, where it has.
      if (auto rec = recorded_bandwidth(mg_.weights.paths.front())) {
        cost_.read_bytes_per_s = rec->read_bytes_per_s;
        bw_source_ = "iobench " + rec->measured_at;
      }
    }
    if (o.direct_io) {
      auto files = open_weight_files_direct(mg_.weights, o.io_depth, o.io_chunk_bytes, o.io_engine);
      if (!files.empty()) io_engine_ = read_engine(*files.front());
      engine_->loader().set_files(std::move(files));
    }
    baseline_ = measure_fixed_baseline(mg_.graph);
    summarize();
  }

  const ModelSummary& summary() const override { return sum_; }

  void prepare(const Inputs& in) override {
    auto t0 = std::chrono::steady_clock::now();
    plan_run(in);
    commit_plan();
    prepare_ms_ += ms_since(t0);
  }

  void prepare_generate(const HostArray& prompt, int64_t new_tokens) override {
    auto t0 = std::chrono::steady_clock::now();
    plan_generation(prompt, new_tokens, /*apply=*/true);
    commit_plan();
    prepare_ms_ += ms_since(t0);
  }

  HostArray run(const Inputs& in) override { return forward(in, nullptr); }

  std::vector<std::pair<std::string, HostArray>> run_outputs(const Inputs& in) override {
    NamedOutputs extras;
    HostArray primary = forward(in, &extras);
    extras.insert(extras.begin(), {sum_.primary_output, std::move(primary)});
    return extras;
  }

  HostArray generate(const HostArray& prompt, const GenerateParams& p) override {
    auto t0 = std::chrono::steady_clock::now();
    plan_generation(prompt, p.new_tokens, /*apply=*/true);
    const double c0 = engine_->stats().compute_ms;
    HostArray out = engine_->generate(prompt, p);
    call_compute_ms_.push_back(engine_->stats().compute_ms - c0);
    finish(t0);
    return out;
  }

  std::string plan_generate_json(const HostArray& prompt, int64_t new_tokens) override {
    return plan_json_object(plan_generate(prompt, new_tokens)).dump(2);
  }

  std::string plan_json(const Inputs& in) override { return plan_json_object(plan(in)).dump(2); }

  Report report() const override {
    Report r;
    const EngineStats& s = engine_->stats();
    r.latency_ms = latency_ms_;
    r.load_ms = s.load_ms;
    r.compute_ms = s.compute_ms;
    r.peak_rss_bytes = process_peak_rss_bytes();
    r.budget_bytes = budget_->limit();
    r.budget_high_water_bytes = budget_->high_water();
    r.arena_fresh_bytes = budget_->fresh_bytes();
    r.bytes_read = s.bytes_read;
    r.tokens_generated = s.tokens_generated;
    r.tokens_per_s = latency_ms_ > 0 ? s.tokens_generated / (latency_ms_ / 1000.0) : 0;
    r.threads = kernels::get_blas_threads();
    r.blas_core = kernels::blas_core_name();
    r.io_engine = io_engine_;
    r.huge_pages = budget_->huge_pages();
    r.executor = plan_.plan.kind;
    r.agents = plan_.plan.kind == Executor::Pipeload ? plan_.plan.agents : 0;
    r.min_budget_bytes = plan_.min_budget;
    r.fixed_baseline_bytes = baseline_;
    r.streamed_bytes = plan_.streamed_bytes;
    r.predicted_ms = plan_.predicted_ms;
    r.passes = s.passes;
    r.prepare_ms = prepare_ms_;
    r.read_bytes_per_s = cost_.read_bytes_per_s;
    r.read_bandwidth_source = bw_source_;
    r.cost_model_source = cost_source_;
    r.committed_bytes = committed_;
    r.weight_bytes = sum_.weight_bytes;
    r.call_compute_ms = call_compute_ms_;
    r.decode_ms = s.decode_ms;
    // Bound per pass: max(S/B, C) + fill, C the measured compute of this run per pass.
    if (s.passes > 0) {
      const double C = s.compute_ms / static_cast<double>(s.passes);
      const double S_over_B = static_cast<double>(plan_.streamed_bytes) / cost_.read_bytes_per_s * 1e3;
      double fill = 0;
      if (plan_.streamed_bytes > 0 && !plan_.layers.empty()) {
        double first_load = 0;
        for (size_t i = 0; i < plan_.layers.size(); ++i)
          if (!plan_.plan.pinned[i] && plan_.layers[i].bytes) {
            first_load = static_cast<double>(plan_.layers[i].peak) / cost_.read_bytes_per_s * 1e3;
            break;
          }
        const double last_compute = C * plan_.layers.back().flops / std::max(1.0, total_flops());
        fill = std::min(first_load, last_compute);
      }
      r.bound_ms = std::max(S_over_B, C) + fill;
    }
    return r;
  }

  std::string report_json() const override { return report_json_object(report()).dump(); }

  PlanSummary plan(const Inputs& in) override {
    plan_run(in, /*apply=*/false);
    return summary_of_plan();
  }

  std::vector<double> predicted_at(const Inputs& in, const std::vector<uint64_t>& budgets) {
    plan_run(in, /*apply=*/false);
    std::vector<double> ms;
    for (uint64_t b : budgets) {
      PlanRequest pr = plan_req_;
      pr.budget = b;
      double t = std::numeric_limits<double>::infinity();
      if (b >= plan_.min_budget) try {
          t = choose_plan(plan_, pr).predicted_ms;
        } catch (const BudgetError&) {
        }
      ms.push_back(t);
    }
    return ms;
  }

  PlanSummary plan_generate(const HostArray& prompt, int64_t new_tokens) override {
    plan_generation(prompt, new_tokens, /*apply=*/false);
    return summary_of_plan();
  }

 private:
  PlanSummary summary_of_plan() const {
    PlanSummary p = plan_summary(plan_);
    p.cost_model_source = cost_source_;
    p.wide_huge_rounding = budget_->huge_rounding();
    return p;
  }

  // One timed forward pass (run and run_outputs).
  HostArray forward(const Inputs& in, NamedOutputs* extras) {
    auto t0 = std::chrono::steady_clock::now();
    RunRequest r = plan_run(in);
    const double c0 = engine_->stats().compute_ms;
    HostArray out = engine_->forward(r, extras);
    call_compute_ms_.push_back(engine_->stats().compute_ms - c0);
    finish(t0);
    return out;
  }

  RunRequest request(const Inputs& in) const {
    RunRequest r;
    if (in.input_ids) r.input_ids = &*in.input_ids;
    if (in.attention_mask) r.attention_mask = &*in.attention_mask;
    if (in.token_type_ids) r.token_type_ids = &*in.token_type_ids;
    if (in.pixel_values) r.pixel_values = &*in.pixel_values;
    for (const auto& [name, a] : in.named) r.named.emplace_back(name, &a);
    return r;
  }
  static int64_t pass_batch(const RunRequest& r) {
    const HostArray* a = r.pixel_values ? r.pixel_values : r.input_ids;
    return a && !a->shape.empty() ? std::max<int64_t>(1, a->shape[0]) : 1;
  }
  double total_flops() const {
    double f = 0;
    for (const auto& l : plan_.layers) f += l.flops;
    return f;
  }

  // Plans a generation: the decode shape, with the arena, KV cache and logits reserved, and one
  // pass per new token.
  void plan_generation(const HostArray& prompt, int64_t new_tokens, bool apply) {
    engine_->require_generator();  // a plan (or prepare) for generation on a classifier is refused too
    RunRequest r;
    r.input_ids = &prompt;
    const int64_t passes = std::max<int64_t>(new_tokens, 1);
    const int64_t B = pass_batch(r), T0 = engine_->tokens_for(r), total = T0 + passes;
    const Engine::GenerationReserve res = engine_->generation_reserve(B, T0, total);
    // Each piece is its own budget allocation, rounded to pages.
    plan_for(MemoryBudget::round_up(res.arena) + MemoryBudget::round_up(res.kv) + MemoryBudget::round_up(res.logits),
             {B, 1, total - 1, true}, apply, passes);
  }

  // Plans one forward pass over `in` (its batch and tokens); returns the request it checked.
  RunRequest plan_run(const Inputs& in, bool apply = true) {
    RunRequest r = request(in);
    if (mg_.graph.nd) {
      if (in.input_ids || in.pixel_values || in.attention_mask || in.token_type_ids)
        ER_THROW(InputError, "ONNX models take their inputs by name (Inputs::named)");
      engine_->bind(r);
    } else if (!in.named.empty()) {
      ER_THROW(InputError, "named inputs are for ONNX models; this model takes ",
               mg_.info.family == Family::Vit ? "pixel values" : "token ids");
    }
    PassShape shape{pass_batch(r), engine_->tokens_for(r), 0, false};
    plan_for(engine_->activation_arena_bytes(shape) + engine_->held_bytes(), shape, apply);
    return r;
  }

  // passes_per_call: forward passes one call makes (generation: one per new token).
  void plan_for(uint64_t reserved, const PassShape& shape, bool apply = true, int64_t passes_per_call = 1) {
    PlanRequest pr;
    pr.passes = std::max<int64_t>(opts_.expected_calls, 1) * passes_per_call;
    pr.kind = kind_;
    pr.agents = opts_.agents;
    pr.prefetch = opts_.prefetch;
    pr.budget = budget_->limit();
    pr.reserved_bytes = MemoryBudget::round_up(reserved);
    pr.B = shape.B;
    pr.T = shape.T;
    pr.past = shape.past;
    pr.model_weight_bytes = mg_.graph.model_weight_bytes();
    // The same request gets the same plan (run() after prepare(), every call of a session):
    // planning a model of hundreds of layers takes a tenth of a second, inside the call's latency.
    if (planned_ && pr == plan_req_) {
      if (apply && !same_plan(plan_.plan, engine_->plan())) engine_->set_plan(plan_.plan);
      return;
    }
    planned_ = false;  // until a plan answers pr (make_plan throws where the budget is too small)
    // The narrow rounding first: the minimum budget is stated for it. Then every weight buffer in
    // huge pages where the plan fits with them (MemoryBudget::kind_for says why they pay); the
    // cost model does not see what they save, so they are taken unless predicted slower.
    budget_->set_huge_rounding(false);
    plan_ = make_plan(mg_.graph, engine_->loader(), cost_, pr);
    if (pr.budget != MemoryBudget::kUnlimited && budget_->huge_pages()) {
      budget_->set_huge_rounding(true);
      try {
        PlanResult wide = make_plan(mg_.graph, engine_->loader(), cost_, pr);
        if (wide.predicted_ms <= plan_.predicted_ms * 1.05) {
          wide.min_budget = plan_.min_budget;
          plan_ = std::move(wide);
        } else {
          budget_->set_huge_rounding(false);
        }
      } catch (const BudgetError&) {
        budget_->set_huge_rounding(false);
      }
    }
    plan_req_ = pr;
    planned_ = true;
    reserved_ = pr.reserved_bytes;
    if (apply && !same_plan(plan_.plan, engine_->plan())) engine_->set_plan(plan_.plan);
  }

  // Commits what the plan holds at its peak: the memory reserved before loads in small pages;
  // the weight buffers split between huge and small pages as the streamed layers' footprints
  // are. An estimate is enough: a short commit is reused in part (MemoryBudget::take_extending_kept_locked)
  // and an excess is handed back when the limit needs it.
  void commit_plan() {
    if (!opts_.commit_budget || budget_->limit() == MemoryBudget::kUnlimited) return;
    const int threads = std::max(1, kernels::get_blas_threads());
    const uint64_t weights = plan_.predicted_peak > reserved_ ? plan_.predicted_peak - reserved_ : 0;
    // The layers held at once are consecutive, and their mix of huge and small pages varies along
    // the model (tiles of different sizes round differently): commit of each kind the most that
    // any run of consecutive layers within the peak holds, within the budget.
    const std::vector<LayerCost>& L = plan_.layers;
    uint64_t in_huge = 0, in_small = 0, held = 0, huge = 0;
    for (size_t a = 0, b = 0; a < L.size(); ++a) {
      for (; b < L.size() && held + L[b].resident <= weights; ++b) held += L[b].resident, huge += L[b].huge;
      in_huge = std::max(in_huge, huge);
      in_small = std::max(in_small, held - huge);
      if (b > a) held -= L[a].resident, huge -= L[a].huge;
      else b = a + 1;
    }
    const uint64_t room = budget_->limit() > reserved_ ? budget_->limit() - reserved_ : 0;
    if (in_huge + in_small > room) in_small = room > in_huge ? room - in_huge : 0;
    if (in_huge > room) in_huge = room;
    if (in_huge > 0) committed_ += budget_->commit(in_huge, PageKind::Huge, threads);
    committed_ += budget_->commit(reserved_ + in_small, PageKind::Small, threads);
  }

  void finish(std::chrono::steady_clock::time_point t0) {
    latency_ms_ += ms_since(t0);
    // The baseline is what the process holds outside the budget. Reader and agent threads and
    // BLAS buffers only exist once a pass has run, so re-measure it after each one.
    const uint64_t rss = process_current_rss_bytes(), in_use = budget_->resident_bytes();
    if (rss > in_use) baseline_ = std::max(baseline_, rss - in_use);
    baseline_ = std::max(baseline_, engine_->source().outside_budget_bytes());
    if (trace_ && !opts_.trace_path.empty()) trace_->write(opts_.trace_path);
  }

  void summarize() {
    const ModelInfo& i = mg_.info;
    sum_.family = family_name(i.family);
    sum_.arch = i.arch;
    sum_.model_type = i.model_type;
    sum_.primary_output = i.primary_output;
    sum_.outputs = {i.primary_output};
    for (const auto& [name, v] : mg_.graph.extra_outputs) sum_.outputs.push_back(name);
    sum_.hidden = i.hidden;
    sum_.n_layer = i.n_layer;
    sum_.n_head = i.n_head;
    sum_.vocab_size = i.vocab_size;
    // Labels per input row (top-k, accuracy): the classifiers whose output is (N, labels).
    const bool per_input = i.head == Head::ImageClassification || i.head == Head::SequenceClassification;
    sum_.num_labels = per_input ? i.num_labels : 0;
    sum_.image_size = i.image_size;
    sum_.num_channels = i.num_channels;
    sum_.max_positions = i.max_positions;
    sum_.eos_token_id = i.eos_token_id;
    sum_.weight_bytes = mg_.graph.model_weight_bytes();
    sum_.id2label = i.id2label;
    sum_.attention = i.attention;
    sum_.precision = i.precision;
    sum_.architecture_note = i.architecture_note;
    sum_.unused_tensors = i.unused_tensors;
    for (ValueId v : mg_.graph.nd_inputs) {
      const Value& val = mg_.graph.values[v];
      sum_.inputs.push_back({val.name, val.dtype, val.declared, val.dim_params});
    }
    if (mg_.graph.nd) {
      auto decl = [&](ValueId v) {
        const Value& val = mg_.graph.values[v];
        // Outputs have no declared shape: the static inference's, -1 where symbolic.
        sum_.output_decls.push_back({val.name, val.dtype, val.declared.empty() ? val.dims : val.declared, val.dim_params});
      };
      decl(mg_.graph.output);
      for (const auto& [name, v] : mg_.graph.extra_outputs) decl(v);
    }
  }

  SessionOptions opts_;
  ModelGraph mg_;
  std::unique_ptr<MemoryBudget> budget_;  // its own, or its quota in opts_.shared_budget
  Executor kind_ = Executor::Auto;
  std::unique_ptr<Trace> trace_;
  CostModel cost_;
  std::unique_ptr<Engine> engine_;
  PlanResult plan_;
  ModelSummary sum_;
  uint64_t baseline_ = 0;
  std::string io_engine_ = "buffered";  // how weights are read (io/direct_reader.h read_engine)
  double latency_ms_ = 0;
  double prepare_ms_ = 0;
  std::string bw_source_ = "default";  // where cost_.read_bytes_per_s came from
  std::string cost_source_ = "default";  // where cost_'s fits came from
  PlanRequest plan_req_;    // the last plan's request
  bool planned_ = false;    // plan_ answers plan_req_
  uint64_t reserved_ = 0;   // the last plan's memory reserved before loads
  uint64_t committed_ = 0;  // bytes commit_plan() made resident
  std::vector<double> call_compute_ms_;
};
}  // namespace

std::shared_ptr<SharedBudget> SharedBudget::make(uint64_t limit_bytes, bool huge_pages) {
  if (limit_bytes == MemoryBudget::kUnlimited) ER_THROW(InputError, "a shared budget needs a limit");
  return std::make_shared<SharedBudgetImpl>(limit_bytes, huge_pages);
}

std::unique_ptr<Session> Session::open(const std::string& model_dir, const SessionOptions& opts) {
  return std::make_unique<SessionImpl>(model_dir, opts);
}

std::vector<double> predicted_at(Session& s, const Inputs& in, const std::vector<uint64_t>& budgets) {
  return static_cast<SessionImpl&>(s).predicted_at(in, budgets);
}

MemoryBudget& shared_arena(SharedBudget& b) { return static_cast<SharedBudgetImpl&>(b).arena; }

std::unique_ptr<Session> open_session(const std::string& model_dir, const SessionOptions& opts, Trace* trace,
                                      const std::string& track_prefix) {
  return std::make_unique<SessionImpl>(model_dir, opts, trace, track_prefix);
}

}  // namespace edgerun
