// Energy figures for the accelerator models: ONE table, each entry sourced. Horowitz's 45 nm
// figures ("Computing's energy problem (and what we can do about it)", ISSCC 2014, the energy
// table of the keynote) are the base. Entries that are not measured anywhere say so.
#include "sim/energy_table.h"

#include <array>

#include "core/error.h"

namespace edgerun::sim {

namespace {

constexpr const char* kHorowitz = "M. Horowitz, ISSCC 2014 keynote, 45 nm energy table";

const std::array<EnergyEntry, 8> kTable = {{
    {"add16", 0.05, 0.03, 0.1, "pJ", "16-bit integer add (8-bit add 0.03 pJ, 32-bit add 0.1 pJ)",
     "45 nm", "Horowitz ISSCC 2014; 16-bit interpolated between the 8- and 32-bit figures"},
    {"mult16", 1.0, 0.2, 3.1, "pJ",
     "16-bit integer multiply (8-bit 0.2 pJ, 32-bit 3.1 pJ; ~quadratic in width)", "45 nm",
     "Horowitz ISSCC 2014; 16-bit interpolated (16-bit float mult is 1.1 pJ in the same table)"},
    {"fadd32", 0.9, 0.9, 0.9, "pJ", "32-bit float add", "45 nm", kHorowitz},
    {"fmul32", 3.7, 3.7, 3.7, "pJ", "32-bit float multiply", "45 nm", kHorowitz},
    {"sram64", 10.0, 10.0, 10.0, "pJ", "one 64-bit access to an 8 KB SRAM (32 KB: 20 pJ)",
     "45 nm", kHorowitz},
    {"dram64", 1300.0, 1300.0, 2600.0, "pJ",
     "one 64-bit DRAM access (1.3-2.6 nJ; edgerun uses the low end, so DRAM shares are lower "
     "bounds)",
     "45 nm", kHorowitz},
    {"gated_idle_beta", 0.1, 0.0, 1.0, "fraction",
     "energy of an idle clock-gated PE per cycle, as a fraction of an active PE's (beta)",
     "any",
     "edgerun assumption: neither the SAMM paper nor Horowitz gives a per-PE figure; reports "
     "sweep beta over [0, 1]"},
    {"ungated_idle", 1.0, 1.0, 1.0, "fraction",
     "energy of an idle PE without clock gating, as a fraction of an active PE's", "any",
     "DESIGN.md model (upper bound: the clocked PE's registers and datapath switch anyway)"},
}};

}  // namespace

std::span<const EnergyEntry> energy_table() { return {kTable.data(), kTable.size()}; }

const EnergyEntry& energy_entry(std::string_view key) {
  for (const EnergyEntry& e : kTable)
    if (key == e.key) return e;
  ER_CHECK(false, "no energy table entry '", std::string(key), "'");
  return kTable[0];
}

EnergyParams energy_params(Precision p) {
  EnergyParams e;
  e.precision = p;
  if (p == Precision::Bf16) ER_THROW(UnsupportedError, "the energy table prices q16 and fp32 arithmetic, not bf16");
  if (p == Precision::Q16) {
    e.word_bytes = 2;
    e.mult_pj = energy_entry("mult16").value;
    e.add_pj = energy_entry("add16").value;
  } else {
    e.word_bytes = 4;
    e.mult_pj = energy_entry("fmul32").value;
    e.add_pj = energy_entry("fadd32").value;
  }
  e.mac_pj = e.mult_pj + e.add_pj;
  // A 64-bit access moves 64 / (8 * word_bytes) words; price each word at its share.
  const double words_per_access = 64.0 / (8.0 * static_cast<double>(e.word_bytes));
  e.sram_word_pj = energy_entry("sram64").value / words_per_access;
  e.dram_word_pj = energy_entry("dram64").value / words_per_access;
  e.beta = energy_entry("gated_idle_beta").value;
  e.ungated_idle = energy_entry("ungated_idle").value;
  return e;
}

}  // namespace edgerun::sim
