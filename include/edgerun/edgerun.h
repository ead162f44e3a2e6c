// Implemented in src/runtime/
//
// edgerun public API: load a Hugging Face model folder, run it inside a memory budget, read the
// outputs and a report. The other headers of include/edgerun/ add model inputs (preprocess.h),
// tasks over a session (tasks.h), model tools (models.h, tools.h, iobench.h) and the accelerator
// simulators (sim.h). Everything under src/ is internal and may change.
//
//   edgerun::SessionOptions o;  o.threads = 2;
//   auto s = edgerun::Session::open("models/vit-digits", o);
//   edgerun::Inputs in;  in.pixel_values = edgerun::read_npy("x.npy");
//   edgerun::HostArray logits = s->run(in);
//   std::string json = s->report_json();
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "edgerun/array.h"
#include "edgerun/preprocess.h"  // read_npy, write_npy
#include "edgerun/types.h"

namespace edgerun {

// One memory budget that several sessions share: one arena and one limit for every model of a
// process (edgerun serve), each session under its quota (SessionOptions::budget_bytes or
// budget_fraction). Sessions keep it alive.
class SharedBudget {
 public:
  // huge_pages: as SessionOptions::huge_pages, for every session in it.
  static std::shared_ptr<SharedBudget> make(uint64_t limit_bytes, bool huge_pages = true);
  virtual ~SharedBudget() = default;
  virtual uint64_t limit() const = 0;
  virtual uint64_t in_use() const = 0;
  virtual uint64_t high_water() const = 0;
  // Bytes in use plus freed pages kept for reuse: what the arena may hold resident (<= limit).
  virtual uint64_t resident_bytes() const = 0;
};

struct SessionOptions {
  int threads = 0;              // 0: all cores
  uint64_t budget_bytes = 0;    // 0: unlimited
  double budget_fraction = 0;   // > 0: budget = this fraction of the model's weight bytes
  // Set: the session takes its memory from this budget, and budget_bytes (or budget_fraction),
  // which must then be given, is its quota there; huge_pages is the shared budget's.
  std::shared_ptr<SharedBudget> shared_budget;
  Executor executor = Executor::Auto;  // Auto: the planner chooses
  int agents = 0;               // pipeload loading agents; 0: planner's choice
  bool prefetch = true;         // swap: one block of prefetch
  bool direct_io = true;        // O_DIRECT weight reads (buffered fallback with a warning)
  int io_depth = 0;             // direct reads in flight per load (0: default)
  uint64_t io_chunk_bytes = 0;  // size of each direct read (0: default)
  IoEngine io_engine = IoEngine::Auto;  // Auto: io_uring where allowed, else threads
  // Under a budget, read weights into transparent huge pages where the kernel has them
  // (core/memory_budget.h); false: 4 KiB pages only.
  bool huge_pages = true;
  // Under a budget, prepare() commits the pages the plan will hold (MemoryBudget::commit), so
  // that no pass pays for faulting them in; false: passes fault them in as they touch them.
  bool commit_budget = true;
  std::string trace_path;       // write a Chrome trace here after each run
  std::string cost_model_path;  // cost model from `edgerun profile` (else defaults)
  // Calls of run()/generate() the caller expects to make (`--repeat`): the planner keeps layers
  // resident across passes only when there are later passes to gain from them.
  int64_t expected_calls = 1;
  // Numerics (DESIGN.md "Numerics"). Empty: the variant the model's config.json names
  // ("edgerun_attention"), else softmax. Causal models: softmax only.
  std::optional<AttnVariant> attention;
  // Q16: ViT and BERT, with a calibrated sidecar. Empty: what the folder holds (q16 for a folder
  // `edgerun convert --dtype q16` wrote, else fp32).
  std::optional<Precision> precision;
  // Also compute the outputs transformers returns beside the primary one (pooler_output of
  // BertModel and ViTModel), for run_outputs(); their weights are then read every pass.
  bool all_outputs = false;
  // Output-column tiles of the transformers' large Linears, streamed and computed as units of
  // their own, and layers of about one tile (docs/STREAMING.md "Tiles"): the minimum budget is
  // then the activations plus a tile. Every executor computes the same tiles, so results do not
  // depend on the budget; they may differ in the last bits from tile_bytes 0 (the model's own
  // layers, one GEMM per Linear). q16 models are not tiled. Default: 4 MiB.
  uint64_t tile_bytes = 4u << 20;
};

struct Inputs {
  std::optional<HostArray> input_ids;       // int64 (N, T)
  std::optional<HostArray> attention_mask;  // int64 (N, T)
  std::optional<HostArray> token_type_ids;  // int64 (N, T)
  std::optional<HostArray> pixel_values;    // float32 (N, C, H, W)
  // ONNX models: every graph input by name (ModelSummary::inputs lists them).
  std::vector<std::pair<std::string, HostArray>> named;
};

// GPT-2 generation (Session::generate): greedy, or sampling from the top k.
struct GenerateParams {
  int64_t new_tokens = 20;
  int64_t top_k = 0;  // 0: greedy
  float temperature = 1.0f;
  uint64_t seed = 0;
  bool stop_at_eos = false;
  // After each new token: its index among the new ones and its id (of sequence 0).
  std::function<void(int64_t index, int64_t token)> on_token;
};

struct Report {
  double latency_ms = 0, load_ms = 0, compute_ms = 0;
  uint64_t peak_rss_bytes = 0;          // the process's VmHWM
  uint64_t budget_bytes = 0;            // 0 when unlimited
  uint64_t budget_high_water_bytes = 0;
  uint64_t arena_fresh_bytes = 0;       // arena bytes handed out not resident: each page faulted and cleared
  uint64_t bytes_read = 0;
  int64_t tokens_generated = 0;
  double tokens_per_s = 0;              // generated tokens / decode+prefill compute time
  int threads = 0;
  std::string blas_core;
  std::string io_engine;  // weight reads: io_uring | threads (direct I/O) | buffered
  bool huge_pages = false;  // weight buffers in 2 MiB pages (under a budget, where available)
  Executor executor = Executor::Auto;   // the executor the planner chose or was told (never Auto after a run)
  int agents = 0;
  uint64_t min_budget_bytes = 0;
  uint64_t fixed_baseline_bytes = 0;    // RSS outside the budget: binary, libraries, BLAS buffers, stacks
  // Per pass (JSON: *_per_pass), where latency_ms is the whole run's (passes of them):
  uint64_t streamed_bytes = 0;          // weight bytes read per steady-state pass
  double predicted_ms = 0;              // the planner's prediction of one steady-state pass
  double bound_ms = 0;                  // physical lower bound max(S/B, C) + fill of one pass
  double read_bytes_per_s = 0;          // B of the bound and the plan
  std::string read_bandwidth_source;    // "iobench <when>" (recorded), "cost model FILE", "profile <when>" or "default"
  // Where the plan's load and compute times came from: "profile <when>" (what `edgerun profile`
  // recorded for this model, device and thread count), "cost model FILE" or "default".
  std::string cost_model_source;
  int64_t passes = 0;
  double prepare_ms = 0;                // prepare(): planning and committing the budget (not in latency_ms)
  uint64_t committed_bytes = 0;         // budget pages prepare() made resident before any pass
  uint64_t weight_bytes = 0;            // the model's weight bytes (as ModelSummary)
  // Compute of each run()/generate() call (`--repeat K` gives K): the first includes
  // first-touch page faults, later ones are steady state.
  std::vector<double> call_compute_ms;
  double decode_ms = 0;                 // generation: compute of the decode steps
};

// The plan the planner made (Session::plan): executor, blocks, resident layers, predictions.
struct PlanLayer {
  std::string name;
  uint64_t bytes = 0, resident_bytes = 0, peak_bytes = 0;
  double flops = 0, load_ms = 0, compute_ms = 0;
};
struct PlanSummary {
  Executor executor = Executor::Resident;
  int agents = 1;                                   // pipeload: loading agents
  bool prefetch = false;                            // swap: one block of prefetch
  std::vector<std::pair<int32_t, int32_t>> blocks;  // swap: [first, end) layer ranges
  std::vector<std::string> resident_layers;         // kept resident between passes
  double predicted_ms = 0, predicted_first_ms = 0;
  uint64_t predicted_peak_bytes = 0, min_budget_bytes = 0;
  uint64_t weight_bytes = 0;     // the model's weight bytes (as ModelSummary; the base of --budget N%)
  uint64_t full_pass_bytes = 0;  // bytes a fully streamed pass reads (embedding tables are read by rows)
  uint64_t streamed_bytes = 0;   // bytes a steady-state pass reads
  std::vector<PlanLayer> layers;
  std::string cost_model_source;  // where the load and compute times came from (as Report)
  // Weight buffers take 2 MiB huge pages wherever rounding to them at most doubles a buffer (the
  // plan fits the budget with that); false: only where it costs at most a quarter.
  bool wide_huge_rounding = false;
};

struct ModelSummary {
  std::string family, arch, model_type, primary_output;
  int64_t hidden = 0, n_layer = 0, n_head = 0, vocab_size = 0, num_labels = 0;
  int64_t image_size = 0, num_channels = 0, max_positions = 0, eos_token_id = -1;
  uint64_t weight_bytes = 0;
  std::map<int64_t, std::string> id2label;
  AttnVariant attention = AttnVariant::Softmax;  // what the run computes with
  Precision precision = Precision::Fp32;
  std::vector<std::string> outputs;  // run_outputs()' names: primary_output first
  // ONNX models: the graph's inputs as declared (dims: -1 where symbolic, with its name in
  // dim_params, e.g. "batch"); empty for Hugging Face models.
  struct Input {
    std::string name;
    DType dtype = DType::F32;
    std::vector<int64_t> dims;
    std::vector<std::string> dim_params;
  };
  std::vector<Input> inputs;
  // ONNX models: each of `outputs` as declared (dtype, dims); empty for Hugging Face models.
  std::vector<Input> output_decls;
  // As ModelDescription's (edgerun/models.h): the note that config.json names no architecture
  // (empty when it does), and the weight files' tensors `arch` does not use.
  std::string architecture_note;
  std::vector<std::string> unused_tensors;
};

class Session {
 public:
  // Builds the graph and validates every tensor; throws edgerun::Error subclasses.
  static std::unique_ptr<Session> open(const std::string& model_dir, const SessionOptions& opts);
  virtual ~Session() = default;
  virtual const ModelSummary& summary() const = 0;
  // Optional, before the first run()/generate() of this shape: plans for it and, under a budget,
  // commits the pages the plan will hold, so that the calls that follow do not fault them in.
  // Its time is reported as prepare_ms, apart from latency_ms.
  virtual void prepare(const Inputs& in) = 0;
  virtual void prepare_generate(const HostArray& prompt_ids, int64_t new_tokens) = 0;
  // One forward pass; returns the primary output (float32).
  virtual HostArray run(const Inputs& in) = 0;
  // One forward pass; every output by name, as summary().outputs lists them (the primary one
  // first; the others with SessionOptions::all_outputs).
  virtual std::vector<std::pair<std::string, HostArray>> run_outputs(const Inputs& in) = 0;
  // GPT-2 LM generation: (N, T0) prompt ids -> (N, T0 + new) ids.
  virtual HostArray generate(const HostArray& prompt_ids, const GenerateParams& p) = 0;
  virtual Report report() const = 0;
  virtual std::string report_json() const = 0;
  // The plan (JSON) the last run used, or would use for this input.
  virtual std::string plan_json(const Inputs& in) = 0;
  // The plan (JSON) generate() would use for this prompt and token count (GPT-2).
  virtual std::string plan_generate_json(const HostArray& prompt_ids, int64_t new_tokens) = 0;
  // The same plans, typed.
  virtual PlanSummary plan(const Inputs& in) = 0;
  virtual PlanSummary plan_generate(const HostArray& prompt_ids, int64_t new_tokens) = 0;
};

}  // namespace edgerun
