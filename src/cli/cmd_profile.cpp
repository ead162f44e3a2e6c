// `edgerun profile MODEL`: per-layer bytes, FLOPs, depth, cold load and compute times (CSV and
// JSON) and the fitted cost model, written to --out (`plan|run --cost-model` read it) and
// recorded for the device (runs of the model use it without --cost-model).
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "cli/commands.h"
#include "edgerun/preprocess.h"
#include "edgerun/tools.h"

namespace edgerun::cli {

namespace {
struct ProfileArgs {
  std::string model, out = "profile";
  int threads = 0, repeats = 3, max_block = 4;
  bool json = false, warm = false, no_record = false;
};

void write_file(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary);
  f << text;
  if (!f) fail<IoError>(path, ": cannot write");
}

int profile(const ProfileArgs& a) {
  check_output_folder("--out", a.out);
  ProfileRequest o;
  o.threads = a.threads;
  o.repeats = a.repeats;
  o.max_block_layers = a.max_block;
  o.cold = !a.warm;
  o.record = !a.no_record;
  o.progress = [](const std::string& s) { std::fprintf(stderr, "profile: %s\n", s.c_str()); };
  const ProfileReport r = edgerun::profile(a.model, o);
  std::filesystem::create_directories(a.out);
  write_file(a.out + "/profile.csv", r.csv);
  write_file(a.out + "/profile.json", r.json);
  write_file(a.out + "/cost_model.json", r.cost_model_json);
  if (a.json) {
    std::printf("%s\n", r.json.c_str());
    return 0;
  }
  std::printf("%-24s %12s %14s %10s %12s\n", "layer", "bytes", "FLOPs", "load ms", "compute ms");
  for (const auto& l : r.layers)
    std::printf("%-24s %12llu %14.4g %10.3f %12.3f\n", l.name.c_str(), static_cast<unsigned long long>(l.bytes),
                l.flops, l.load_ms, l.compute_ms);
  auto fit = [](const char* n, const CostFit& f, const char* x) {
    std::printf("%s = %.4g*%s + %.4g*d + %.4g ms   R^2 %.4f, held-out MAPE %.1f%% (%d fit, %d held out)\n", n,
                f.coef[0], x, f.coef[1], f.coef[2], f.r2, 100 * f.mape_holdout, f.n_fit, f.n_holdout);
  };
  fit("t_in ", r.t_in, "bytes");
  fit("t_ex ", r.t_ex, "FLOPs");
  fit("t_out", r.t_out, "bytes");
  if (r.t_ex_layers.n_holdout > 0)
    std::printf("t_ex per layer (what plans use): on the held-out shape R^2 %.4f, MAPE %.1f%% (%d blocks)\n",
                r.t_ex_layers.r2, 100 * r.t_ex_layers.mape_holdout, r.t_ex_layers.n_holdout);
  std::printf("measured with: budget %.1f GiB, huge pages %s, %.1f MiB committed, reads %s, %d threads, ops %s\n",
              static_cast<double>(r.budget_bytes) / (1ull << 30), r.huge_pages ? "on" : "off",
              static_cast<double>(r.committed_bytes) / (1ull << 20), r.io_engine.c_str(), r.threads, r.backends.c_str());
  std::printf("storage %.2f GB/s (direct I/O), compute %.1f GFLOP/s; written to %s/{profile.csv,profile.json,cost_model.json}\n",
              r.read_bytes_per_s / 1e9, r.flops_per_s / 1e9, a.out.c_str());
  if (!r.recorded_in.empty())
    std::printf("recorded in %s: runs of this model on this device and thread count use it without --cost-model\n",
                r.recorded_in.c_str());
  return 0;
}
}  // namespace

Runner add_profile(CLI::App& app) {
  auto a = std::make_shared<ProfileArgs>();
  CLI::App* c = app.add_subcommand("profile", "Profile a model's layers and fit the cost model");
  c->add_option("model", a->model, "Hugging Face model folder, or an .onnx file (or a folder holding model.onnx)")->required();
  c->add_option("-o,--out", a->out, "Output folder (profile.csv, profile.json, cost_model.json)");
  c->add_option("-t,--threads", a->threads, "Compute threads (default: all cores)")->check(CLI::Range(0, 1024));
  c->add_option("--repeats", a->repeats, "Compute passes per shape (median)")->check(CLI::Range(1, 1000));
  c->add_option("--max-block", a->max_block, "Load samples: blocks of 1..k layers")->check(CLI::Range(1, 64));
  c->add_flag("--warm", a->warm, "Do not drop the page cache before load samples");
  c->add_flag("--no-record", a->no_record, "Do not record the cost model for this device (plan and run use the record)");
  c->add_flag("--json", a->json, "Print the profile as JSON");
  return [a] {
    a->model = resolve_model_folder(a->model);
    return profile(*a);
  };
}

}  // namespace edgerun::cli
