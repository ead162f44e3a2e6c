// Model builders: config.json + safetensors folder -> Graph. One file per family (vit.cpp,
// bert.cpp, gpt2.cpp); shared transformer pieces live in blocks.{h,cpp}. Builders only describe
// the computation and bind nothing: slots get their file ranges, executors load them.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "edgerun/types.h"

#include "formats/onnx.h"
#include "formats/safetensors.h"
#include "graph/graph.h"

namespace edgerun {

// Onnx: an .onnx graph (models/onnx_graph.cpp), whatever it computes.
enum class Family : uint8_t { Vit, Bert, Gpt2, Onnx };
// What runs on top of the family's base model (one per architecture edgerun knows: model.cpp).
enum class Head : uint8_t {
  Base,
  ImageClassification,     // logits (N, labels)
  SequenceClassification,  // logits (N, labels)
  LmHead,                  // logits (N, T, V), or (N, V) for generation's last token
  MaskedLm,                // logits (N, T, V)
  TokenClassification,     // logits (N, T, labels)
  QuestionAnswering,       // start_end_logits (N, T, 2)
};

struct ModelInfo {
  std::string dir;
  Family family = Family::Vit;
  std::string model_type;    // config.json "model_type"
  std::string arch;          // class built, e.g. "ViTForImageClassification"
  Head head = Head::Base;
  // Set when config.json names no architecture ("architectures" absent or empty): the family's
  // base model runs, as transformers' AutoModel would, and this says so in a sentence.
  std::string architecture_note;
  // Tensors of the weight files the graph reads none of, sorted by name: weights that are not
  // `arch`'s (another head's, a pretraining checkpoint's). Left out: the buffers older
  // transformers saved (*.position_ids, GPT-2's h.N.attn.bias / masked_bias), a base model's
  // pooler (read only for all_outputs), and tensors transformers ties to one that is read.
  std::vector<std::string> unused_tensors;
  int64_t hidden = 0, n_layer = 0, n_head = 0;
  int64_t vocab_size = 0, max_positions = 0, type_vocab_size = 0;
  int64_t image_size = 0, patch_size = 0, num_channels = 0;
  int64_t num_labels = 0;
  std::map<int64_t, std::string> id2label;
  int64_t eos_token_id = -1;
  // "logits", "last_hidden_state", or "start_end_logits" (BertForQuestionAnswering: transformers'
  // start_logits and end_logits as [..., 0] and [..., 1] of one (N, T, 2) output, the qa_outputs
  // projection before its split)
  std::string primary_output;
  AttnVariant attention = AttnVariant::Softmax;  // every Attention op's variant
  Precision precision = Precision::Fp32;
  std::string converted_dtype;  // "bf16" / "q16" for a folder `edgerun convert` wrote, else empty
};

struct BuildOptions {
  // Attention variant; empty: the one config.json names under "edgerun_attention" (the variant
  // the model was trained with), else softmax.
  std::optional<AttnVariant> attention;
  // Bf16: weights rounded to bf16 when stored wider; Q16 (DESIGN.md "Numerics"): needs the
  // calibration sidecar edgerun_q16.json in the model folder; ViT and BERT only.
  // Empty: what the folder holds (q16 for a folder `edgerun convert --dtype q16` wrote, else fp32).
  std::optional<Precision> precision;
  // Also build the outputs transformers returns beside the primary one: pooler_output of
  // BertModel and ViTModel (where the file holds the pooler). Off by default: the primary
  // output does not need them, and their weights would be read every pass.
  bool all_outputs = false;
  // Output-column tiles of the large Linears, and layers of about one tile (Graph::tile_bytes):
  // what the runtime streams and computes. 0: the model's own layers, one op per Linear (what
  // convert, calibration, sim and info describe). q16 graphs are never tiled.
  uint64_t tile_bytes = kTileBytes;
  // SessionOptions::tile_bytes' default: one of the direct reader's 4 MiB reads, at which the
  // storage gives its bandwidth with two in flight (two loading agents), and at which tiled GEMMs
  // run within a few percent of whole ones (docs/STREAMING.md "Tiles"; 2 MiB cost 13%).
  static constexpr uint64_t kTileBytes = 4u << 20;
};

struct ModelGraph {
  ModelInfo info;
  Graph graph;
  WeightSet weights;
  // ONNX models: the parsed structure, and where the bytes of each model constant are (indexed
  // as Graph::constants; nullopt for a constant whose bytes the graph holds): the engine reads
  // them into budgeted memory.
  std::shared_ptr<OnnxModel> onnx;
  std::vector<std::optional<OnnxTensor>> constant_sources;
};

// An .onnx file (or a folder of one, onnx_model_path) is built by the ONNX frontend
// (models/onnx_graph.cpp). Otherwise: reads DIR/config.json, dispatches on model_type (vit, bert, gpt2) and "architectures"[0] (one
// of the family's architectures model.cpp lists, else UnsupportedError naming it and them),
// opens the weights and builds the graph, checking every tensor the graph uses: present, dtype
// computable (F32, BF16, F16), shape as the config implies. Throws FormatError /
// UnsupportedError naming file and tensor.
ModelGraph build_model(const std::string& dir, const BuildOptions& opts = {});

const char* family_name(Family f);

// The .onnx file `path` names: itself when it ends in .onnx, its model.onnx when it is a folder
// holding one and no safetensors; "" otherwise (a Hugging Face folder).
std::string onnx_model_path(const std::string& path);

// fp32 tensor `name` (e.g. "embeddings.cls_token", tried under the prefixes "vit." and "") read
// from the model files in `dir`, widened from bf16/f16: for host work outside the graph.
// FormatError when absent, UnsupportedError for a non-float dtype.
std::vector<float> read_model_tensor(const std::string& dir, const std::string& name);

}  // namespace edgerun
