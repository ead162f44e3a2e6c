// Images (PNG, JPEG, BMP, ... through stb_image) preprocessed as a Hugging Face
// preprocessor_config.json (ViTImageProcessor) says: RGB conversion, resize with PIL's resampling
// filters reproduced exactly on uint8 data, rescale, normalize, HWC -> CHW.
#pragma once
#include <string>
#include <vector>

#include "edgerun/array.h"

namespace edgerun {

struct ImagePreprocess {
  bool do_resize = true;
  int64_t height = 224, width = 224;  // target size ("size": {"height","width"} or shortest_edge)
  int resample = 2;                   // PIL filter id: 0 nearest, 1 lanczos, 2 bilinear, 3 bicubic
  bool do_rescale = true;
  float rescale_factor = 1.0f / 255.0f;
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

}  // namespace edgerun
