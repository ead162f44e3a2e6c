// Implemented in src/formats/
//
// Model inputs from files: the tokenizers of the text models (WordPiece for BERT, byte-level BPE
// for GPT-2), image preprocessing as a Hugging Face preprocessor_config.json says, and .npy
// arrays. Results equal what transformers / tokenizers / numpy produce for the same files.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "edgerun/array.h"

namespace edgerun {

// ---- model folders ----
// A Hugging Face hub cache repo folder (models--ORG--NAME, as huggingface_hub downloads it)
// resolves to the snapshot refs/main names (or its only snapshot); any other path is returned
// as it is. Throws FormatError for a broken cache (refs/main naming no snapshot), InputError for
// an ambiguous one.
std::string resolve_model_folder(const std::string& path);

// ---- tokenizers ----
// Read from the files transformers saves: tokenizer.json first; else vocab.txt +
// tokenizer_config.json (WordPiece) or vocab.json + merges.txt (BPE).

struct Encoding {
  std::vector<int64_t> ids;
  std::vector<int64_t> token_type_ids;  // zeros for a single sequence
  std::vector<int64_t> attention_mask;  // ones
};

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  // Encodes one text; for WordPiece with special tokens this is [CLS] ... [SEP] as
  // BertTokenizer(Fast) produces by default; for GPT-2's BPE no specials are added.
  virtual Encoding encode(std::string_view text, bool add_special_tokens = true) const = 0;
  // Decodes ids back to text (skipping special tokens when asked).
  virtual std::string decode(const std::vector<int64_t>& ids,
                             bool skip_special_tokens = false) const = 0;
  virtual int64_t vocab_size() const = 0;
};

// Loads the tokenizer of a model folder. `kind_hint` is "wordpiece" or "bpe" (from the model
// family) and is used when only the legacy files exist. Throws FormatError/IoError naming the file.
std::unique_ptr<Tokenizer> load_tokenizer(const std::string& model_dir, std::string_view kind_hint);

// ---- images ----
// PNG, JPEG, BMP, ... preprocessed as ViTImageProcessor does: RGB conversion, resize with PIL's
// resampling filters reproduced exactly on uint8 data, rescale, normalize, HWC -> CHW.

struct ImagePreprocess {
  bool do_resize = true;
  int64_t height = 224, width = 224;  // target size ("size": {"height","width"}, an int, [h, w])
  int64_t shortest_edge = 0;          // > 0: "size": {"shortest_edge"}, aspect kept; height/width unused
  int resample = 2;  // PIL filter id: 0 nearest, 1 lanczos, 2 bilinear, 3 bicubic, 4 box, 5 hamming,
                     // 6 mks2013, 7 mks2021
  bool do_center_crop = false;        // after the resize, zero-padded where the image is smaller
  int64_t crop_height = 224, crop_width = 224;
  bool do_rescale = true;
  double rescale_factor = 1.0 / 255.0;  // double: transformers multiplies in float64, then rounds
  bool do_normalize = true;
  std::vector<float> image_mean{0.5f, 0.5f, 0.5f};
  std::vector<float> image_std{0.5f, 0.5f, 0.5f};
  bool do_convert_rgb = true;
};

// Parses preprocessor_config.json in `model_dir`; defaults (ViTImageProcessor's) when absent.
// `num_channels`/`image_size` from config.json fill what the file leaves out.
ImagePreprocess load_image_preprocess(const std::string& model_dir, int64_t num_channels,
                                      int64_t image_size);

// Decodes the image file and returns pixel values, float32 (1, C, H, W). Throws InputError naming
// the file when it does not decode or has the wrong channel count.
HostArray load_image(const std::string& path, const ImagePreprocess& pp, int64_t num_channels);

// ---- .npy ----
// NumPy format versions 1.0-3.0, little-endian, C order only. Reading validates the header
// (magic, version, dict, shape, size == file size) of untrusted files.

// Throws FormatError naming the file for bad magic, unsupported version, big-endian or
// Fortran-order data, unknown dtype descriptors, or a data size that disagrees with the shape.
HostArray read_npy(const std::string& path);
// Writes format 1.0 (or 2.0 when the header needs it). Throws IoError.
void write_npy(const std::string& path, const HostArray& a);
// As write_npy, but `path` is replaced only once the whole array is written (a temporary file
// renamed into place), so a failure leaves no partial output. Throws IoError.
void write_npy_atomic(const std::string& path, const HostArray& a);

}  // namespace edgerun
