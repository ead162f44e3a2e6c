// `edgerun synth`: random-weight Hugging Face folders for published configs (ViT, BERT, GPT-2),
// in the layout transformers' save_pretrained writes (same tensor names, order, safetensors header
// bytes and config.json fields), so budgets can be tried without Python or downloads. Weights are
// generated and streamed tensor by tensor: a 6 GB model needs a few tens of MB of RAM.
// Leaves out: tokenizer files (give token ids), trained weights, other architectures and heads.
#pragma once
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "edgerun/dtype.h"
#include "edgerun/models.h"
#include "core/tensor.h"
#include "models/model.h"

namespace edgerun {

// One model configuration. Published names copy the sizes and fields of the Hugging Face Hub
// config.json named in `source`; the "-tiny" names are edgerun's own small configs for tests.
struct SynthSpec {
  std::string name;    // "gpt2-xl"
  std::string source;  // "openai-community/gpt2-xl", or what a non-published config is for
  Family family = Family::Vit;
  std::string arch;  // ViTForImageClassification, BertModel or GPT2LMHeadModel
  int64_t hidden = 0, n_layer = 0, n_head = 0;
  int64_t intermediate = 0;  // FFN width; GPT-2 with 0 writes "n_inner": null (= 4 * hidden)
  int64_t vocab_size = 0, max_positions = 0, type_vocab_size = 2;  // BERT, GPT-2
  int64_t image_size = 0, patch_size = 0, num_channels = 3;        // ViT
  int64_t num_labels = 0;                                          // ViT classifier
  std::vector<std::string> labels;  // classifier label names; empty: "LABEL_i" as transformers
  std::string activation;           // hidden_act (ViT, BERT) / activation_function (GPT-2)
  int64_t bos_token_id = -1, eos_token_id = -1;  // GPT-2 (-1: null)
  int64_t pad_token_id = -1;                     // BERT (-1: null)
  // Keys of the published config.json that transformers 5 no longer writes itself but keeps when
  // it loads and re-saves the model (GPT-2's "n_ctx", BERT's "position_embedding_type", ...).
  nlohmann::json extra = nlohmann::json::object();
};

// Every known name: vit-tiny, vit-base, vit-large, bert-tiny, bert-base, bert-large, gpt2-tiny,
// gpt2, gpt2-medium, gpt2-large, gpt2-xl.
const std::vector<SynthSpec>& synth_specs();
// InputError naming the known names when `name` is not one of them.
const SynthSpec& find_synth_spec(std::string_view name);

// How one tensor is initialised (as transformers' _init_weights does): normal(0, std) when
// std > 0 (GPT-2's c_proj weights use 0.02 / sqrt(2 * n_layer)), else every element `fill`
// (LayerNorm weights 1, biases 0). `zero_row` >= 0 keeps that embedding row zero (BERT's padding
// token).
struct SynthTensor {
  std::string name;
  Shape shape;
  float std = 0.0f;
  float fill = 0.0f;
  int64_t zero_row = -1;
};

// The tensors save_pretrained writes for `spec`, in its file order (names sorted bytewise; tied
// weights once: GPT2LMHeadModel has no lm_head.weight). InputError on an inconsistent spec.
std::vector<SynthTensor> synth_tensors(const SynthSpec& spec);
uint64_t synth_param_count(const SynthSpec& spec);

// The JSON files, as transformers 5 writes them (keys sorted, indent 2, final newline) without the
// "transformers_version" line: config.json; generation_config.json for GPT2LMHeadModel and
// preprocessor_config.json (ViTImageProcessor) for ViT ("" when the family has none).
std::string synth_config_json(const SynthSpec& spec, DType dtype);
std::string synth_generation_config_json(const SynthSpec& spec);
std::string synth_preprocessor_config_json(const SynthSpec& spec);

// Writes `count` values of tensor `t` starting at element `first`, as float32. Deterministic: a
// value depends only on (seed, tensor name, element index), never on chunking or thread count,
// and the generator uses integer arithmetic only, so files are identical on every machine.
void synth_fill(const SynthTensor& t, uint64_t seed, uint64_t first, int64_t count, float* out);

// SynthOptions: edgerun/models.h.

struct SynthResult {
  SynthSpec spec;  // as written (layer override applied)
  uint64_t n_params = 0;
  uint64_t weight_bytes = 0;       // size of model.safetensors
  std::vector<std::string> files;  // written, in folder order
};

// Writes the folder: model.safetensors (streamed; written beside and renamed), the JSON files
// above, a README.md saying the weights are random, and config.json last (a folder without it is
// an interrupted write). Refuses a non-empty `out_dir` unless opts.force, a folder holding a
// sharded index (it would compete with model.safetensors), and a disk without room.
// Throws InputError / IoError naming the path.
SynthResult synth_model(const SynthSpec& spec, const std::string& out_dir,
                        const SynthOptions& opts);

}  // namespace edgerun
