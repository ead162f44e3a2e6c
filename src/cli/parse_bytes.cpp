// The --budget option of run and plan, and the size syntax's help text (parse_bytes: edgerun/format.h).
#include <cctype>
#include <cmath>
#include <string>

#include "cli/commands.h"

namespace edgerun::cli {

const char* const kSizeHelp =
    "Sizes: bytes, or a number with a unit, case-insensitive: K M G T = KiB MiB GiB TiB (powers of "
    "1024), KB MB GB TB (powers of 1000)";

void set_budget(SessionOptions& so, const std::optional<std::string>& budget) {
  if (!budget) return;
  const std::string& b = *budget;
  if (b.empty()) fail<InputError>("--budget is empty; leave it out to run without a budget");
  if (b.back() == '%') {
    so.budget_fraction = parse_percent(b);
    return;
  }
  if (b.find_first_not_of("0.") == std::string::npos && b.find('0') != std::string::npos)
    fail<InputError>("--budget ", b, ": a budget of 0 bytes holds no layer; give a size (300M, 10%) or leave "
                     "--budget out to run without one");
  so.budget_bytes = parse_bytes(b, 0);
}

}  // namespace edgerun::cli
