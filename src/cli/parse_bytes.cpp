// parse_bytes: the budget syntax shared by the subcommands.
#include <cmath>
#include <string>

#include "cli/commands.h"

namespace edgerun::cli {

uint64_t parse_bytes(const std::string& s, uint64_t percent_base) {
  size_t used = 0;
  double v = 0;
  try {
    v = std::stod(s, &used);
  } catch (const std::exception&) {
    fail<InputError>("\"", s, "\" is not a size (examples: 300M, 1.5G, 4096, 25%)");
  }
  std::string suf = s.substr(used);
  double mul = 1;
  if (suf.empty() || suf == "B") mul = 1;
  else if (suf == "K" || suf == "KiB" || suf == "k") mul = 1024.0;
  else if (suf == "M" || suf == "MiB") mul = 1024.0 * 1024;
  else if (suf == "G" || suf == "GiB") mul = 1024.0 * 1024 * 1024;
  else if (suf == "%") {
    if (percent_base == 0) fail<InputError>("\"", s, "\": a percentage needs the model's weight size");
    mul = percent_base / 100.0;
  } else {
    fail<InputError>("\"", s, "\": unknown size suffix \"", suf, "\" (use K, M, G or %)");
  }
  double bytes = v * mul;
  if (!(bytes >= 1) || !std::isfinite(bytes) || bytes > 1e18)
    fail<InputError>("\"", s, "\" is not a usable size");
  return static_cast<uint64_t>(std::llround(bytes));
}

double parse_percent(const std::string& s) {
  size_t used = 0;
  double v = 0;
  try {
    v = std::stod(s, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || s.substr(used) != "%" || !(v > 0) || v > 1e6)
    fail<InputError>("\"", s, "\" is not a percentage (example: 10%)");
  return v / 100.0;
}

void set_budget(SessionOptions& so, const std::string& budget) {
  if (budget.empty()) return;
  if (budget.back() == '%') so.budget_fraction = parse_percent(budget);
  else so.budget_bytes = parse_bytes(budget, 0);
}

}  // namespace edgerun::cli
