// Implemented in src/models/
//
// Model-folder tools that need no engine: what edgerun sees in a folder (`edgerun info`), and
// random-weight folders for published configs (`edgerun synth`).
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "edgerun/dtype.h"

namespace edgerun {

// ---- info ----

struct LayerDescription {
  std::string name;
  uint64_t weight_bytes = 0;    // streamed: read whole when the layer runs
  uint64_t gathered_bytes = 0;  // embedding tables it reads only the rows of the tokens at hand from
  int64_t ops = 0;
};

struct ModelDescription {
  std::string family;  // vit | bert | gpt2 | onnx
  std::string arch;    // class built, e.g. "ViTForImageClassification"
  std::string primary_output;
  int64_t hidden = 0, n_layer = 0, n_head = 0;
  // The model's weight bytes: every tensor it reads, as stored, embedding tables included and a
  // tied table once. The one size edgerun gives a model (info, plan, reports, --budget N%).
  uint64_t weight_bytes = 0;
  uint64_t full_pass_bytes = 0;           // what a fully streamed pass reads (no embedding tables)
  std::map<std::string, uint64_t> bytes_by_dtype;  // weight_bytes by stored dtype ("F32", "BF16", ...)
  uint64_t parameters = 0;                // elements of those tensors
  std::string converted_dtype;            // "bf16" / "q16" for a folder `edgerun convert` wrote
  std::string precision;                  // what a run computes in by default (fp32, q16)
  int64_t vocab_size = 0, max_positions = 0;  // text models
  int64_t image_size = 0, patch_size = 0;     // ViT
  std::map<int64_t, std::string> id2label;    // classifiers
  // The tokenizer files found (tokenizer.json, vocab.txt, vocab.json + merges.txt), empty if none;
  // for ViT, the image preprocessing config (preprocessor_config.json) or empty for the defaults.
  std::string tokenizer, preprocessor;
  int64_t ops = 0;                        // graph ops
  std::vector<LayerDescription> layers;   // in execution order
  // config.json names no architecture: the base model runs, and this says so (else empty).
  std::string architecture_note;
  // Tensors in the weight files that `arch` does not use, sorted (buffers and a base model's
  // pooler are not listed): each is worth a warning.
  std::vector<std::string> unused_tensors;
  // ONNX models (family "onnx"): the default-domain opset, the IR version and producer, the
  // graph's inputs as declared (dims -1 where symbolic, named in dim_params) and its outputs.
  int64_t opset = 0, ir_version = 0;
  std::string producer;
  struct Input {
    std::string name, dtype;
    std::vector<int64_t> dims;
    std::vector<std::string> dim_params;
  };
  std::vector<Input> inputs;
  std::vector<std::string> outputs;
};

// Builds the model's graph (validating every tensor) and describes it. Throws FormatError /
// UnsupportedError / IoError naming file and tensor.
ModelDescription describe_model(const std::string& model_dir);

// ---- synth ----

// One known configuration (edgerun synth --list).
struct SynthCatalogEntry {
  std::string name;    // "gpt2-xl"
  std::string source;  // "openai-community/gpt2-xl", or what a non-published config is for
  std::string arch;    // ViTForImageClassification, BertModel or GPT2LMHeadModel
  int64_t n_layer = 0, hidden = 0;
  uint64_t n_params = 0;
};
// Every known name, in a fixed order.
std::vector<SynthCatalogEntry> synth_catalog();

struct SynthOptions {
  DType dtype = DType::F32;  // F32 or BF16
  uint64_t seed = 0;
  int64_t n_layer = 0;  // > 0 replaces the config's number of layers
  bool force = false;   // write into a non-empty folder, replacing the files synth writes
  int32_t threads = 0;  // generator threads; 0: the machine's cores (output is the same)
  // Called after each written chunk with tensor bytes written so far and in all (may be empty).
  std::function<void(uint64_t done, uint64_t total)> progress;
};

struct SynthWritten {
  std::string arch;
  int64_t n_layer = 0;             // as written (layer override applied)
  uint64_t n_params = 0;
  uint64_t weight_bytes = 0;       // size of model.safetensors
  std::vector<std::string> files;  // written, in folder order
};

// Writes a random-weight Hugging Face folder for the known config `name` (InputError naming the
// known names when it is not one): model.safetensors, config.json and the other JSON files, a
// README.md saying the weights are random. Refuses a non-empty `out_dir` unless opts.force.
SynthWritten synth_folder(const std::string& name, const std::string& out_dir, const SynthOptions& opts);

}  // namespace edgerun
