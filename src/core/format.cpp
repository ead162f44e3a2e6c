#include "edgerun/format.h"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <string_view>

#include "core/error.h"

namespace edgerun {

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


uint64_t parse_bytes(const std::string& s, uint64_t percent_base) {
  const size_t used = number_prefix(s);
  if (used == 0) ER_THROW(InputError, "\"", s, "\" is not a size (examples: 300M, 1.5GiB, 500MB, 4096, 25%)");
  const double v = std::stod(s.substr(0, used));
  const std::string suf = s.substr(used);
  double mul = 1;
  if (suf == "%") {
    if (percent_base == 0) ER_THROW(InputError, "\"", s, "\": a percentage needs the model's weight size");
    mul = static_cast<double>(percent_base) / 100.0;
  } else if ((mul = unit_multiplier(suf)) == 0) {
    ER_THROW(InputError, "\"", s, "\": unknown size unit \"", suf, "\" (K, M, G, T = KiB ... TiB; KB, MB, GB, TB; or %)");
  }
  const double bytes = v * mul;
  if (bytes > 1e18) ER_THROW(InputError, "\"", s, "\" is larger than any device's memory or storage");
  if (!(bytes >= 1)) ER_THROW(InputError, "\"", s, "\" is less than one byte");
  return static_cast<uint64_t>(std::llround(bytes));
}

double parse_percent(const std::string& s) {
  const size_t used = number_prefix(s);
  const double v = used ? std::stod(s.substr(0, used)) : 0;
  if (used == 0 || s.substr(used) != "%" || !(v > 0) || v > 1e6)
    ER_THROW(InputError, "\"", s, "\" is not a percentage (example: 10%)");
  return v / 100.0;
}



std::string format_bytes(double b) {
  char buf[64];
  if (b >= 1073741824.0) std::snprintf(buf, sizeof buf, "%.2f GiB", b / 1073741824.0);
  else if (b >= 1048576.0) std::snprintf(buf, sizeof buf, "%.2f MiB", b / 1048576.0);
  else if (b >= 1024.0) std::snprintf(buf, sizeof buf, "%.2f KiB", b / 1024.0);
  else std::snprintf(buf, sizeof buf, "%.0f B", b);
  return buf;
}

std::string format_bytes_exact(uint64_t b) {
  return format_bytes(static_cast<double>(b)) + " (" + std::to_string(b) + " bytes)";
}

}  // namespace edgerun
