// `edgerun synth NAME --out DIR`: writes a random-weight Hugging Face folder for a published config
// (or a tiny test one), so budgets can be tried without Python or downloads. `--list` shows the
// names. Progress goes to stderr for models over 64 MiB; no tokenizer is written.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "cli/commands.h"
#include "edgerun/models.h"

namespace edgerun::cli {

namespace {
struct SynthArgs {
  std::string name, out, dtype = "f32";
  uint64_t seed = 0;
  int64_t layers = 0;
  bool force = false, list = false;
};

std::string names_help() {
  std::string s = "Names (config source):";
  for (const SynthCatalogEntry& spec : synth_catalog()) {
    std::string n = spec.name;
    n.resize(std::max<size_t>(n.size(), 13), ' ');
    s += "\n  " + n + spec.source;
  }
  return s + "\nNo tokenizer is written: give token ids (run --ids or an int64 .npy).";
}

int list() {
  std::printf("%-12s %-27s %7s %7s %14s  %s\n", "name", "architecture", "layers", "hidden",
              "parameters", "config");
  for (const SynthCatalogEntry& s : synth_catalog())
    std::printf("%-12s %-27s %7lld %7lld %14llu  %s\n", s.name.c_str(), s.arch.c_str(),
                static_cast<long long>(s.n_layer), static_cast<long long>(s.hidden),
                static_cast<unsigned long long>(s.n_params), s.source.c_str());
  return 0;
}

int synth(const SynthArgs& a) {
  if (a.list) return list();
  if (a.name.empty()) fail<InputError>("synth: give a model NAME (see edgerun synth --list)");
  if (a.out.empty()) fail<InputError>("synth: give the output folder with --out DIR");
  SynthOptions o;
  o.dtype = a.dtype == "bf16" ? DType::BF16 : DType::F32;
  o.seed = a.seed;
  o.n_layer = a.layers;
  o.force = a.force;
  const bool tty = ::isatty(STDERR_FILENO) != 0;
  int last_step = -1;
  bool printed = false;
  // Progress in 1% steps on a terminal (one line rewritten), 10% steps otherwise.
  o.progress = [&](uint64_t done, uint64_t total) {
    if (total < (uint64_t{64} << 20)) return;
    const int pct = static_cast<int>(done * 100 / total);
    const int step = tty ? pct : pct / 10 * 10;
    if (step == last_step) return;
    last_step = step;
    printed = true;
    std::fprintf(stderr, "%ssynth %s: %3d%% (%.2f of %.2f GB)%s", tty ? "\r" : "", a.name.c_str(),
                 step, done / 1e9, total / 1e9, tty ? "" : "\n");
    std::fflush(stderr);
  };
  const auto t0 = std::chrono::steady_clock::now();
  const SynthWritten r = synth_folder(a.name, a.out, o);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (printed && tty) std::fprintf(stderr, "\n");
  std::string files;
  for (const std::string& f : r.files) files += (files.empty() ? "" : ", ") + f;
  const bool gb = r.weight_bytes >= 1000000000;
  std::printf(
      "wrote %s: %s (%s, %lld layers), %llu parameters, %.3f %s %s, random weights "
      "(seed %llu) in %.1f s\nfiles: %s\n",
      a.out.c_str(), a.name.c_str(), r.arch.c_str(), static_cast<long long>(r.n_layer),
      static_cast<unsigned long long>(r.n_params), r.weight_bytes / (gb ? 1e9 : 1e6),
      gb ? "GB" : "MB", a.dtype.c_str(), static_cast<unsigned long long>(a.seed), secs,
      files.c_str());
  return 0;
}
}  // namespace

Runner add_synth(CLI::App& app) {
  auto a = std::make_shared<SynthArgs>();
  CLI::App* c = app.add_subcommand(
      "synth",
      "Write a random-weight Hugging Face folder (config.json + model.safetensors, as transformers "
      "writes them) for a published config; no tokenizer is written");
  c->add_option("name", a->name, "Model name (see --list)");
  c->add_option("--out", a->out, "Output folder (created; must be empty unless --force)");
  c->add_option("--dtype", a->dtype, "Weight dtype: f32 (default) or bf16")
      ->check(CLI::IsMember({"f32", "bf16"}));
  c->add_option("--seed", a->seed, "Random seed (default 0); the same seed gives the same bytes")
      ->check(CLI::Validator(
          [](std::string& v) {
            return v.find('-') == std::string::npos ? std::string()
                                                    : "the seed is a non-negative integer";
          },
          "UINT"));
  c->add_option("--layers", a->layers, "Override the number of layers (for quick tests)")
      ->check(CLI::Range(int64_t{1}, int64_t{4096}));
  c->add_flag("--force", a->force, "Write into a non-empty folder, replacing synth's files");
  c->add_flag("--list", a->list, "List the known names and exit");
  c->footer(names_help());
  return [a] { return synth(*a); };
}

}  // namespace edgerun::cli
