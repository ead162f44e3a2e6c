// build_model: config.json -> family builder -> Graph, with the architecture taken from
// "architectures" (heads edgerun knows) and everything else run as the family's base model.
#include "models/model.h"

#include <filesystem>

#include "core/error.h"
#include "models/blocks.h"
#include "models/config.h"
#include "models/family.h"
#include "models/quantize.h"

namespace edgerun {

const char* family_name(Family f) {
  switch (f) {
    case Family::Vit: return "vit";
    case Family::Bert: return "bert";
    case Family::Gpt2: return "gpt2";
  }
  return "?";
}

namespace {
// Attention variant (--attention, else config.json's "edgerun_attention", else softmax) and
// precision, with the errors DESIGN.md asks for: an unknown name in config.json, non-softmax on
// causal models, q16 on a family without q16 kernels. (Option names are parsed where they are
// read: edgerun/types.h.)
void resolve_numerics(const ConfigJson& cfg, const BuildOptions& opts, ModelInfo& info) {
  const bool from_config = !opts.attention;
  if (opts.attention) {
    info.attention = *opts.attention;
  } else {
    const std::string name = cfg.get_string("edgerun_attention", "softmax");
    if (!parse(name, &info.attention))
      ER_THROW(UnsupportedError, cfg.path(), ": \"edgerun_attention\" = \"", name,
               "\" is not an attention variant edgerun has (", names_of_attn_variant(), ")");
  }
  if (!supports_causal(info.attention) && info.family == Family::Gpt2)
    ER_THROW(UnsupportedError, cfg.path(), ": ", to_string(info.attention),
             " attention is not causal; causal models (gpt2) run softmax attention only",
             from_config ? " (the config's \"edgerun_attention\" asks for it)" : "");
  info.precision = opts.precision;
  if (info.precision == Precision::Q16 && info.family == Family::Gpt2)
    ER_THROW(UnsupportedError, cfg.path(), ": precision q16 is implemented for vit and bert models, not ",
             family_name(info.family));
}
}  // namespace

ModelGraph build_model(const std::string& dir, const BuildOptions& opts) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    ER_THROW(IoError, dir, ": not a directory (expected a Hugging Face model folder)");
  const std::string cfg_path = (fs::path(dir) / "config.json").string();
  if (!fs::exists(cfg_path, ec)) ER_THROW(FormatError, dir, ": no config.json in this folder");
  ConfigJson cfg = ConfigJson::load(cfg_path);

  ModelGraph mg;
  ModelInfo& info = mg.info;
  info.dir = dir;
  info.model_type = cfg.get_string("model_type");
  std::string base, heads[2];
  if (info.model_type == "vit") {
    info.family = Family::Vit;
    base = "ViTModel";
    heads[0] = "ViTForImageClassification";
  } else if (info.model_type == "bert") {
    info.family = Family::Bert;
    base = "BertModel";
    heads[0] = "BertForSequenceClassification";
  } else if (info.model_type == "gpt2") {
    info.family = Family::Gpt2;
    base = "GPT2Model";
    heads[0] = "GPT2LMHeadModel";
  } else {
    ER_THROW(UnsupportedError, cfg_path, ": model_type \"", info.model_type,
             "\" is not supported (vit, bert, gpt2)");
  }
  info.arch = base;
  if (cfg.has("architectures")) {
    const auto& a = cfg.json()["architectures"];
    if (!a.is_array()) ER_THROW(FormatError, cfg_path, ": \"architectures\" is not a list");
    if (!a.empty()) {
      if (!a[0].is_string()) ER_THROW(FormatError, cfg_path, ": \"architectures\"[0] is not a string");
      std::string want = a[0].get<std::string>();
      if (want == heads[0]) info.arch = want;
    }
  }
  info.id2label = cfg.get_id2label();
  info.num_labels = cfg.has("num_labels") ? cfg.get_size("num_labels", 1 << 20)
                                          : (info.id2label.empty() ? 2 : static_cast<int64_t>(info.id2label.size()));

  resolve_numerics(cfg, opts, info);

  mg.weights = open_weights(dir);
  switch (info.family) {
    case Family::Vit: build_vit(cfg, mg.weights, info, mg.graph); break;
    case Family::Bert: build_bert(cfg, mg.weights, info, mg.graph); break;
    case Family::Gpt2: build_gpt2(cfg, mg.weights, info, mg.graph); break;
  }
  ER_CHECK(mg.graph.output != kNone, "builder produced no output");
  if (opts.all_outputs && info.head == Head::Base && info.family != Family::Gpt2) {
    WeightFinder w(mg.weights, mg.graph, {info.family == Family::Vit ? "vit." : "bert.", ""});
    add_pooler_output(w, mg.graph.output, info.hidden);
  }
  apply_precision(mg);
  return mg;
}

}  // namespace edgerun
