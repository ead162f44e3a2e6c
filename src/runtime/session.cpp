// Session: the public facade over build_model + MemoryBudget + Engine.
#include <chrono>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "edgerun/edgerun.h"
#include "formats/npy.h"
#include "kernels/cpu/kernels.h"
#include "runtime/engine.h"
#include "runtime/report.h"

namespace edgerun {

namespace {
class SessionImpl final : public Session {
 public:
  SessionImpl(const std::string& dir, const SessionOptions& o)
      : opts_(o), mg_(build_model(dir)), budget_(o.budget_bytes), engine_(mg_, budget_, {o.threads}) {
    const ModelInfo& i = mg_.info;
    sum_.family = family_name(i.family);
    sum_.arch = i.arch;
    sum_.model_type = i.model_type;
    sum_.primary_output = i.primary_output;
    sum_.hidden = i.hidden;
    sum_.n_layer = i.n_layer;
    sum_.n_head = i.n_head;
    sum_.vocab_size = i.vocab_size;
    sum_.num_labels = i.head == Head::Base || i.head == Head::LmHead ? 0 : i.num_labels;
    sum_.image_size = i.image_size;
    sum_.num_channels = i.num_channels;
    sum_.max_positions = i.max_positions;
    sum_.eos_token_id = i.eos_token_id;
    sum_.weight_bytes = mg_.graph.total_weight_bytes();
    sum_.id2label = i.id2label;
  }
  const ModelSummary& summary() const override { return sum_; }

  HostArray run(const Inputs& in) override {
    auto t0 = std::chrono::steady_clock::now();
    RunRequest r;
    if (in.input_ids) r.input_ids = &*in.input_ids;
    if (in.attention_mask) r.attention_mask = &*in.attention_mask;
    if (in.token_type_ids) r.token_type_ids = &*in.token_type_ids;
    if (in.pixel_values) r.pixel_values = &*in.pixel_values;
    HostArray out = engine_.forward(r);
    latency_ms_ += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    return out;
  }

  HostArray generate(const HostArray& prompt, const GenerateParams& p) override {
    auto t0 = std::chrono::steady_clock::now();
    GenerateOptions g;
    g.new_tokens = p.new_tokens;
    g.top_k = p.top_k;
    g.temperature = p.temperature;
    g.seed = p.seed;
    g.stop_at_eos = p.stop_at_eos;
    g.on_token = p.on_token;
    HostArray out = engine_.generate(prompt, g);
    latency_ms_ += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    return out;
  }

  Report report() const override {
    Report r;
    const EngineStats& s = engine_.stats();
    r.latency_ms = latency_ms_;
    r.load_ms = s.load_ms;
    r.compute_ms = s.compute_ms;
    r.peak_rss_bytes = process_peak_rss_bytes();
    r.budget_bytes = budget_.limit();
    r.budget_high_water_bytes = budget_.high_water();
    r.bytes_read = engine_.stats().bytes_read;
    r.tokens_generated = s.tokens_generated;
    r.tokens_per_s = s.compute_ms > 0 ? s.tokens_generated / (s.compute_ms / 1000.0) : 0;
    r.threads = kernels::get_blas_threads();
    r.blas_core = kernels::blas_core_name();
    return r;
  }

  std::string report_json() const override {
    Report r = report();
    nlohmann::json j;
    j["latency_ms"] = r.latency_ms;
    j["load_ms"] = r.load_ms;
    j["compute_ms"] = r.compute_ms;
    j["peak_rss_bytes"] = r.peak_rss_bytes;
    j["budget_bytes"] = r.budget_bytes;
    j["budget_high_water_bytes"] = r.budget_high_water_bytes;
    j["bytes_read"] = r.bytes_read;
    j["threads"] = r.threads;
    j["blas_core"] = r.blas_core;
    if (r.tokens_generated) {
      j["tokens_generated"] = r.tokens_generated;
      j["tokens_per_s"] = r.tokens_per_s;
    }
    return j.dump();
  }

 private:
  SessionOptions opts_;
  ModelGraph mg_;
  MemoryBudget budget_;
  Engine engine_;
  ModelSummary sum_;
  double latency_ms_ = 0;
};
}  // namespace

std::unique_ptr<Session> Session::open(const std::string& model_dir, const SessionOptions& opts) {
  return std::make_unique<SessionImpl>(model_dir, opts);
}

}  // namespace edgerun
