// Subcommand registration for the edgerun binary. Each cmd_*.cpp adds one subcommand to the
// CLI11 app and returns the function that runs it after parsing.
#pragma once
#include <CLI/CLI.hpp>
#include <cstdint>
#include <functional>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "edgerun/edgerun.h"
#include "edgerun/errors.h"
#include "edgerun/format.h"

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
Runner add_serve(CLI::App& app);
Runner add_replay(CLI::App& app);

// The size syntax of parse_bytes (edgerun/format.h), for --help texts.
extern const char* const kSizeHelp;
// The --budget option of run and plan: absent (unlimited), a size, or a percentage of the
// model's weight bytes. Throws InputError (an empty value or 0 included).
void set_budget(SessionOptions& so, const std::optional<std::string>& budget);

// The options run and plan share; add_session_options declares them on a subcommand and
// session_options checks them (InputError) and fills SessionOptions, warning on stderr where a
// value is allowed but unwise (more threads than cores).
struct SessionArgs {
  std::optional<std::string> budget;  // absent: no budget
  std::string executor = "auto", cost_model;
  int agents = 0, threads = 0;
  std::string tile;  // empty: the library's default
};
void add_session_options(CLI::App* c, SessionArgs& a);
SessionOptions session_options(const SessionArgs& a);
// --new-tokens (run and plan): InputError unless the model's family generates, before any prompt
// is built (a ViT has no token ids to prompt with); the library refuses heads that do not.
void check_generates(const ModelSummary& m);
// --agents with the auto executor: a warning when the planner chose an executor without agents.
void warn_unused_agents(const SessionArgs& a, Executor chosen);

// Warnings about what a model folder holds: no "architectures" (the base model runs), tensors
// the architecture does not use.
void warn_about_model(const std::string& architecture_note, const std::vector<std::string>& unused_tensors);

// Output paths, checked before the work (InputError naming the option): a file whose folder
// exists and is writable, not a folder; a folder that is writable or can be made in one.
void check_output_file(const std::string& opt, const std::string& path);
void check_output_folder(const std::string& opt, const std::string& path);

// Throws E (an edgerun/errors.h type) with the parts streamed into its message.
template <typename E, typename... Parts>
[[noreturn]] void fail(Parts&&... parts) {
  std::ostringstream os;
  (os << ... << std::forward<Parts>(parts));
  throw E(os.str());
}

}  // namespace edgerun::cli
