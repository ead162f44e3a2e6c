// Pillow's Image.resize reproduced bit for bit on 8-bit interleaved images (Pillow 13's
// libImaging/Resample.c and the NEAREST path of Geometry.c), so that preprocessing matches
// transformers' PIL image processors exactly. Leaves out: the `box` and `reducing_gap` arguments,
// 16-bit/float images, and the premultiplied-alpha path (callers composite alpha first).
#pragma once
#include <cstdint>
#include <vector>

namespace edgerun {

// PIL filter ids (PIL.Image.Resampling).
enum class PilFilter : int {
  kNearest = 0, kLanczos = 1, kBilinear = 2, kBicubic = 3, kBox = 4, kHamming = 5,
  kMks2013 = 6, kMks2021 = 7,
};
inline bool pil_filter_valid(int id) { return id >= 0 && id <= 7; }

// An 8-bit image, rows of `width * channels` bytes, channels interleaved.
struct U8Image {
  int64_t width = 0, height = 0, channels = 0;
  std::vector<uint8_t> pixels;  // (height, width, channels)
};

// Image.resize((out_width, out_height), filter) for an image of any channel count (PIL handles
// 1, 3 and 4 channels alike: every channel is filtered independently). Sizes must be >= 1.
U8Image pil_resize(const U8Image& in, int64_t out_width, int64_t out_height, PilFilter filter);

}  // namespace edgerun
