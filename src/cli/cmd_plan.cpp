// `edgerun plan MODEL --budget X`: the executor, blocks, loading agents and resident layers the
// planner picks, with predicted latency and peak, for an input of the given shape (or, with
// --new-tokens, for GPT-2 generation from a prompt of that shape).
#include <algorithm>
#include <cstdio>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "edgerun/preprocess.h"
#include "edgerun/edgerun.h"
#include "edgerun/format.h"
#include "edgerun/types.h"
#include "edgerun/tasks.h"

namespace edgerun::cli {

namespace {
struct PlanArgs {
  std::string model;
  SessionArgs session;  // --budget, --executor, --agents, --threads, --cost-model
  std::optional<int64_t> seq;  // default kDefaultSeq for the text models; ViT: fixed by the image
  int64_t batch = 1, repeat = 1, new_tokens = 0;
  std::vector<std::string> input_shapes;  // ONNX: NAME=1x3x224x224
  bool json = false;
  bool layers = false;
};
constexpr int64_t kDefaultSeq = 128;

int plan(const PlanArgs& a) {
  SessionOptions so = session_options(a.session);
  so.expected_calls = a.repeat;
  auto s = Session::open(a.model, so);
  const ModelSummary& m = s->summary();
  warn_about_model(m.architecture_note, m.unused_tensors);
  if (a.seq && m.family == "onnx")
    fail<InputError>("--seq applies to transformers; give an ONNX model's input shapes with --input-shape NAME=DIMS");
  if (a.seq && m.family == "vit")
    fail<InputError>("--seq: a ViT's sequence is fixed by its image (", m.arch, " takes ", m.image_size, "x",
                     m.image_size, " images); leave --seq out");
  const int64_t seq = a.seq.value_or(std::min(kDefaultSeq, m.max_positions > 0 ? m.max_positions : kDefaultSeq));
  const Inputs in = planning_input(m, a.batch, seq, a.input_shapes);
  if (a.new_tokens > 0) check_generates(m);
  PlanSummary p;
  try {
    p = a.new_tokens > 0 ? s->plan_generate(*in.input_ids, a.new_tokens) : s->plan(in);
  } catch (const BudgetError& e) {
    // The minimum depends on the input plan assumed: say which options set it.
    if (m.family == "vit" || m.family == "onnx") throw;
    fail<BudgetError>(e.what(), "; plan assumed --seq ", seq, " --batch ", a.batch,
                      a.seq ? "" : " (--seq's default)");
  }
  const uint64_t budget = s->report().budget_bytes;
  if (a.json) {
    std::printf("%s\n", plan_json(p, a.model, budget).c_str());
    return 0;
  }
  auto bytes = [](uint64_t b) { return format_bytes(static_cast<double>(b)); };
  std::printf("model %s: %s of weights (a fully streamed pass reads %s), budget %s, minimum budget %s\n",
              a.model.c_str(), bytes(p.weight_bytes).c_str(), bytes(p.full_pass_bytes).c_str(),
              budget ? format_bytes_exact(budget).c_str() : "unlimited", bytes(p.min_budget_bytes).c_str());
  if (m.family == "onnx") {
    for (const auto& [name, arr] : in.named) {
      std::string dims;
      for (size_t k = 0; k < arr.shape.size(); ++k) dims += (k ? "x" : "") + std::to_string(arr.shape[k]);
      std::printf("input %s: %s\n", name.c_str(), dims.c_str());
    }
  } else if (m.family == "vit")
    std::printf("input: batch %lld, %lldx%lld images\n", static_cast<long long>(a.batch),
                static_cast<long long>(m.image_size), static_cast<long long>(m.image_size));
  else
    std::printf("input: batch %lld, %lld tokens%s\n", static_cast<long long>(a.batch), static_cast<long long>(seq),
                a.seq ? "" : " (the default; --seq N to change)");
  std::printf("executor %s", to_string(p.executor));
  if (p.executor == Executor::Pipeload) std::printf(", %d loading agents", p.agents);
  if (p.executor == Executor::Swap) std::printf(", %zu blocks%s", p.blocks.size(), p.prefetch ? ", prefetch" : "");
  if (p.executor == Executor::Resident)
    std::printf("\nevery layer resident: the first pass reads %s, later passes none\n", bytes(p.full_pass_bytes).c_str());
  else
    std::printf("\nresident across passes: %zu of %zu layers; streamed per pass: %s\n", p.resident_layers.size(),
                p.layers.size(), bytes(p.streamed_bytes).c_str());
  std::printf("predicted latency per pass %.1f ms (first pass %.1f ms), predicted peak %s; times from %s\n",
              p.predicted_ms, p.predicted_first_ms, bytes(p.predicted_peak_bytes).c_str(), p.cost_model_source.c_str());
  if (p.wide_huge_rounding)
    std::printf("weight buffers in 2 MiB huge pages wherever that at most doubles them (the plan fits with it)\n");
  if (p.executor == Executor::Swap)
    for (const auto& [first, end] : p.blocks)
      std::printf("  block %-20s .. %-20s\n", p.layers[first].name.c_str(), p.layers[end - 1].name.c_str());
  if (a.layers) {
    // The units the plan streams, in order: layers and the tiles they hold (a tile's layer is
    // named after its op, NAME.k).
    const std::set<std::string> kept(p.resident_layers.begin(), p.resident_layers.end());
    std::printf("%5s  %-52s %10s %10s %9s %9s  %s\n", "layer", "name", "bytes", "peak", "load ms", "compute", "");
    for (size_t i = 0; i < p.layers.size(); ++i) {
      const PlanLayer& l = p.layers[i];
      const char* how = p.executor == Executor::Resident || kept.count(l.name) ? "resident" : l.bytes ? "streamed" : "";
      std::printf("%5zu  %-52s %10s %10s %9.2f %9.2f  %s\n", i, l.name.c_str(), bytes(l.bytes).c_str(),
                  bytes(l.peak_bytes).c_str(), l.load_ms, l.compute_ms, how);
    }
  }
  return 0;
}
}  // namespace

Runner add_plan(CLI::App& app) {
  auto a = std::make_shared<PlanArgs>();
  CLI::App* c = app.add_subcommand("plan", "Show the execution plan for a budget");
  c->add_option("model", a->model, "Hugging Face model folder, or an .onnx file (or a folder holding model.onnx)")->required();
  add_session_options(c, a->session);
  c->add_option("--seq", a->seq, "Tokens per sequence (BERT, GPT-2; default 128, or the model's positions if fewer)")->check(CLI::Range(1, 1 << 20));
  c->add_option("--input-shape", a->input_shapes,
                "ONNX models: an input's shape as NAME=1x3x224x224 (the dims alone for a graph of one input); "
                "symbolic dims other than the first (the batch) need one");
  c->add_option("--batch", a->batch, "Batch size")->check(CLI::Range(1, 1 << 16));
  c->add_option("-n,--new-tokens", a->new_tokens, "GPT-2: plan the generation of this many tokens after a --seq prompt (one pass each)")
      ->check(CLI::Range(0, 1 << 20));
  c->add_option("--repeat", a->repeat, "Passes the plan serves (as run --repeat): layers stay resident between passes only when there are several")
      ->check(CLI::Range(1, 1000000));
  c->add_flag("--json", a->json, "Print JSON");
  c->add_flag("--layers", a->layers, "Also list every layer the plan streams (tiles included): bytes, peak, predicted load and compute, kept or streamed");
  return [a] {
    a->model = resolve_model_folder(a->model);
    return plan(*a);
  };
}

}  // namespace edgerun::cli
