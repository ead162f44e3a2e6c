// Model builders: config.json + safetensors folder -> Graph. One file per family (vit.cpp,
// bert.cpp, gpt2.cpp); shared transformer pieces live in blocks.{h,cpp}. Builders only describe
// the computation and bind nothing: slots get their file ranges, executors load them.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "edgerun/types.h"

#include "formats/safetensors.h"
#include "graph/graph.h"

namespace edgerun {

enum class Family : uint8_t { Vit, Bert, Gpt2 };
enum class Head : uint8_t { Base, ImageClassification, SequenceClassification, LmHead };

struct ModelInfo {
  std::string dir;
  Family family = Family::Vit;
  std::string model_type;    // config.json "model_type"
  std::string arch;          // class built, e.g. "ViTForImageClassification"
  Head head = Head::Base;
  int64_t hidden = 0, n_layer = 0, n_head = 0;
  int64_t vocab_size = 0, max_positions = 0, type_vocab_size = 0;
  int64_t image_size = 0, patch_size = 0, num_channels = 0;
  int64_t num_labels = 0;
  std::map<int64_t, std::string> id2label;
  int64_t eos_token_id = -1;
  std::string primary_output;  // "logits" or "last_hidden_state"
  AttnVariant attention = AttnVariant::Softmax;  // every Attention op's variant
  Precision precision = Precision::Fp32;
};

struct BuildOptions {
  // Attention variant; empty: the one config.json names under "edgerun_attention" (the variant
  // the model was trained with), else softmax.
  std::optional<AttnVariant> attention;
  // Bf16: weights rounded to bf16 when stored wider; Q16 (DESIGN.md "Numerics"): needs the
  // calibration sidecar edgerun_q16.json in the model folder; ViT and BERT only.
  Precision precision = Precision::Fp32;
  // Also build the outputs transformers returns beside the primary one: pooler_output of
  // BertModel and ViTModel (where the file holds the pooler). Off by default: the primary
  // output does not need them, and their weights would be read every pass.
  bool all_outputs = false;
};

struct ModelGraph {
  ModelInfo info;
  Graph graph;
  WeightSet weights;
};

// Reads DIR/config.json, dispatches on model_type (vit, bert, gpt2), opens the weights and builds
// the graph, checking every tensor the graph uses: present, dtype computable (F32, BF16, F16),
// shape as the config implies. Throws FormatError / UnsupportedError naming file and tensor.
ModelGraph build_model(const std::string& dir, const BuildOptions& opts = {});

const char* family_name(Family f);

// fp32 tensor `name` (e.g. "embeddings.cls_token", tried under the prefixes "vit." and "") read
// from the model files in `dir`, widened from bf16/f16: for host work outside the graph.
// FormatError when absent, UnsupportedError for a non-float dtype.
std::vector<float> read_model_tensor(const std::string& dir, const std::string& name);

}  // namespace edgerun
