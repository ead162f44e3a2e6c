// `edgerun info MODEL_DIR`: what edgerun sees in a model folder: family, architecture, layers,
// weight bytes per layer (JSON with --json).
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "models/model.h"

namespace edgerun::cli {

namespace {
struct InfoArgs {
  std::string model;
  bool json = false;
};

int info(const InfoArgs& a) {
  ModelGraph mg = build_model(a.model);
  const ModelInfo& i = mg.info;
  nlohmann::json j;
  j["model"] = a.model;
  j["family"] = family_name(i.family);
  j["arch"] = i.arch;
  j["hidden"] = i.hidden;
  j["n_layer"] = i.n_layer;
  j["n_head"] = i.n_head;
  j["primary_output"] = i.primary_output;
  j["weight_bytes"] = mg.graph.model_weight_bytes();
  j["streamed_bytes_per_pass"] = mg.graph.total_weight_bytes();
  j["ops"] = mg.graph.ops.size();
  nlohmann::json layers = nlohmann::json::array();
  for (size_t l = 0; l < mg.graph.layers.size(); ++l)
    layers.push_back({{"name", mg.graph.layers[l].name},
                      {"weight_bytes", mg.graph.layer_weight_bytes(static_cast<int32_t>(l))},
                      {"ops", mg.graph.layers[l].end_op - mg.graph.layers[l].first_op}});
  j["layers"] = layers;
  if (a.json) {
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  std::printf("%s (%s): hidden %lld, %lld layers, %lld heads, %.2f MiB of weights, output %s\n",
              i.arch.c_str(), family_name(i.family), static_cast<long long>(i.hidden),
              static_cast<long long>(i.n_layer), static_cast<long long>(i.n_head),
              mg.graph.model_weight_bytes() / 1048576.0, i.primary_output.c_str());
  for (const auto& l : layers)
    std::printf("  %-24s %10.3f MiB  %d ops\n", l["name"].get<std::string>().c_str(),
                l["weight_bytes"].get<double>() / 1048576.0, l["ops"].get<int>());
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
