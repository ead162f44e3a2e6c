// parse_bytes: the size syntax shared by the subcommands (--budget, --io-chunk, iobench's sizes).
#include <cctype>
#include <cmath>
#include <string>

#include "cli/commands.h"

namespace edgerun::cli {

namespace {
// The unit's multiplier, case-insensitive: K/M/G/T and KiB/MiB/GiB/TiB are powers of 1024,
// KB/MB/GB/TB powers of 1000 (the convention of `ls -h` and of SI); 0 when unknown.
double unit_multiplier(std::string u) {
  for (char& c : u) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (u.empty() || u == "b") return 1;
  static const char* const kPrefixes = "kmgt";
  const size_t p = std::string_view(kPrefixes).find(u[0]);
  if (p == std::string_view::npos) return 0;
  const std::string rest = u.substr(1);
  const int e = static_cast<int>(p) + 1;
  if (rest.empty() || rest == "ib") return std::pow(1024.0, e);
  if (rest == "b") return std::pow(1000.0, e);
  return 0;
}

// "12", "1.5", ".5": digits with at most one '.', nothing else (no sign, exponent, hex, spaces).
size_t number_prefix(const std::string& s) {
  size_t i = 0, digits = 0;
  bool dot = false;
  for (; i < s.size(); ++i) {
    if (std::isdigit(static_cast<unsigned char>(s[i]))) ++digits;
    else if (s[i] == '.' && !dot) dot = true;
    else break;
  }
  return digits ? i : 0;
}
}  // namespace

const char* const kSizeHelp =
    "Sizes: bytes, or a number with a unit, case-insensitive: K M G T = KiB MiB GiB TiB (powers of "
    "1024), KB MB GB TB (powers of 1000)";

uint64_t parse_bytes(const std::string& s, uint64_t percent_base) {
  const size_t used = number_prefix(s);
  if (used == 0) fail<InputError>("\"", s, "\" is not a size (examples: 300M, 1.5GiB, 500MB, 4096, 25%)");
  const double v = std::stod(s.substr(0, used));
  const std::string suf = s.substr(used);
  double mul = 1;
  if (suf == "%") {
    if (percent_base == 0) fail<InputError>("\"", s, "\": a percentage needs the model's weight size");
    mul = static_cast<double>(percent_base) / 100.0;
  } else if ((mul = unit_multiplier(suf)) == 0) {
    fail<InputError>("\"", s, "\": unknown size unit \"", suf, "\" (K, M, G, T = KiB ... TiB; KB, MB, GB, TB; or %)");
  }
  const double bytes = v * mul;
  if (bytes > 1e18) fail<InputError>("\"", s, "\" is larger than any device's memory or storage");
  if (!(bytes >= 1)) fail<InputError>("\"", s, "\" is less than one byte");
  return static_cast<uint64_t>(std::llround(bytes));
}

double parse_percent(const std::string& s) {
  const size_t used = number_prefix(s);
  const double v = used ? std::stod(s.substr(0, used)) : 0;
  if (used == 0 || s.substr(used) != "%" || !(v > 0) || v > 1e6)
    fail<InputError>("\"", s, "\" is not a percentage (example: 10%)");
  return v / 100.0;
}

void set_budget(SessionOptions& so, const std::optional<std::string>& budget) {
  if (!budget) return;
  const std::string& b = *budget;
  if (b.empty()) fail<InputError>("--budget is empty; leave it out to run without a budget");
  if (b.back() == '%') {
    so.budget_fraction = parse_percent(b);
    return;
  }
  if (number_prefix(b) == b.size() && std::stod(b) == 0)
    fail<InputError>("--budget ", b, ": a budget of 0 bytes holds no layer; give a size (300M, 10%) or leave "
                     "--budget out to run without one");
  so.budget_bytes = parse_bytes(b, 0);
}

}  // namespace edgerun::cli
