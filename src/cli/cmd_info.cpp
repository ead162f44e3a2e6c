// `edgerun info MODEL_DIR`: what edgerun sees in a model folder: family, architecture, layers,
// weight bytes per layer (JSON with --json).
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "edgerun/models.h"

namespace edgerun::cli {

namespace {
struct InfoArgs {
  std::string model;
  bool json = false;
};

int info(const InfoArgs& a) {
  const ModelDescription d = describe_model(a.model);
  if (a.json) {
    nlohmann::json j;
    j["model"] = a.model;
    j["family"] = d.family;
    j["arch"] = d.arch;
    j["hidden"] = d.hidden;
    j["n_layer"] = d.n_layer;
    j["n_head"] = d.n_head;
    j["primary_output"] = d.primary_output;
    j["weight_bytes"] = d.weight_bytes;
    j["streamed_bytes_per_pass"] = d.streamed_bytes_per_pass;
    j["ops"] = d.ops;
    nlohmann::json layers = nlohmann::json::array();
    for (const LayerDescription& l : d.layers)
      layers.push_back({{"name", l.name}, {"weight_bytes", l.weight_bytes}, {"ops", l.ops}});
    j["layers"] = layers;
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  std::printf("%s (%s): hidden %lld, %lld layers, %lld heads, %.2f MiB of weights, output %s\n",
              d.arch.c_str(), d.family.c_str(), static_cast<long long>(d.hidden),
              static_cast<long long>(d.n_layer), static_cast<long long>(d.n_head),
              static_cast<double>(d.weight_bytes) / 1048576.0, d.primary_output.c_str());
  for (const LayerDescription& l : d.layers)
    std::printf("  %-24s %10.3f MiB  %d ops\n", l.name.c_str(), static_cast<double>(l.weight_bytes) / 1048576.0,
                static_cast<int>(l.ops));
  return 0;
}
}  // namespace

Runner add_info(CLI::App& app) {
  auto a = std::make_shared<InfoArgs>();
  CLI::App* c = app.add_subcommand("info", "Describe a model folder: architecture and layers");
  c->add_option("model", a->model, "Hugging Face model folder")->required();
  c->add_flag("--json", a->json, "Print JSON");
  return [a] { return info(*a); };
}

}  // namespace edgerun::cli
