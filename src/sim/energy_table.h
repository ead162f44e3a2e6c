// The one table of per-action energies used by the accelerator models, each entry with its
// source and process node, and the derived per-word / per-MAC figures the models price counts
// with. Leaves out: leakage (static) energy, wires and the clock tree outside the PEs, and any
// scaling between process nodes (the figures are 45 nm; the SAMM chip was built at 180/90 nm).
#pragma once
#include <span>
#include <string>
#include <string_view>

#include "edgerun/types.h"

namespace edgerun::sim {

struct EnergyEntry {
  const char* key;
  double value;      // the figure edgerun uses
  double low, high;  // the range the source gives (both == value for a single figure)
  const char* unit;  // "pJ" per action, or "fraction"
  const char* what;
  const char* node;
  const char* source;
};

std::span<const EnergyEntry> energy_table();
// The entry named `key`; an unknown key is a bug (InternalError).
const EnergyEntry& energy_entry(std::string_view key);

// Per-action energies for one arithmetic precision (q16 or fp32; the table has no bf16 rows:
// UnsupportedError), derived from the table.
struct EnergyParams {
  Precision precision = Precision::Q16;
  int64_t word_bytes = 2;     // one operand word in SRAM / DRAM
  double mult_pj = 0;         // one multiply
  double add_pj = 0;          // one add (accumulate, column accumulator, elementwise)
  double mac_pj = 0;          // mult + add: one PE active for one cycle
  double sram_word_pj = 0;    // one word read or written in an 8 KB-class SRAM
  double dram_word_pj = 0;    // one word read or written in DRAM
  // An idle, clock-gated PE burns beta * mac_pj per cycle; an idle PE without gating burns
  // ungated_idle * mac_pj (1: DESIGN.md's model, a clocked PE switches its registers anyway).
  double beta = 0;
  double ungated_idle = 1;
};
EnergyParams energy_params(Precision p);

}  // namespace edgerun::sim
