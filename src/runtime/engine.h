// Engine: executes a model's Graph on the CPU backend inside a MemoryBudget. Layers are made
// resident through a WeightLoader, activations live in the budget from their first write to
// their last read, and causal models keep a KV cache (also in the budget) across steps.
// This is the resident executor; the streaming executors reuse run_layers with other policies.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "core/memory_budget.h"
#include "edgerun/array.h"
#include "models/model.h"
#include "runtime/weight_loader.h"

namespace edgerun {

struct EngineOptions {
  int threads = 0;  // 0: all online cores
};

struct RunRequest {
  const HostArray* input_ids = nullptr;       // int64 (B, T): BERT, GPT-2
  const HostArray* attention_mask = nullptr;  // int64 (B, T): BERT (optional)
  const HostArray* token_type_ids = nullptr;  // int64 (B, T): BERT (optional)
  const HostArray* pixel_values = nullptr;    // float32 (B, C, H, W): ViT
};

struct GenerateOptions {
  int64_t new_tokens = 20;
  int64_t top_k = 0;          // 0: greedy
  float temperature = 1.0f;
  uint64_t seed = 0;
  bool stop_at_eos = false;
  // Called after each generated token (index, token id).
  std::function<void(int64_t, int64_t)> on_token;
};

struct EngineStats {
  double load_ms = 0, compute_ms = 0;
  uint64_t bytes_read = 0;
  int64_t tokens_generated = 0;
  double decode_ms = 0;  // time spent in single-token steps
};

class Engine {
 public:
  Engine(ModelGraph& mg, MemoryBudget& budget, const EngineOptions& opts);
  ~Engine();

  // Reads every layer (resident executor). Idempotent.
  void load_all();
  // One forward pass; returns the primary output (logits or last hidden state) as float32 with
  // the model's natural shape: (B, labels), (B, T, D), (B, T, V). Validates the inputs.
  HostArray forward(const RunRequest& req);
  // Greedy / top-k generation for GPT-2 LM models: ids (B, T0) -> (B, T0 + new_tokens).
  HostArray generate(const HostArray& prompt_ids, const GenerateOptions& g);

  const EngineStats& stats() const { return stats_; }
  WeightLoader& loader() { return *loader_; }

 private:
  struct Step;
  void validate(const RunRequest& req, int64_t* B, int64_t* T) const;
  // Runs every op for B sequences of T new tokens after `past` cached ones; writes the primary
  // output (rows per Rows of the output value) into `out`.
  void run_graph(const Step& step, float* out);
  void run_op(const Op& op, const Step& step, std::vector<Allocation>& vals);
  void ensure_kv(int64_t B, int64_t capacity);

  ModelGraph& mg_;
  Graph& g_;
  MemoryBudget& budget_;
  EngineOptions opts_;
  std::unique_ptr<WeightLoader> loader_;
  std::vector<ResidentLayer> resident_;
  std::vector<int32_t> last_use_;
  Allocation kv_;             // (L, 2, B, H, cap, hd)
  int64_t kv_B_ = 0, kv_cap_ = 0;
  EngineStats stats_;
};

}  // namespace edgerun
