// The public model-folder tools of edgerun/models.h: describe_model (`edgerun info`) and the
// synth catalog and writer over models/synth.h.
#include <filesystem>

#include "models/model.h"
#include "models/synth.h"

namespace edgerun {

namespace {
// Which tokenizer files a folder holds, in the order load_tokenizer looks for them.
std::string tokenizer_files(const std::filesystem::path& dir) {
  std::error_code ec;
  auto has = [&](const char* f) { return std::filesystem::is_regular_file(dir / f, ec); };
  if (has("tokenizer.json")) return "tokenizer.json";
  if (has("vocab.txt")) return "vocab.txt";
  if (has("vocab.json") && has("merges.txt")) return "vocab.json + merges.txt";
  return "";
}
}  // namespace

ModelDescription describe_model(const std::string& model_dir) {
  ModelGraph mg = build_model(model_dir);
  const ModelInfo& i = mg.info;
  const Graph& g = mg.graph;
  ModelDescription d;
  d.family = family_name(i.family);
  d.arch = i.arch;
  d.primary_output = i.primary_output;
  d.hidden = i.hidden;
  d.n_layer = i.n_layer;
  d.n_head = i.n_head;
  d.weight_bytes = g.model_weight_bytes();
  d.full_pass_bytes = g.total_weight_bytes();
  for (const auto& [dt, n] : g.weight_bytes_by_dtype()) {
    d.bytes_by_dtype[std::string(dtype_name(dt))] = n;
    d.parameters += n / static_cast<uint64_t>(dtype_size(dt));
  }
  d.converted_dtype = i.converted_dtype;
  d.precision = to_string(i.precision);
  if (i.family == Family::Onnx) {
    const onnx::ModelProto& mp = mg.onnx->proto();
    for (const auto& o : mp.opset_import())
      if (o.domain().empty() || o.domain() == "ai.onnx") d.opset = o.version();
    d.ir_version = mp.ir_version();
    d.producer = mp.producer_name() + (mp.producer_version().empty() ? "" : " " + mp.producer_version());
    for (ValueId v : g.nd_inputs) {
      const Value& val = g.values[v];
      d.inputs.push_back({val.name, std::string(dtype_name(val.dtype)), val.declared, val.dim_params});
    }
    d.outputs.push_back(i.primary_output);
    for (const auto& [name, v] : g.extra_outputs) d.outputs.push_back(name);
  } else if (i.family != Family::Vit) {
    d.vocab_size = i.vocab_size;
    d.max_positions = i.max_positions;
    d.tokenizer = tokenizer_files(model_dir);
  } else {
    d.image_size = i.image_size;
    d.patch_size = i.patch_size;
    std::error_code ec;
    if (std::filesystem::is_regular_file(std::filesystem::path(model_dir) / "preprocessor_config.json", ec))
      d.preprocessor = "preprocessor_config.json";
  }
  if (i.head == Head::ImageClassification || i.head == Head::SequenceClassification ||
      i.head == Head::TokenClassification) {
    d.id2label = i.id2label;
    for (int64_t c = 0; c < i.num_labels; ++c) d.id2label.emplace(c, "LABEL_" + std::to_string(c));
  }
  d.ops = static_cast<int64_t>(g.ops.size());
  d.architecture_note = i.architecture_note;
  d.unused_tensors = i.unused_tensors;
  for (size_t l = 0; l < g.layers.size(); ++l) {
    const auto li = static_cast<int32_t>(l);
    d.layers.push_back({g.layers[l].name, g.layer_weight_bytes(li), g.layer_gathered_bytes(li),
                        static_cast<int64_t>(g.layers[l].end_op - g.layers[l].first_op)});
  }
  return d;
}

std::vector<SynthCatalogEntry> synth_catalog() {
  std::vector<SynthCatalogEntry> out;
  for (const SynthSpec& s : synth_specs())
    out.push_back({s.name, s.source, s.arch, s.n_layer, s.hidden, synth_param_count(s)});
  return out;
}

SynthWritten synth_folder(const std::string& name, const std::string& out_dir, const SynthOptions& opts) {
  const SynthResult r = synth_model(find_synth_spec(name), out_dir, opts);
  return {r.spec.arch, r.spec.n_layer, r.n_params, r.weight_bytes, r.files};
}

}  // namespace edgerun
