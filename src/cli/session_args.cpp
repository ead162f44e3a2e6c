// The options run and plan share (budget, executor, agents, threads, cost model): one definition
// of their flags, help texts and checks.
#include <cstdio>
#include <thread>

#include "cli/commands.h"
#include "edgerun/format.h"
#include "edgerun/types.h"

namespace edgerun::cli {

void add_session_options(CLI::App* c, SessionArgs& a) {
  c->add_option("-b,--budget", a.budget,
                std::string("Memory budget for weights and activations: a size (300M, 1.5GiB, 500MB) or a "
                            "percentage of the model's weight bytes (10%); default: no budget. ") +
                    kSizeHelp);
  c->add_option("-e,--executor", a.executor,
                "auto (the planner chooses) | resident | swap | pipeload")
      ->check(CLI::IsMember(executor_names()))
      ->capture_default_str();
  c->add_option("--agents", a.agents, "pipeload: loading agents (default: the planner's choice)")
      ->check(CLI::Range(1, 64));
  c->add_option("-t,--threads", a.threads, "Compute threads; 0 = one per core")
      ->check(CLI::Range(0, 1024))
      ->capture_default_str();
  c->add_option("--cost-model", a.cost_model, "Cost model JSON from `edgerun profile` for the planner");
  c->add_option("--tile", a.tile,
                "Transformers: size of the output-column tiles the large Linears stream and compute in, as units "
                "of their own (default 4M; 0: one GEMM per Linear, the model's own layers). Results depend on it "
                "in the last bits, never on the budget");
}

SessionOptions session_options(const SessionArgs& a) {
  SessionOptions so;
  so.threads = a.threads;
  const unsigned cores = std::thread::hardware_concurrency();
  if (cores > 0 && a.threads > static_cast<int>(cores))
    std::fprintf(stderr,
                 "edgerun: warning: --threads %d is more than this machine's %u cores; the extra threads "
                 "only compete for them (--threads 0 uses one per core)\n",
                 a.threads, cores);
  set_budget(so, a.budget);
  so.executor = parse_executor(a.executor);
  if (a.agents > 0 && so.executor != Executor::Pipeload && so.executor != Executor::Auto)
    fail<InputError>("--agents sets pipeload's loading agents; the ", a.executor,
                     " executor has none (use --executor pipeload or auto)");
  so.agents = a.agents;
  so.cost_model_path = a.cost_model;
  if (!a.tile.empty()) {
    try {
      so.tile_bytes = a.tile == "0" ? 0 : parse_bytes(a.tile, 0);
    } catch (const InputError& e) {
      fail<InputError>("--tile ", a.tile, ": ", e.what(), " (give a size, e.g. 4M, or 0)");
    }
    if (so.tile_bytes != 0 && (so.tile_bytes < 4096 || so.tile_bytes > (1ull << 32)))
      fail<InputError>("--tile ", a.tile, ": must be 0 or from 4K to 4G");
  }
  return so;
}

void check_generates(const ModelSummary& m) {
  if (m.family != "gpt2") fail<InputError>("--new-tokens: only GPT-2 models generate; this one is ", m.arch);
}

void warn_unused_agents(const SessionArgs& a, Executor chosen) {
  if (a.agents > 0 && chosen != Executor::Pipeload)
    std::fprintf(stderr, "edgerun: warning: --agents %d is unused: the planner chose the %s executor\n", a.agents,
                 to_string(chosen));
}

}  // namespace edgerun::cli
