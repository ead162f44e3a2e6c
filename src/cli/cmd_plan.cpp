// `edgerun plan MODEL --budget X`: the executor, blocks, loading agents and resident layers the
// planner picks, with predicted latency and peak, for an input of the given shape (or, with
// --new-tokens, for GPT-2 generation from a prompt of that shape).
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "core/error.h"
#include "edgerun/edgerun.h"

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
  so.executor = a.executor;
  so.agents = a.agents;
  so.cost_model_path = a.cost_model;
  so.expected_calls = a.repeat;
  auto s = Session::open(a.model, so);
  const ModelSummary& m = s->summary();
  Inputs in;
  if (m.family == "vit") {
    in.pixel_values = HostArray(DType::F32, {a.batch, m.num_channels, m.image_size, m.image_size});
  } else {
    if (m.max_positions && a.seq > m.max_positions)
      ER_THROW(InputError, "--seq ", a.seq, " exceeds the model's ", m.max_positions, " positions");
    in.input_ids = HostArray(DType::I64, {a.batch, a.seq});
  }
  if (a.new_tokens > 0 && m.family != "gpt2")
    ER_THROW(InputError, "--new-tokens: only GPT-2 models generate; this one is ", m.family);
  auto j = nlohmann::json::parse(a.new_tokens > 0 ? s->plan_generate_json(*in.input_ids, a.new_tokens)
                                                  : s->plan_json(in));
  j["model"] = a.model;
  j["budget_bytes"] = s->report().budget_bytes;
  if (a.json) {
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  auto mib = [](double b) { return b / 1048576.0; };
  std::printf("model %s: %.1f MiB of weights, budget %s, minimum budget %.1f MiB\n", a.model.c_str(),
              mib(j["weight_bytes"].get<double>()),
              j["budget_bytes"].get<uint64_t>() ? (std::to_string(mib(j["budget_bytes"].get<double>())) + " MiB").c_str() : "unlimited",
              mib(j["min_budget_bytes"].get<double>()));
  std::printf("executor %s", j["executor"].get<std::string>().c_str());
  if (j["executor"] == "pipeload") std::printf(", %d loading agents", j["agents"].get<int>());
  if (j["executor"] == "swap") std::printf(", %zu blocks%s", j["blocks"].size(), j["prefetch"].get<bool>() ? ", prefetch" : "");
  std::printf("\nresident across passes: %zu layers; streamed per pass: %.1f MiB\n", j["resident_layers"].size(),
              mib(j["streamed_bytes"].get<double>()));
  std::printf("predicted latency %.1f ms (first pass %.1f ms), predicted peak %.1f MiB\n",
              j["predicted_ms"].get<double>(), j["predicted_first_ms"].get<double>(),
              mib(j["predicted_peak_bytes"].get<double>()));
  if (j["executor"] == "swap")
    for (const auto& b : j["blocks"]) {
      int first = b[0].get<int>(), end = b[1].get<int>();
      std::printf("  block %-20s .. %-20s\n", j["layers"][first]["name"].get<std::string>().c_str(),
                  j["layers"][end - 1]["name"].get<std::string>().c_str());
    }
  return 0;
}
}  // namespace

Runner add_plan(CLI::App& app) {
  auto a = std::make_shared<PlanArgs>();
  CLI::App* c = app.add_subcommand("plan", "Show the execution plan for a budget");
  c->add_option("model", a->model, "Hugging Face model folder")->required();
  c->add_option("-b,--budget", a->budget, "Memory budget: bytes, K/M/G suffix, or a percentage of the weights");
  c->add_option("-e,--executor", a->executor, "auto | resident | swap | pipeload")
      ->check(CLI::IsMember({"auto", "resident", "swap", "pipeload"}));
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
