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

}  // namespace edgerun
