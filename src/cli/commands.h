// Subcommand registration for the edgerun binary. Each cmd_*.cpp adds one subcommand to the
// CLI11 app and returns the function that runs it after parsing.
#pragma once
#include <CLI/CLI.hpp>
#include <cstdint>
#include <functional>
#include <sstream>
#include <string>
#include <utility>

#include "edgerun/edgerun.h"
#include "edgerun/errors.h"

namespace edgerun::cli {

using Runner = std::function<int()>;

Runner add_run(CLI::App& app);
Runner add_info(CLI::App& app);
Runner add_plan(CLI::App& app);
Runner add_profile(CLI::App& app);
Runner add_iobench(CLI::App& app);
Runner add_synth(CLI::App& app);
Runner add_sim(CLI::App& app);
Runner add_convert(CLI::App& app);

// "300M", "1.5G", "4096", "25%" (of `percent_base` bytes). Throws InputError.
uint64_t parse_bytes(const std::string& s, uint64_t percent_base);
// "10%" -> 0.10. Throws InputError.
double parse_percent(const std::string& s);
// The --budget option of run and plan: "" (unlimited), bytes with K/M/G, or a percentage of the
// model's weight bytes. Throws InputError.
void set_budget(SessionOptions& so, const std::string& budget);

// Throws E (an edgerun/errors.h type) with the parts streamed into its message.
template <typename E, typename... Parts>
[[noreturn]] void fail(Parts&&... parts) {
  std::ostringstream os;
  (os << ... << std::forward<Parts>(parts));
  throw E(os.str());
}

}  // namespace edgerun::cli
