// COMPUTE_REPORT.csv and JSON for the systolic model (see sim_report.h).
#include "sim/sim_report.h"

#include <charconv>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "core/error.h"

namespace edgerun::sim {

namespace fs = std::filesystem;

namespace {

// SCALE-Sim's compute-report columns (v2 names and order; v3 adds "Total Cycles (incl.
// prefetch)" after LayerID, which edgerun does not model), then edgerun's.
constexpr const char* kColumns[] = {
    "LayerID", "Total Cycles", "Stall Cycles", "Overall Util %", "Mapping Efficiency %",
    "Compute Util %",
    // edgerun's own columns
    "Layer Name", "Model Layer", "M", "N", "K", "Folds", "MACs", "SRAM IFMAP Reads",
    "SRAM Filter Reads", "SRAM OFMAP Writes", "SRAM OFMAP Reads", "DRAM IFMAP Reads",
    "DRAM Filter Reads", "DRAM OFMAP Writes", "DRAM OFMAP Reads", "Energy MAC pJ",
    "Energy Idle PE pJ (no gating)", "Energy Idle PE pJ (gated)", "Energy SRAM pJ",
    "Energy DRAM pJ", "Energy Total pJ (no gating)", "Energy Total pJ (gated)"};

std::string csv_name(const std::string& s) {
  std::string out = s.empty() ? "-" : s;
  for (char& c : out)
    if (c == ',' || c == '\n' || c == '\r') c = ';';
  return out;
}

}  // namespace

std::string format_double(double v) {
  char buf[64];
  auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v);
  ER_CHECK(ec == std::errc());
  return std::string(buf, p);
}

std::string compute_report_header() {
  std::string h;
  for (const char* c : kColumns) {
    if (!h.empty()) h += ", ";
    h += c;
  }
  return h + ",\n";
}

std::string compute_report_csv(const SystolicReport& r) {
  std::string out = compute_report_header();
  for (size_t i = 0; i < r.gemms.size(); ++i) {
    const GemmCost& c = r.gemms[i];
    const MemoryCounts& m = c.mem;
    const std::string fields[] = {
        std::to_string(i), std::to_string(c.total_cycles), std::to_string(c.stall_cycles),
        format_double(c.overall_util_pct), format_double(c.mapping_eff_pct),
        format_double(c.compute_util_pct), csv_name(c.gemm.name), csv_name(c.layer),
        std::to_string(c.gemm.m), std::to_string(c.gemm.n), std::to_string(c.gemm.k),
        std::to_string(c.geo.folds), std::to_string(c.macs), std::to_string(m.sram_ifmap_reads),
        std::to_string(m.sram_filter_reads), std::to_string(m.sram_ofmap_writes),
        std::to_string(m.sram_ofmap_reads), std::to_string(m.dram_ifmap_reads),
        std::to_string(m.dram_filter_reads), std::to_string(m.dram_ofmap_writes),
        std::to_string(m.dram_ofmap_reads), format_double(c.energy.mac),
        format_double(c.energy.idle_ungated), format_double(c.energy.idle_gated),
        format_double(c.energy.sram), format_double(c.energy.dram),
        format_double(c.energy.total_ungated()), format_double(c.energy.total_gated())};
    static_assert(std::size(fields) == std::size(kColumns));
    for (size_t f = 0; f < std::size(fields); ++f) {
      if (f) out += ", ";
      out += fields[f];
    }
    out += ",\n";
  }
  return out;
}

nlohmann::json energy_json(const EnergyBreakdown& e) {
  return {{"mac_pj", e.mac},
          {"idle_pe_no_gating_pj", e.idle_ungated},
          {"idle_pe_gated_pj", e.idle_gated},
          {"other_units_pj", e.other},
          {"sram_pj", e.sram},
          {"dram_pj", e.dram},
          {"total_no_gating_pj", e.total_ungated()},
          {"total_gated_pj", e.total_gated()}};
}

nlohmann::json energy_table_json() {
  nlohmann::json t = nlohmann::json::array();
  for (const EnergyEntry& e : energy_table())
    t.push_back({{"key", e.key}, {"value", e.value}, {"low", e.low}, {"high", e.high},
                 {"unit", e.unit}, {"what", e.what}, {"node", e.node}, {"source", e.source}});
  return t;
}

