// The public entry points of edgerun/sim.h for the systolic array and the SAMM ASIC: read the
// workload (a topology CSV or a model's graph), cost it, render the report, write its files.
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "edgerun/sim.h"
#include "models/model.h"
#include "sim/gemm_shapes.h"
#include "sim/samm_asic.h"
#include "sim/sim_report.h"
#include "sim/systolic.h"
#include "sim/text.h"
#include "sim/topology_csv.h"

namespace edgerun::sim {

namespace {
// The accelerators cost the model's own GEMMs, not the runtime's streaming tiles.
BuildOptions whole_model() {
  BuildOptions b;
  b.tile_bytes = 0;
  return b;
}

EnergyParams energy_from(Precision precision, double beta) {
  EnergyParams e = energy_params(precision);
  if (beta != -1.0) {  // -1: not given
    if (!(beta >= 0 && beta <= 1)) ER_THROW(InputError, "--beta ", beta, ": must be in [0, 1]");
    e.beta = beta;
  }
  return e;
}

std::string systolic_text(const SystolicReport& r, const std::string& source, double sim_us) {
  const SystolicConfig& c = r.cfg;
  std::string s;
  add(s, "systolic %lldx%lld %s, %s, on %s: %zu GEMMs costed in %.1f us\n", (long long)c.rows, (long long)c.cols,
      dataflow_name(c.dataflow), to_string(r.energy.precision), source.c_str(), r.gemms.size(), sim_us);
  add(s, "%5s  %-44s %7s %7s %7s %8s %12s %8s %8s\n", "id", "gemm", "M", "N", "K", "folds", "cycles", "util %",
      "map %");
  const size_t shown = std::min<size_t>(r.gemms.size(), 40);
  for (size_t i = 0; i < shown; ++i) {
    const GemmCost& g = r.gemms[i];
    std::string name = g.gemm.name.size() > 44 ? "..." + g.gemm.name.substr(g.gemm.name.size() - 41) : g.gemm.name;
    add(s, "%5zu  %-44s %7lld %7lld %7lld %8lld %12lld %8.2f %8.2f\n", i, name.c_str(), (long long)g.gemm.m,
        (long long)g.gemm.n, (long long)g.gemm.k, (long long)g.geo.folds, (long long)g.total_cycles,
        g.overall_util_pct, g.mapping_eff_pct);
  }
  if (shown < r.gemms.size())
    add(s, "  ... %zu more rows (all in COMPUTE_REPORT.csv / --json)\n", r.gemms.size() - shown);
  const EnergyBreakdown& e = r.total_energy;
  add(s, "total: %lld cycles (%lld stall), %lld MACs, utilization %.2f%%\n", (long long)r.total_cycles,
      (long long)r.stall_cycles, (long long)r.macs, r.overall_util_pct);
  add(s, "SRAM %lld words, DRAM %lld words\n", (long long)r.mem.sram_total(), (long long)r.mem.dram_total());
  add(s, "energy: %.4g pJ without clock gating, %.4g pJ gated (beta %.2f): %.2f%% less\n", e.total_ungated(),
      e.total_gated(), r.energy.beta,
      e.total_ungated() > 0 ? (e.total_ungated() - e.total_gated()) / e.total_ungated() * 100 : 0.0);
  return s;
}
}  // namespace

SimOutput run_systolic(const SystolicRequest& a) {
  if (a.topology.empty() == a.model.empty())
    ER_THROW(InputError, "sim systolic: give exactly one of --topology FILE.csv or --model DIR");
  SystolicConfig cfg;
  ArrayShape shape = parse_array_shape(a.array);
  cfg.rows = shape.rows;
  cfg.cols = shape.cols;
  cfg.dataflow = parse_dataflow(a.dataflow);
  cfg.ifmap_sram_kb = a.ifmap_kb;
  cfg.filter_sram_kb = a.filter_kb;
  cfg.ofmap_sram_kb = a.ofmap_kb;
  cfg.bandwidth = a.bandwidth;
  cfg.validate();
  const EnergyParams e = energy_from(a.precision, a.beta);

  std::vector<LayerGemm> gemms;
  std::string source;
  nlohmann::json workload;
  if (!a.topology.empty()) {
    for (GemmShape& g : read_topology_csv(a.topology)) gemms.push_back({"", std::move(g)});
    source = a.topology;
  } else {
    ModelGraph mg = build_model(a.model, whole_model());
    if (mg.graph.nd) {
      if (a.seq) ER_THROW(InputError, "--seq applies to BERT and GPT-2; give an ONNX model's shapes with --input-shape");
      ER_CHECK(a.bind_onnx, "sim systolic on an ONNX model needs bind_onnx");
      a.bind_onnx(mg, a.input_shapes);
      ModelWorkload w = nd_workload(mg.graph);
      gemms = std::move(w.gemms);
      std::string shapes;
      for (ValueId v : mg.graph.nd_inputs) {
        std::string d;
        for (int64_t x : mg.graph.values[v].dims) d += (d.empty() ? "" : "x") + std::to_string(x);
        shapes += (shapes.empty() ? "" : ", ") + mg.graph.values[v].name + " " + d;
      }
      source = a.model + " (" + shapes + ")";
      workload = {{"model", a.model}, {"inputs", shapes}};
    } else {
      if (!a.input_shapes.empty()) ER_THROW(InputError, "--input-shape applies to ONNX models");
      const int64_t T = model_tokens(mg.info, a.seq);
      ModelWorkload w = graph_workload(mg.graph, T, a.attention);
      gemms = std::move(w.gemms);
      source = a.model + " (" + std::to_string(T) + " tokens, " + to_string(a.attention) + " attention)";
      workload = {{"model", a.model},         {"tokens", T},          {"attention", to_string(a.attention)},
                  {"attention_ops", w.n_attention}, {"col_adds", w.col_adds}, {"elementwise_ops", w.elementwise},
                  {"exps", w.exps}};
    }
  }
  const auto t0 = std::chrono::steady_clock::now();
  SystolicReport r = simulate_systolic(cfg, gemms, e);
  const double sim_us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
  nlohmann::json j = systolic_json(r);
  j["source"] = source;
  if (!workload.is_null()) j["workload"] = workload;
  j["sim_time_us"] = sim_us;
  if (!a.out.empty()) {
    // Both files are complete before either is renamed into place.
    write_report_files(a.out, {{"COMPUTE_REPORT.csv", compute_report_csv(r)}, {"SIM_REPORT.json", j.dump(2) + "\n"}});
  }
  return {systolic_text(r, source, sim_us), j.dump(2)};
}

SimOutput run_samm(const SammRequest& a) {
  const EnergyParams e = energy_from(a.precision, a.beta);
  ModelGraph mg = build_model(a.model, whole_model());
  const int64_t T = model_tokens(mg.info, a.seq);
  SammReport r = simulate_samm(mg, T, SammConfig{}, e);
  nlohmann::json j = samm_json(r);
  if (!a.out.empty()) write_report_files(a.out, {{"SAMM_REPORT.json", j.dump(2) + "\n"}});
  return {samm_text(r), j.dump(2)};
}

}  // namespace edgerun::sim
