// Implemented in src/runtime/
//
// What `edgerun run` does around a Session, as library calls: turn a user's input (a .npy, an
// image, a text file, a text, token ids) into the model's Inputs; the top-k labels of a
// classifier and their accuracy against true labels; generation with the generated text; and
// the JSON reports of a run and of a plan.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "edgerun/array.h"
#include "edgerun/edgerun.h"
#include "edgerun/preprocess.h"

namespace edgerun {

// Exactly one of file, text, ids. `file`: .npy (pixel values float32 (N, C, H, W) or token ids
// int64 (N, T)), an image (ViT) or a text file (BERT, GPT-2); "-" reads standard input, told
// apart by content (.npy magic, else an image for ViT, text otherwise). `ids`: comma-separated
// token ids (text models). Unreadable or malformed input files are InputError.
//
// ONNX models take `files` instead: one "NAME=PATH" per graph input, or one PATH for a graph of
// one input; a .npy is taken as it is (dtype and shape are checked against the graph when it
// runs), an image is decoded, resized to image_size x image_size (default: the input's declared
// height and width, else 224) with PIL's bilinear filter, scaled to [0, 1] and normalized by
// mean and std (default torchvision's ImageNet values), as float32 (1, C, H, W).
struct InputSpec {
  std::string file, text, ids;
  std::string attention_mask_npy, token_type_ids_npy;  // BERT, int64 .npy (N, T); optional
  std::vector<std::string> files;                      // ONNX models
  int64_t image_size = 0;
  std::vector<float> mean, std;
};

// A model's input and, when it came from text, the tokenizer that encoded it.
class EncodedInput {
 public:
  Inputs inputs;
  // The input was text (--text or a text file): decode() and the generated text work.
  bool from_text() const { return tokenizer_ != nullptr; }
  // Text of `ids` through the input's tokenizer; InternalError unless from_text().
  std::string decode(const std::vector<int64_t>& ids) const;
  // Every token id of inputs.input_ids, row after row (empty for pixel inputs).
  std::vector<int64_t> input_ids() const;
  // Tokens the input's tokenizer can decode (0 unless from_text()).
  int64_t vocab_size() const;

  EncodedInput();
  ~EncodedInput();
  EncodedInput(EncodedInput&&) noexcept;
  EncodedInput& operator=(EncodedInput&&) noexcept;

 private:
  friend EncodedInput encode_input(const std::string&, const ModelSummary&, const InputSpec&);
  std::unique_ptr<Tokenizer> tokenizer_;
};

// Throws InputError for no or several inputs, an input the model does not take (--text for an
// image model, say), an empty token list; FormatError / IoError from the files.
EncodedInput encode_input(const std::string& model_dir, const ModelSummary& m, const InputSpec& spec);

// One label of a classifier's output row: its id, name (config.json id2label, else "LABEL_<id>")
// and logit.
struct TopLabel {
  int64_t id = 0;
  std::string label;
  float logit = 0;
};
// The k highest logits of each row of (B, labels) logits, highest first (ties: lower id first).
std::vector<std::vector<TopLabel>> top_labels(const HostArray& logits, const ModelSummary& m, int64_t k);

struct Accuracy {
  int64_t correct = 0, total = 0;
  double fraction() const { return total ? static_cast<double>(correct) / static_cast<double>(total) : 0.0; }
};
// Top-1 accuracy against true labels, int64 .npy (N,) with one entry per row (InputError else).
Accuracy top1_accuracy(const std::vector<std::vector<TopLabel>>& top, const std::string& labels_npy);

// What one `edgerun run` computed, for its JSON report.
struct RunOutcome {
  std::string model;  // the folder, as given
  HostArray primary;  // the primary output, or the generated ids (N, T0 + new)
  bool generated = false;
  std::optional<std::string> generated_text;        // generation from a text input
  std::vector<std::vector<TopLabel>> top;           // classifiers (empty for generation)
  std::optional<Accuracy> accuracy;
};
// The JSON `edgerun run --json` prints: the model, what it computed and the session's report.
std::string run_json(const ModelSummary& m, const Report& r, const RunOutcome& o);

// The model's input for `edgerun plan`: zeros of the shape a pass takes, `batch` images or
// `batch` sequences of `seq` tokens. InputError when seq exceeds the model's positions.
// ONNX models: each graph input as declared, its first dimension `batch` when symbolic, or the
// shape `input_shapes` gives it ("NAME=1x3x224x224", or the dims alone for a graph of one
// input); another symbolic dimension without a shape given is an InputError naming it.
Inputs planning_input(const ModelSummary& m, int64_t batch, int64_t seq,
                      const std::vector<std::string>& input_shapes = {});
// The JSON `edgerun plan --json` prints: the plan, the model folder and the budget.
std::string plan_json(const PlanSummary& p, const std::string& model, uint64_t budget_bytes);

}  // namespace edgerun
