// `edgerun sim systolic` and `edgerun sim samm`: cost a GEMM topology or a model on the SAMM
// systolic-array model and on the SAMM ASIC (docs/SIM.md). Thin: parsing and printing only.
// (`sim arap`, the reconfigurable array, is registered here too once it exists.)
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "core/error.h"
#include "models/model.h"
#include "sim/gemm_shapes.h"
#include "sim/samm_asic.h"
#include "sim/sim_report.h"
#include "sim/systolic.h"
#include "sim/topology_csv.h"

namespace edgerun::cli {

namespace {

struct SystolicArgs {
  std::string topology, model, attention = "softmax", array = "32x32", dataflow = "os", out;
  std::string precision = "q16";
  int64_t seq = 0;
  int64_t ifmap_kb = sim::kNoStallSramKb, filter_kb = sim::kNoStallSramKb,
          ofmap_kb = sim::kNoStallSramKb;
  double bandwidth = 0;
  double beta = -1;  // < 0: the energy table's value
  bool json = false;
};

struct SammArgs {
  std::string model, out, precision = "q16";
  double beta = -1;
  bool json = false;
};

sim::EnergyParams energy_from(const std::string& precision, double beta) {
  sim::EnergyParams e = sim::energy_params(sim::parse_precision(precision));
  if (beta != -1.0) {  // -1: not given
    if (!(beta >= 0 && beta <= 1)) ER_THROW(InputError, "--beta ", beta, ": must be in [0, 1]");
    e.beta = beta;
  }
  return e;
}

void print_systolic_text(const sim::SystolicReport& r, const std::string& source, double sim_us) {
  const sim::SystolicConfig& c = r.cfg;
  std::printf("systolic %lldx%lld %s, %s, on %s: %zu GEMMs costed in %.1f us\n",
              (long long)c.rows, (long long)c.cols, sim::dataflow_name(c.dataflow),
              sim::precision_name(r.energy.precision), source.c_str(), r.gemms.size(), sim_us);
  std::printf("%5s  %-44s %7s %7s %7s %8s %12s %8s %8s\n", "id", "gemm", "M", "N", "K", "folds",
              "cycles", "util %", "map %");
  const size_t shown = std::min<size_t>(r.gemms.size(), 40);
  for (size_t i = 0; i < shown; ++i) {
    const sim::GemmCost& g = r.gemms[i];
    std::string name = g.gemm.name.size() > 44 ? "..." + g.gemm.name.substr(g.gemm.name.size() - 41)
                                               : g.gemm.name;
    std::printf("%5zu  %-44s %7lld %7lld %7lld %8lld %12lld %8.2f %8.2f\n", i, name.c_str(),
                (long long)g.gemm.m, (long long)g.gemm.n, (long long)g.gemm.k,
                (long long)g.geo.folds, (long long)g.total_cycles, g.overall_util_pct,
                g.mapping_eff_pct);
  }
  if (shown < r.gemms.size())
    std::printf("  ... %zu more rows (all in COMPUTE_REPORT.csv / --json)\n",
                r.gemms.size() - shown);
  const sim::EnergyBreakdown& e = r.total_energy;
  std::printf("total: %lld cycles (%lld stall), %lld MACs, utilization %.2f%%\n",
              (long long)r.total_cycles, (long long)r.stall_cycles, (long long)r.macs,
              r.overall_util_pct);
  std::printf("SRAM %lld words, DRAM %lld words\n", (long long)r.mem.sram_total(),
              (long long)r.mem.dram_total());
  std::printf("energy: %.4g pJ without clock gating, %.4g pJ gated (beta %.2f): %.2f%% less\n",
              e.total_ungated(), e.total_gated(), r.energy.beta,
              e.total_ungated() > 0 ? (e.total_ungated() - e.total_gated()) / e.total_ungated() * 100
                                    : 0.0);
}

int run_systolic(const SystolicArgs& a) {
  if (a.topology.empty() == a.model.empty())
    ER_THROW(InputError, "sim systolic: give exactly one of --topology FILE.csv or --model DIR");
  sim::SystolicConfig cfg;
  sim::ArrayShape shape = sim::parse_array_shape(a.array);
  cfg.rows = shape.rows;
  cfg.cols = shape.cols;
  cfg.dataflow = sim::parse_dataflow(a.dataflow);
  cfg.ifmap_sram_kb = a.ifmap_kb;
  cfg.filter_sram_kb = a.filter_kb;
  cfg.ofmap_sram_kb = a.ofmap_kb;
  cfg.bandwidth = a.bandwidth;
  cfg.validate();
  const sim::EnergyParams e = energy_from(a.precision, a.beta);

  std::vector<sim::LayerGemm> gemms;
  std::string source;
  nlohmann::json workload;
  if (!a.topology.empty()) {
    for (GemmShape& g : sim::read_topology_csv(a.topology)) gemms.push_back({"", std::move(g)});
    source = a.topology;
  } else {
    ModelGraph mg = build_model(a.model);
    const int64_t T = sim::model_tokens(mg.info, a.seq);
    sim::ModelWorkload w = sim::graph_workload(mg.graph, T, a.attention);
    gemms = std::move(w.gemms);
    source = a.model + " (" + std::to_string(T) + " tokens, " + a.attention + " attention)";
    workload = {{"model", a.model},           {"tokens", T},
                {"attention", a.attention},   {"attention_ops", w.n_attention},
                {"col_adds", w.col_adds},     {"elementwise_ops", w.elementwise},
                {"exps", w.exps}};
  }
  const auto t0 = std::chrono::steady_clock::now();
  sim::SystolicReport r = sim::simulate_systolic(cfg, gemms, e);
  const double sim_us =
      std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
  nlohmann::json j = sim::systolic_json(r);
  j["source"] = source;
  if (!workload.is_null()) j["workload"] = workload;
  j["sim_time_us"] = sim_us;
  if (!a.out.empty()) {
    // Both files are complete before either is renamed into place.
    sim::write_report_files(a.out, {{"COMPUTE_REPORT.csv", sim::compute_report_csv(r)},
                                    {"SIM_REPORT.json", j.dump(2) + "\n"}});
  }
  if (a.json)
    std::printf("%s\n", j.dump(2).c_str());
  else
    print_systolic_text(r, source, sim_us);
  return 0;
}

int run_samm(const SammArgs& a) {
  const sim::EnergyParams e = energy_from(a.precision, a.beta);
  ModelGraph mg = build_model(a.model);
  const int64_t T = sim::model_tokens(mg.info, 0);
  sim::SammReport r = sim::simulate_samm(mg, T, sim::SammConfig{}, e);
  nlohmann::json j = sim::samm_json(r);
  if (!a.out.empty()) sim::write_report_files(a.out, {{"SAMM_REPORT.json", j.dump(2) + "\n"}});
  if (a.json)
    std::printf("%s\n", j.dump(2).c_str());
  else
    std::printf("%s", sim::samm_text(r).c_str());
  return 0;
}

}  // namespace

Runner add_sim(CLI::App& app) {
  auto sa = std::make_shared<SystolicArgs>();
  auto ma = std::make_shared<SammArgs>();
  CLI::App* sim = app.add_subcommand("sim", "Cost a model or GEMM list on accelerator models");
  sim->require_subcommand(1);

  CLI::App* s = sim->add_subcommand(
      "systolic", "R x C systolic array (os/ws/is): cycles as SCALE-Sim counts them, traffic, energy");
  s->add_option("--topology", sa->topology, "SCALE-Sim GEMM topology CSV (Layer, M, N, K,)");
  s->add_option("--model", sa->model, "Hugging Face model folder (ViT, BERT, GPT-2)");
  s->add_option("--seq", sa->seq, "tokens per sequence (BERT, GPT-2; a ViT's come from its image)");
  s->add_option("--attention", sa->attention, "attention variant: softmax | taylor | sima")
      ->capture_default_str();
  s->add_option("--array", sa->array, "array shape ROWSxCOLS")->capture_default_str();
  s->add_option("--dataflow", sa->dataflow, "os | ws | is")->capture_default_str();
  s->add_option("--out", sa->out, "write COMPUTE_REPORT.csv and SIM_REPORT.json here");
  s->add_option("--ifmap-sram", sa->ifmap_kb, "ifmap SRAM, KB (default: no-stall size)");
  s->add_option("--filter-sram", sa->filter_kb, "filter SRAM, KB (default: no-stall size)");
  s->add_option("--ofmap-sram", sa->ofmap_kb, "ofmap SRAM, KB (default: no-stall size)");
  s->add_option("--bandwidth", sa->bandwidth, "DRAM words per cycle (default 0: unlimited)");
  s->add_option("--precision", sa->precision, "q16 | fp32 (word size and energies)")
      ->capture_default_str();
  s->add_option("--beta", sa->beta, "idle energy of a clock-gated PE, fraction of active");
  s->add_flag("--json", sa->json, "print the JSON report");

  CLI::App* m = sim->add_subcommand(
      "samm", "The SAMM ViT ASIC (17x32, 16x32, 17x1 arrays): Taylor attention, gating sweep");
  m->add_option("--model", ma->model, "Hugging Face ViT (or BERT) folder")->required();
  m->add_option("--out", ma->out, "write SAMM_REPORT.json here");
  m->add_option("--precision", ma->precision, "q16 | fp32")->capture_default_str();
  m->add_option("--beta", ma->beta, "idle energy of a clock-gated PE, fraction of active");
  m->add_flag("--json", ma->json, "print the JSON report");

  return [sa, ma, s, m]() -> int {
    if (s->parsed()) return run_systolic(*sa);
    if (m->parsed()) return run_samm(*ma);
    return 2;
  };
}

}  // namespace edgerun::cli