static nlohmann::json mem_json(const MemoryCounts& m) {
  return {{"sram_ifmap_reads", m.sram_ifmap_reads},   {"sram_filter_reads", m.sram_filter_reads},
          {"sram_ofmap_writes", m.sram_ofmap_writes}, {"sram_ofmap_reads", m.sram_ofmap_reads},
          {"dram_ifmap_reads", m.dram_ifmap_reads},   {"dram_filter_reads", m.dram_filter_reads},
          {"dram_ofmap_writes", m.dram_ofmap_writes}, {"dram_ofmap_reads", m.dram_ofmap_reads}};
}

nlohmann::json systolic_json(const SystolicReport& r) {
  nlohmann::json j;
  const SystolicConfig& c = r.cfg;
  j["array"] = {{"rows", c.rows},
                {"cols", c.cols},
                {"dataflow", dataflow_name(c.dataflow)},
                {"ifmap_sram_kb", c.ifmap_sram_kb},
                {"filter_sram_kb", c.filter_sram_kb},
                {"ofmap_sram_kb", c.ofmap_sram_kb},
                {"bandwidth_words_per_cycle", c.bandwidth},
                {"precision", to_string(r.energy.precision)},
                {"word_bytes", r.energy.word_bytes},
                {"beta", r.energy.beta}};
  nlohmann::json layers = nlohmann::json::array();
  for (size_t i = 0; i < r.gemms.size(); ++i) {
    const GemmCost& g = r.gemms[i];
    layers.push_back({{"id", i},
                      {"name", g.gemm.name},
                      {"layer", g.layer},
                      {"m", g.gemm.m},
                      {"n", g.gemm.n},
                      {"k", g.gemm.k},
                      {"folds", g.geo.folds},
                      {"row_folds", g.geo.row_folds},
                      {"col_folds", g.geo.col_folds},
                      {"cycles_per_fold", g.geo.tau},
                      {"total_cycles", g.total_cycles},
                      {"stall_cycles", g.stall_cycles},
                      {"overall_util_pct", g.overall_util_pct},
                      {"mapping_efficiency_pct", g.mapping_eff_pct},
                      {"compute_util_pct", g.compute_util_pct},
                      {"macs", g.macs},
                      {"pe_cycles", g.pe_cycles},
                      {"memory_words", mem_json(g.mem)},
                      {"energy", energy_json(g.energy)}});
  }
  j["layers"] = std::move(layers);
  const double ungated = r.total_energy.total_ungated(), gated = r.total_energy.total_gated();
  j["total"] = {{"total_cycles", r.total_cycles},
                {"stall_cycles", r.stall_cycles},
                {"macs", r.macs},
                {"pe_cycles", r.pe_cycles},
                {"overall_util_pct", r.overall_util_pct},
                {"memory_words", mem_json(r.mem)},
                {"energy", energy_json(r.total_energy)},
                {"gating_saving_pct", ungated > 0 ? (ungated - gated) / ungated * 100.0 : 0.0}};
  j["energy_table"] = energy_table_json();
  return j;
}

void write_report_files(const std::string& dir,
                        const std::vector<std::pair<std::string, std::string>>& files) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) ER_THROW(IoError, dir, ": cannot create the output folder: ", ec.message());
  std::vector<fs::path> tmps;
  auto cleanup = [&] {
    std::error_code ignored;
    for (const fs::path& t : tmps) fs::remove(t, ignored);
  };
  for (const auto& [name, text] : files) {
    const fs::path tmp = fs::path(dir) / (name + ".tmp" + std::to_string(::getpid()));
    tmps.push_back(tmp);
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (f) {
      f << text;
      f.flush();
    }
    if (!f) {
      cleanup();
      ER_THROW(IoError, tmp.string(), ": cannot write the report");
    }
  }
  for (size_t i = 0; i < files.size(); ++i) {
    const fs::path final_path = fs::path(dir) / files[i].first;
    fs::rename(tmps[i], final_path, ec);
    if (ec) {
      cleanup();
      ER_THROW(IoError, final_path.string(), ": cannot rename into place: ", ec.message());
    }
  }
}

}  // namespace edgerun::sim
