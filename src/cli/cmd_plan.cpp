// `edgerun plan MODEL --budget X`: the executor, blocks, loading agents and resident layers the
// planner picks, with predicted latency and peak, for an input of the given shape (or, with
// --new-tokens, for GPT-2 generation from a prompt of that shape).
#include <cstdio>
#include <string>

#include "cli/commands.h"
#include "edgerun/edgerun.h"
#include "edgerun/types.h"
#include "edgerun/tasks.h"

namespace edgerun::cli {

namespace {
struct PlanArgs {
  std::string model, budget, executor = "auto", cost_model;
  int agents = 0, threads = 0;
  int64_t seq = 128, batch = 1, repeat = 1, new_tokens = 0;
  bool json = false;
};

int plan(const PlanArgs& a) {
  SessionOptions so;
  so.threads = a.threads;
  set_budget(so, a.budget);
  so.executor = parse_executor(a.executor);
  so.agents = a.agents;
  so.cost_model_path = a.cost_model;
  so.expected_calls = a.repeat;
  auto s = Session::open(a.model, so);
  const ModelSummary& m = s->summary();
  const Inputs in = planning_input(m, a.batch, a.seq);
  if (a.new_tokens > 0 && m.family != "gpt2")
    fail<InputError>("--new-tokens: only GPT-2 models generate; this one is ", m.family);
  const PlanSummary p = a.new_tokens > 0 ? s->plan_generate(*in.input_ids, a.new_tokens) : s->plan(in);
  const uint64_t budget = s->report().budget_bytes;
  if (a.json) {
    std::printf("%s\n", plan_json(p, a.model, budget).c_str());
    return 0;
  }
  auto mib = [](double b) { return b / 1048576.0; };
  std::printf("model %s: %.1f MiB of weights, budget %s, minimum budget %.1f MiB\n", a.model.c_str(),
              mib(static_cast<double>(p.weight_bytes)),
              budget ? (std::to_string(mib(static_cast<double>(budget))) + " MiB").c_str() : "unlimited",
              mib(static_cast<double>(p.min_budget_bytes)));
  std::printf("executor %s", to_string(p.executor));
  if (p.executor == Executor::Pipeload) std::printf(", %d loading agents", p.agents);
  if (p.executor == Executor::Swap) std::printf(", %zu blocks%s", p.blocks.size(), p.prefetch ? ", prefetch" : "");
  std::printf("\nresident across passes: %zu layers; streamed per pass: %.1f MiB\n", p.resident_layers.size(),
              mib(static_cast<double>(p.streamed_bytes)));
  std::printf("predicted latency %.1f ms (first pass %.1f ms), predicted peak %.1f MiB\n", p.predicted_ms,
              p.predicted_first_ms, mib(static_cast<double>(p.predicted_peak_bytes)));
  if (p.executor == Executor::Swap)
    for (const auto& [first, end] : p.blocks)
      std::printf("  block %-20s .. %-20s\n", p.layers[first].name.c_str(), p.layers[end - 1].name.c_str());
  return 0;
}
}  // namespace

Runner add_plan(CLI::App& app) {
  auto a = std::make_shared<PlanArgs>();
  CLI::App* c = app.add_subcommand("plan", "Show the execution plan for a budget");
  c->add_option("model", a->model, "Hugging Face model folder")->required();
  c->add_option("-b,--budget", a->budget, "Memory budget: bytes, K/M/G suffix, or a percentage of the weights");
  c->add_option("-e,--executor", a->executor, "auto | resident | swap | pipeload")
      ->check(CLI::IsMember(executor_names()));
  c->add_option("--agents", a->agents, "pipeload loading agents (default: planner's choice)")->check(CLI::Range(1, 64));
  c->add_option("--seq", a->seq, "Tokens per sequence (BERT, GPT-2)")->check(CLI::Range(1, 1 << 20));
  c->add_option("--batch", a->batch, "Batch size")->check(CLI::Range(1, 1 << 16));
  c->add_option("-n,--new-tokens", a->new_tokens, "GPT-2: plan the generation of this many tokens after a --seq prompt (one pass each)")
      ->check(CLI::Range(0, 1 << 20));
  c->add_option("--repeat", a->repeat, "Passes the plan serves (as run --repeat): layers stay resident between passes only when there are several")
      ->check(CLI::Range(1, 1000000));
  c->add_option("--cost-model", a->cost_model, "Cost model JSON from `edgerun profile`");
  c->add_option("-t,--threads", a->threads, "Compute threads")->check(CLI::Range(0, 1024));
  c->add_flag("--json", a->json, "Print JSON");
  return [a] { return plan(*a); };
}

}  // namespace edgerun::cli
