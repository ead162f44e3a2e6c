// Models for tests that run whole sessions: random-weight folders from `edgerun synth` in a
// temporary folder, optionally rewritten as they also come from the Hugging Face hub (f16 or
// bf16 weights, sharded safetensors with an index), and fixed inputs for them.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "edgerun/dtype.h"
#include "edgerun/edgerun.h"
#include "formats/safetensors.h"
#include "test_util.h"

namespace edgerun::test {

struct TestModelSpec {
  std::string synth = "gpt2-tiny";  // a name of `edgerun synth --list`
  int64_t n_layer = 4;
  DType dtype = DType::F32;  // F32, BF16 or F16 weights on disk
  int shards = 1;            // > 1: model-0000i-of-0000n.safetensors + model.safetensors.index.json
  uint64_t seed = 7;
};

// Every tensor of one safetensors file, in file order, with its bytes.
struct Tensors {
  std::vector<SafetensorsEntry> entries;
  std::vector<std::vector<uint8_t>> bytes;
};
Tensors read_all_tensors(const std::string& path);
void write_all_tensors(const std::string& path, const Tensors& t);

// Writes the model into dir/name and returns its path.
std::string make_test_model(const TempDir& dir, const std::string& name, const TestModelSpec& spec);
// Rewrites every F32 tensor of dir/model.safetensors in `dtype` (F16 or BF16, round to nearest
// even), keeping names, order and the rest of the folder.
void rewrite_weights_dtype(const std::string& dir, DType dtype);
// Splits dir/model.safetensors into n shards of consecutive tensors and writes the index, as
// save_pretrained does for large models.
void split_into_shards(const std::string& dir, int n);
// Deterministic inputs: pixel values (1, C, S, S) for ViT, `tokens` token ids for text models.
Inputs test_inputs(const std::string& dir, int64_t tokens = 16);
// Round to nearest even fp32 -> IEEE half (NaN stays NaN, overflow goes to infinity).
uint16_t f32_to_f16(float f);

}  // namespace edgerun::test
