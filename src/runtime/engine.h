// Engine: executes a model's Graph inside a MemoryBudget, each op on the registered backend that
// supports it (graph/backend.h; assigned at construction). Layers come from a LayerSource
// (resident, swap or pipeload executor); activations and scratch live in one activation arena
// taken from the budget before any weight is loaded, sized exactly by a dry run of the same
// allocation sequence; causal models keep a KV cache (also budgeted) across steps.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/memory_budget.h"
#include "core/range_allocator.h"
#include "graph/backend.h"
#include "edgerun/array.h"
#include "edgerun/edgerun.h"  // GenerateParams
#include "models/model.h"
#include "runtime/executor.h"
#include "runtime/weight_loader.h"

namespace edgerun {

class Trace;

struct EngineOptions {
  int threads = 0;        // 0: all online cores
  ExecPlan plan;          // resolved executor (never Auto here)
  Trace* trace = nullptr;
};

using NamedOutputs = std::vector<std::pair<std::string, HostArray>>;

struct RunRequest {
  const HostArray* input_ids = nullptr;       // int64 (B, T): BERT, GPT-2
  const HostArray* attention_mask = nullptr;  // int64 (B, T): BERT (optional)
  const HostArray* token_type_ids = nullptr;  // int64 (B, T): BERT (optional)
  const HostArray* pixel_values = nullptr;    // float32 (B, C, H, W): ViT
  // ONNX graphs: every graph input by name.
  std::vector<std::pair<std::string, const HostArray*>> named;
};

struct EngineStats {
  double load_ms = 0, compute_ms = 0;  // load_ms: time the inference agent waited for weights
  uint64_t bytes_read = 0;
  int64_t tokens_generated = 0, passes = 0;
  double decode_ms = 0;
  std::vector<double> layer_compute_ms;  // per layer, of the last pass
  std::vector<double> layer_wait_ms;     // per layer, of the last pass: waiting for its weights
};

class Engine {
 public:
  Engine(ModelGraph& mg, MemoryBudget& budget, const EngineOptions& opts);
  ~Engine();

  // One forward pass; returns the primary output (logits or last hidden state) as float32 with
  // the model's natural shape: (B, labels), (B, T, D), (B, T, V), and, into `extras`, the
  // graph's extra outputs by name. Validates the inputs.
  HostArray forward(const RunRequest& req, NamedOutputs* extras = nullptr);
  // Greedy / top-k generation for GPT-2 LM models: ids (B, T0) -> (B, T0 + new_tokens).
  HostArray generate(const HostArray& prompt_ids, const GenerateParams& g);
  // InputError unless the model has a language-model head (generate, and plans for it).
  void require_generator() const;

  // Bytes of the activation arena for a pass of this shape (exact: a dry run of the allocator).
  uint64_t activation_arena_bytes(const PassShape& s) const;
  uint64_t kv_cache_bytes(int64_t B, int64_t capacity) const;
  // What generate() takes from the budget before any weight is loaded, for B prompts of T0
  // tokens grown to `total`: the activation arena, the KV cache, and logits + step ids.
  struct GenerationReserve {
    uint64_t arena = 0, kv = 0, logits = 0;
    uint64_t total() const { return arena + kv + logits; }
  };
  GenerationReserve generation_reserve(int64_t B, int64_t T0, int64_t total) const;
  // Token count of one pass for this model and input (ViT: patches + 1; ONNX graphs: 1).
  int64_t tokens_for(const RunRequest& req) const;
  // ONNX graphs: checks the named inputs and binds the graph's shapes to theirs (graph/nd_bind.h)
  // when they differ from the last bind's; before planning or running. No-op for other graphs.
  void bind(const RunRequest& req);
  // Budget bytes the engine holds for the whole session (an ONNX graph's constants).
  uint64_t held_bytes() const { return constants_.size(); }

  // Replaces the executor (releasing every resident layer); pinned layers are then loaded by the
  // next pass.
  void set_plan(const ExecPlan& plan);
  // Gives the backends this engine's thread count (EngineOptions::threads); every pass does.
  void apply_threads();
  const ExecPlan& plan() const { return opts_.plan; }
  const EngineStats& stats() const { return stats_; }
  WeightLoader& loader() { return *loader_; }
  LayerSource& source() { return *source_; }
  // Per op: the backend that runs it (the cost-model record's key counts them).
  const std::vector<Backend*>& op_backends() const { return backends_; }

 private:
  struct Step;
  void validate(const RunRequest& req, int64_t* B, int64_t* T) const;
  uint64_t op_scratch_bytes(int32_t i, const PassShape& s) const;
  void prepare_arena(uint64_t bytes);
  void run_graph(const Step& step, void* out, NamedOutputs* extras);
  void run_op(int32_t i, const Step& step, std::vector<int64_t>& off, void* scratch);
  // N-D graphs (engine_nd.cpp).
  void load_constants();
  void compute_lifetimes();
  void run_nd_op(int32_t i, std::vector<int64_t>& off, void* scratch);
  const void* value_ptr(ValueId v, const std::vector<int64_t>& off) const;
  HostArray forward_nd(const RunRequest& req, NamedOutputs* extras);
  void ensure_kv(int64_t B, int64_t capacity);

  ModelGraph& mg_;
  Graph& g_;
  MemoryBudget& budget_;
  EngineOptions opts_;
  std::vector<Backend*> backends_;  // per op: the backend that runs it (graph/backend.h)
  std::vector<Backend*> used_;      // each backend of backends_ once
  std::unique_ptr<WeightLoader> loader_;
  std::unique_ptr<LayerSource> source_;
  std::vector<int32_t> last_use_;
  bool one_sequence_only_ = false;  // a last-token select without a pad id: batches are refused
  std::vector<bool> keep_;  // values live to the end of a pass: the outputs
  // N-D graphs: model constants (budgeted), the input shapes of the last bind, per-op tensors
  // (dims as bound; data set per call), and the pass's graph inputs.
  Allocation constants_;
  std::vector<Shape> bound_shapes_;
  std::vector<std::vector<uint8_t>> bound_values_;  // of the inputs read at bind time
  bool bound_ = false;
  std::vector<std::vector<Tensor>> nd_in_, nd_out_;
  std::vector<const void*> input_ptr_;
  Allocation arena_;
  Allocation kv_;             // (L, 2, B, H, cap, hd)
  int64_t kv_B_ = 0, kv_cap_ = 0;
  EngineStats stats_;
};

}  // namespace edgerun
