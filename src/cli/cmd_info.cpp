// `edgerun info MODEL_DIR`: what edgerun sees in a model folder: family, architecture, layers,
// weight bytes per layer, vocabulary or image size, labels, tokenizer (JSON with --json).
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "edgerun/preprocess.h"
#include "edgerun/format.h"
#include "edgerun/models.h"

namespace edgerun::cli {

namespace {
struct InfoArgs {
  std::string model;
  bool json = false;
};

std::string labels_line(const std::map<int64_t, std::string>& id2label) {
  std::string s;
  size_t n = 0;
  for (const auto& [id, name] : id2label) {
    if (++n > 8) {
      s += ", ... (" + std::to_string(id2label.size()) + " in all)";
      break;
    }
    s += (s.empty() ? "" : ", ") + std::to_string(id) + " " + name;
  }
  return s;
}

int info(const InfoArgs& a) {
  const ModelDescription d = describe_model(a.model);
  warn_about_model(d.architecture_note, d.unused_tensors);
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
    j["full_pass_bytes"] = d.full_pass_bytes;
    j["bytes_by_dtype"] = d.bytes_by_dtype;
    j["parameters"] = d.parameters;
    j["precision"] = d.precision;
    j["converted_dtype"] = d.converted_dtype.empty() ? nlohmann::json() : nlohmann::json(d.converted_dtype);
    if (d.family == "onnx") {
      j["opset"] = d.opset;
      j["ir_version"] = d.ir_version;
      j["producer"] = d.producer;
      nlohmann::json ins = nlohmann::json::array();
      for (const auto& i : d.inputs)
        ins.push_back({{"name", i.name}, {"dtype", i.dtype}, {"dims", i.dims}, {"dim_params", i.dim_params}});
      j["inputs"] = ins;
      j["outputs"] = d.outputs;
    } else if (d.family != "vit") {
      j["vocab_size"] = d.vocab_size;
      j["max_positions"] = d.max_positions;
      j["tokenizer"] = d.tokenizer.empty() ? nlohmann::json() : nlohmann::json(d.tokenizer);
    } else {
      j["image_size"] = d.image_size;
      j["patch_size"] = d.patch_size;
      j["preprocessor"] = d.preprocessor.empty() ? nlohmann::json() : nlohmann::json(d.preprocessor);
    }
    if (!d.id2label.empty()) {
      nlohmann::json labels = nlohmann::json::object();
      for (const auto& [id, name] : d.id2label) labels[std::to_string(id)] = name;
      j["id2label"] = labels;
    }
    if (!d.architecture_note.empty()) j["architecture_note"] = d.architecture_note;
    j["unused_tensors"] = d.unused_tensors;
    j["ops"] = d.ops;
    nlohmann::json layers = nlohmann::json::array();
    for (const LayerDescription& l : d.layers)
      layers.push_back({{"name", l.name}, {"weight_bytes", l.weight_bytes}, {"gathered_bytes", l.gathered_bytes},
                        {"ops", l.ops}});
    j["layers"] = layers;
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  std::string dtypes;
  for (const auto& [dt, n] : d.bytes_by_dtype)
    dtypes += (dtypes.empty() ? "" : ", ") + dt + (d.bytes_by_dtype.size() > 1 ? " " + format_bytes(static_cast<double>(n)) : "");
  if (d.family == "onnx") {
    std::printf("%s (ONNX, opset %lld, IR %lld%s%s): %lld ops in %zu layers\n", d.arch.c_str(),
                static_cast<long long>(d.opset), static_cast<long long>(d.ir_version), d.producer.empty() ? "" : ", by ",
                d.producer.c_str(), static_cast<long long>(d.ops), d.layers.size());
    for (const auto& i : d.inputs) {
      std::string dims;
      for (size_t k = 0; k < i.dims.size(); ++k)
        dims += (k ? ", " : "") + (i.dims[k] >= 0 ? std::to_string(i.dims[k]) : (i.dim_params[k].empty() ? "?" : i.dim_params[k]));
      std::printf("input  %s: %s (%s)\n", i.name.c_str(), i.dtype.c_str(), dims.c_str());
    }
    for (const auto& o : d.outputs) std::printf("output %s\n", o.c_str());
  } else {
    std::printf("%s (%s): hidden %lld, %lld layers, %lld heads, output %s\n", d.arch.c_str(), d.family.c_str(),
                static_cast<long long>(d.hidden), static_cast<long long>(d.n_layer), static_cast<long long>(d.n_head),
                d.primary_output.c_str());
  }
  std::printf("weights: %s (%llu bytes), %.2fM parameters, stored as %s%s; computes in %s\n",
              format_bytes(static_cast<double>(d.weight_bytes)).c_str(), static_cast<unsigned long long>(d.weight_bytes),
              static_cast<double>(d.parameters) / 1e6, dtypes.c_str(),
              d.converted_dtype.empty() ? "" : (" (converted by edgerun to " + d.converted_dtype + ")").c_str(),
              d.precision.c_str());
  std::printf("  a fully streamed pass reads %s", format_bytes(static_cast<double>(d.full_pass_bytes)).c_str());
  if (d.weight_bytes > d.full_pass_bytes)
    std::printf("; the other %s are embedding tables, read a row per token",
                format_bytes(static_cast<double>(d.weight_bytes - d.full_pass_bytes)).c_str());
  std::printf("\n");
  if (d.family == "bert" || d.family == "gpt2")
    std::printf("vocabulary %lld tokens, %lld positions; tokenizer: %s\n", static_cast<long long>(d.vocab_size),
                static_cast<long long>(d.max_positions),
                d.tokenizer.empty() ? "none (give --ids or token-id .npy inputs)" : d.tokenizer.c_str());
  else if (d.family == "vit")
    std::printf("images %lldx%lld, patches %lldx%lld; preprocessing: %s\n", static_cast<long long>(d.image_size),
                static_cast<long long>(d.image_size), static_cast<long long>(d.patch_size),
                static_cast<long long>(d.patch_size),
                d.preprocessor.empty() ? "ViTImageProcessor's defaults" : d.preprocessor.c_str());
  if (!d.id2label.empty()) std::printf("labels: %s\n", labels_line(d.id2label).c_str());
  std::printf("layers (streamed bytes, + embedding tables read by rows):\n");
  for (const LayerDescription& l : d.layers)
    std::printf("  %-28s %12s  %s%d op%s\n", l.name.c_str(), format_bytes(static_cast<double>(l.weight_bytes)).c_str(),
                l.gathered_bytes ? ("+ " + format_bytes(static_cast<double>(l.gathered_bytes)) + " by rows  ").c_str() : "",
                static_cast<int>(l.ops), l.ops == 1 ? "" : "s");
  return 0;
}
}  // namespace

Runner add_info(CLI::App& app) {
  auto a = std::make_shared<InfoArgs>();
  CLI::App* c = app.add_subcommand("info", "Describe a model folder: architecture and layers");
  c->add_option("model", a->model, "Hugging Face model folder, or an .onnx file (or a folder holding model.onnx)")->required();
  c->add_flag("--json", a->json, "Print JSON");
  return [a] {
    a->model = resolve_model_folder(a->model);
    return info(*a);
  };
}

}  // namespace edgerun::cli
