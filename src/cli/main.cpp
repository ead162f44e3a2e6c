// edgerun command-line entry point: thin subcommands over the library. Library errors become
// one "edgerun: error: ..." line and a non-zero exit code; nothing is written on failure.
#include <cstdio>
#include <exception>
#include <string>
#include <utility>
#include <vector>

#include "cli/commands.h"
#include "core/error.h"

int main(int argc, char** argv) {
  CLI::App app{"edgerun: run DNNs inside a hard memory budget (ViT, BERT, GPT-2 from Hugging Face "
               "folders)"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "edgerun 0.1.0");
  // One entry per subcommand: its name and the runner its add_* function returns.
  const std::vector<std::pair<std::string, edgerun::cli::Runner>> cmds = {
      {"run", edgerun::cli::add_run(app)},         {"info", edgerun::cli::add_info(app)},
      {"plan", edgerun::cli::add_plan(app)},       {"profile", edgerun::cli::add_profile(app)},
      {"iobench", edgerun::cli::add_iobench(app)}, {"synth", edgerun::cli::add_synth(app)},
      {"sim", edgerun::cli::add_sim(app)},
  };
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    for (const auto& [name, runner] : cmds)
      if (app.got_subcommand(name)) return runner();
  } catch (const edgerun::InputError& e) {
    std::fprintf(stderr, "edgerun: input error: %s\n", e.what());
    return 3;
  } catch (const edgerun::BudgetError& e) {
    std::fprintf(stderr, "edgerun: budget error: %s\n", e.what());
    return 4;
  } catch (const edgerun::InternalError& e) {
    std::fprintf(stderr, "edgerun: internal error (a bug, please report): %s\n", e.what());
    return 70;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "edgerun: error: %s\n", e.what());
    return 1;
  }
  return 2;
}
