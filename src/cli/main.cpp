// edgerun command-line entry point: thin subcommands over the library. Library errors become
// one "edgerun: error: ..." line and a non-zero exit code; nothing is written on failure.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <strings.h>
#include <exception>
#include <string>
#include <utility>
#include <vector>

#include "cli/commands.h"
#include "edgerun/errors.h"

namespace {
// The kernel sets of OpenBLAS's x86-64 DYNAMIC_ARCH builds (its corename table); OpenBLAS
// compares them case-insensitively and silently runs its own choice for any other name.
constexpr const char* kBlasCores[] = {"Katmai",  "Coppermine", "Northwood",  "Prescott",  "Banias",    "Atom",
                                      "Core2",   "Penryn",     "Dunnington", "Nehalem",   "Athlon",    "Opteron",
                                      "Opteron_SSE3", "Barcelona", "Nano",   "Sandybridge", "Bobcat",  "Bulldozer",
                                      "Piledriver", "Haswell", "Steamroller", "Excavator", "Zen",      "SkylakeX",
                                      "Cooperlake", "SapphireRapids"};

bool known_blas_core(const char* name) {
  for (const char* c : kBlasCores)
    if (strcasecmp(c, name) == 0) return true;
  return false;
}

std::string blas_core_list() {
  std::string s;
  for (const char* c : kBlasCores) s += (s.empty() ? "" : ", ") + std::string(c);
  return s;
}

constexpr const char* kExitCodes =
    "Exit codes: 0 success; 1 the model (file, format, unsupported op, architecture or opset) or I/O; "
    "3 the input, options or config file (command-line errors and unknown subcommands included); "
    "4 the budget (too small for the model and input); 70 internal error (a bug). "
    "Every error is one line \"edgerun: ...\" on stderr.";

// The first word that is neither an option nor the value of --blas-core: the subcommand.
const char* subcommand_word(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--blas-core") == 0) {
      ++i;
      continue;
    }
    if (argv[i][0] != '-') return argv[i];
  }
  return nullptr;
}

// OpenBLAS picks its kernel set (OPENBLAS_CORETYPE) when the library loads, before main: to honour
// --blas-core NAME the process re-executes itself once with the variable set.
void apply_blas_core(int argc, char** argv) {
  const char* want = nullptr;
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], "--blas-core") == 0) want = argv[i + 1];
  if (!want) return;
  if (!known_blas_core(want)) {
    std::fprintf(stderr, "edgerun: input error: --blas-core %s is not an OpenBLAS kernel set (%s)\n", want,
                 blas_core_list().c_str());
    std::exit(3);
  }
  const char* have = std::getenv("OPENBLAS_CORETYPE");
  if (have && std::strcmp(have, want) == 0) return;
  if (std::getenv("EDGERUN_REEXEC")) return;  // never loop
  setenv("OPENBLAS_CORETYPE", want, 1);
  setenv("EDGERUN_REEXEC", "1", 1);
  execv("/proc/self/exe", argv);
  std::fprintf(stderr, "edgerun: warning: could not re-execute to select BLAS kernels %s\n", want);
}
}  // namespace

int main(int argc, char** argv) {
  apply_blas_core(argc, argv);
  CLI::App app{"edgerun: run DNNs inside a hard memory budget (ViT, BERT, GPT-2 from Hugging Face "
               "folders; ONNX models), one or several at once"};
  app.require_subcommand(1);
  app.fallthrough();  // global options (--blas-core) also after the subcommand
  app.footer(kExitCodes);
  app.set_version_flag("--version", "edgerun 0.1.0");
  std::string blas_core;
  app.add_option("--blas-core", blas_core,
                 "OpenBLAS kernel set (e.g. Haswell, SkylakeX, Cooperlake); default: OPENBLAS_CORETYPE or "
                 "OpenBLAS's own choice. The report's blas_core says which ran.");
  // One entry per subcommand: its name and the runner its add_* function returns.
  const std::vector<std::pair<std::string, edgerun::cli::Runner>> cmds = {
      {"run", edgerun::cli::add_run(app)},         {"info", edgerun::cli::add_info(app)},
      {"plan", edgerun::cli::add_plan(app)},       {"profile", edgerun::cli::add_profile(app)},
      {"iobench", edgerun::cli::add_iobench(app)}, {"synth", edgerun::cli::add_synth(app)},
      {"sim", edgerun::cli::add_sim(app)},
      {"convert", edgerun::cli::add_convert(app)}, {"serve", edgerun::cli::add_serve(app)},
      {"replay", edgerun::cli::add_replay(app)},
  };
  if (const char* w = subcommand_word(argc, argv)) {
    bool known = false;
    std::string names;
    for (const auto& [name, runner] : cmds) {
      known |= name == w;
      names += (names.empty() ? "" : ", ") + name;
    }
    if (!known) {
      std::fprintf(stderr, "edgerun: input error: unknown subcommand \"%s\" (the subcommands: %s; see edgerun --help)\n", w,
                   names.c_str());
      return 3;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version end parsing with exit code 0; every other parse error is the
    // user's input: one line, exit 3, like the errors below.
    if (e.get_exit_code() == 0) return app.exit(e);
    std::fprintf(stderr, "edgerun: input error: %s (see edgerun --help)\n", e.what());
    return 3;
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
  std::fprintf(stderr, "edgerun: internal error (a bug, please report): no subcommand ran\n");
  return 70;
}
