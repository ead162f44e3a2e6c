// build_model: config.json -> family builder -> Graph, with the architecture taken from
// "architectures"[0] (one of the family's architectures below, else refused) and, where the
// config names none, the family's base model; then what in the weight files the graph leaves
// unread.
#include "models/model.h"

#include <algorithm>
#include <filesystem>
#include <string_view>

#include "core/error.h"
#include "models/blocks.h"
#include "models/config.h"
#include "models/family.h"
#include "models/onnx_build.h"
#include "models/quantize.h"

namespace edgerun {

namespace {
struct Arch {
  const char* name;  // transformers' class
  Head head;
};
struct FamilyArchs {
  Family family;
  const char* model_type;
  std::vector<Arch> archs;  // the base model first
};

// The architectures edgerun builds, exactly as transformers computes them.
const std::vector<FamilyArchs>& families() {
  static const std::vector<FamilyArchs> t = {
      {Family::Vit, "vit", {{"ViTModel", Head::Base}, {"ViTForImageClassification", Head::ImageClassification}}},
      {Family::Bert,
       "bert",
       {{"BertModel", Head::Base},
        {"BertForSequenceClassification", Head::SequenceClassification},
        {"BertForMaskedLM", Head::MaskedLm},
        {"BertForTokenClassification", Head::TokenClassification},
        {"BertForQuestionAnswering", Head::QuestionAnswering}}},
      {Family::Gpt2,
       "gpt2",
       {{"GPT2Model", Head::Base},
        {"GPT2LMHeadModel", Head::LmHead},
        {"GPT2ForSequenceClassification", Head::SequenceClassification}}},
  };
  return t;
}

// Sets info.arch and info.head from "architectures"[0]; no architecture named: the base model,
// with a note saying so.
void resolve_architecture(const ConfigJson& cfg, const FamilyArchs& fam, ModelInfo& info) {
  const Arch& base = fam.archs.front();
  std::string want;
  if (cfg.has("architectures")) {
    const auto& a = cfg.json()["architectures"];
    if (!a.is_array()) ER_THROW(FormatError, cfg.path(), ": \"architectures\" is not a list");
    if (!a.empty()) {
      if (!a[0].is_string()) ER_THROW(FormatError, cfg.path(), ": \"architectures\"[0] is not a string");
      want = a[0].get<std::string>();
    }
  }
  if (want.empty()) {
    info.arch = base.name;
    info.head = base.head;
    info.architecture_note = std::string("config.json has no \"architectures\"; running the base model ") + base.name;
    return;
  }
  std::string known;
  for (const Arch& a : fam.archs) {
    if (want == a.name) {
      info.arch = a.name;
      info.head = a.head;
      return;
    }
    known += (known.empty() ? "" : ", ") + std::string(a.name);
  }
  ER_THROW(UnsupportedError, cfg.path(), ": architecture \"", want, "\" is not supported; edgerun runs these ",
           fam.model_type, " architectures: ", known);
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// An unread tensor that is no weight missing from the graph: a buffer, a base model's pooler (a
// real part of BertModel and ViTModel, read only when all_outputs asks for pooler_output), or
// the one of BertForMaskedLM's two decoder biases that transformers does not read either (bert.cpp).
bool unread_by_design(const std::string& name, const ModelInfo& info) {
  if (ends_with(name, ".position_ids")) return true;
  if (info.family == Family::Gpt2 && (ends_with(name, ".attn.bias") || ends_with(name, ".attn.masked_bias")))
    return true;
  if (info.head == Head::Base && info.family != Family::Gpt2)
    for (std::string_view p : {"pooler.", "bert.pooler.", "vit.pooler."})
      if (std::string_view(name).substr(0, p.size()) == p) return true;
  return info.head == Head::MaskedLm && (name == "cls.predictions.bias" || name == "cls.predictions.decoder.bias");
}

// Tensors of the files no slot of the graph reads from. A slot lies inside one tensor (a row
// chunk, a gathered table: part or all of it), so a tensor is read when some slot of its file
// begins within its byte range.
std::vector<std::string> unused_tensors(const WeightSet& ws, const Graph& g, const ModelInfo& info) {
  std::vector<std::vector<uint64_t>> begins(ws.files.size());
  for (const WeightSlot& s : g.slots) begins[static_cast<size_t>(s.file)].push_back(s.begin);
  std::vector<std::string> out;
  for (size_t f = 0; f < ws.files.size(); ++f) {
    std::vector<uint64_t>& b = begins[f];
    std::sort(b.begin(), b.end());
    for (const SafetensorsEntry& e : ws.files[f].entries()) {
      auto it = std::lower_bound(b.begin(), b.end(), e.begin);
      if ((it == b.end() || *it >= e.end) && !unread_by_design(e.name, info)) out.push_back(e.name);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

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
  // Asked for by an option, it is the user's input (InputError); by config.json, the model's.
  if (!supports_causal(info.attention) && info.family == Family::Gpt2) {
    if (from_config)
      ER_THROW(UnsupportedError, cfg.path(), ": ", to_string(info.attention),
               " attention is not causal; causal models (gpt2) run softmax attention only (the config's "
               "\"edgerun_attention\" asks for it)");
    ER_THROW(InputError, "--attention ", to_string(info.attention), ": not causal; causal models (",
             family_name(info.family), ") run softmax attention only");
  }
  // A folder `edgerun convert` wrote says what it holds ("edgerun_dtype"); q16 weights run q16.
  const std::string held = cfg.get_string("edgerun_dtype", "");
  if (!held.empty() && held != "bf16" && held != "q16")
    ER_THROW(FormatError, cfg.path(), ": \"edgerun_dtype\" = \"", held, "\" is not a dtype edgerun converts to (bf16, q16)");
  if (held == "q16" && opts.precision && *opts.precision != Precision::Q16)
    ER_THROW(InputError, "--precision ", to_string(*opts.precision), ": ", cfg.path(),
             " holds q16 weights (written by `edgerun convert --dtype q16`); leave --precision out or give q16");
  info.precision = opts.precision ? *opts.precision : (held == "q16" ? Precision::Q16 : Precision::Fp32);
  info.converted_dtype = held;
  if (info.precision == Precision::Q16 && info.family == Family::Gpt2)
    ER_THROW(InputError, "--precision q16 is implemented for vit and bert models, not ", family_name(info.family));
}
}  // namespace

const char* family_name(Family f) {
  if (f == Family::Onnx) return "onnx";
  for (const FamilyArchs& fam : families())
    if (fam.family == f) return fam.model_type;
  return "?";
}

std::string onnx_model_path(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::path(path).extension() == ".onnx" && !fs::is_directory(path, ec)) return path;
  if (!fs::is_directory(path, ec)) return "";
  const fs::path m = fs::path(path) / "model.onnx";
  if (!fs::exists(m, ec)) return "";
  // A Hugging Face folder holding safetensors and an ONNX export runs its safetensors.
  for (const auto& e : fs::directory_iterator(path, ec))
    if (e.path().extension() == ".safetensors" || e.path().filename() == "model.safetensors.index.json") return "";
  return m.string();
}

ModelGraph build_model(const std::string& dir, const BuildOptions& opts) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (std::string onnx = onnx_model_path(dir); !onnx.empty()) return build_onnx(onnx, opts);
  if (!fs::is_directory(dir, ec))
    ER_THROW(IoError, dir, ": not a directory (expected a Hugging Face model folder or an .onnx file)");
  const std::string cfg_path = (fs::path(dir) / "config.json").string();
  if (!fs::exists(cfg_path, ec)) ER_THROW(FormatError, dir, ": no config.json in this folder");
  ConfigJson cfg = ConfigJson::load(cfg_path);

  ModelGraph mg;
  ModelInfo& info = mg.info;
  info.dir = dir;
  info.model_type = cfg.get_string("model_type");
  const FamilyArchs* fam = nullptr;
  std::string types;
  for (const FamilyArchs& f : families()) {
    if (info.model_type == f.model_type) fam = &f;
    types += (types.empty() ? "" : ", ") + std::string(f.model_type);
  }
  if (!fam)
    ER_THROW(UnsupportedError, cfg_path, ": model_type \"", info.model_type, "\" is not supported (", types, ")");
  info.family = fam->family;
  resolve_architecture(cfg, *fam, info);
  info.id2label = cfg.get_id2label();
  info.num_labels = cfg.has("num_labels") ? cfg.get_size("num_labels", 1 << 20)
                                          : (info.id2label.empty() ? 2 : static_cast<int64_t>(info.id2label.size()));

  resolve_numerics(cfg, opts, info);

  mg.weights = open_weights(dir);
  // q16 Linears compute one (N, K) weight whole (models/quantize.cpp), and their calibration
  // names the model's own ops: no tiles.
  mg.graph.tile_bytes = info.precision == Precision::Q16 ? 0 : opts.tile_bytes;
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
  info.unused_tensors = unused_tensors(mg.weights, mg.graph, info);
  return mg;
}

}  // namespace edgerun
