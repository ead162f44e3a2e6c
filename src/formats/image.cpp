// Image loading and preprocessing equal to transformers' PIL image processor (ViTImageProcessorPil
// in transformers 5; the "slow" ViTImageProcessor of 4.x): decode (stb_image), convert to RGB as
// PIL does (alpha composited onto white), resize with Pillow's filters, optional center crop,
// rescale in float64 then float32, normalize in float32, HWC -> (1, C, H, W).
// Leaves out: EXIF orientation (the processor ignores it too), animated images (first frame only),
// CMYK JPEGs, and size rules other than height/width, an int, [h, w] and shortest_edge.
#include "edgerun/preprocess.h"

#include <stb/stb_image.h>

#include <algorithm>
#include <filesystem>
#include <limits>

#include "core/error.h"
#include "formats/json_strict.h"
#include "formats/pil_resample.h"
#include "io/file.h"

namespace edgerun {

namespace {
// stb_image's failure reasons are terse codes ("outofdata", "IDA"): say what is wrong in words,
// with the code for reference. A PNG without its IEND chunk or a JPEG without its end marker was
// cut short, whatever stb_image stumbled on first.
constexpr uint8_t kJpegEnd[2] = {0xff, 0xd9};

[[noreturn]] void decode_failure(const std::string& path, const std::vector<uint8_t>& data) {
  const std::string bytes(data.begin(), data.end());
  const std::string code = stbi_failure_reason() ? stbi_failure_reason() : "?";
  const bool png = bytes.rfind("\x89PNG\r\n\x1a\n", 0) == 0;
  const bool jpeg = bytes.size() >= 2 && bytes[0] == '\xff' && bytes[1] == '\xd8';
  std::string why;
  if (png && bytes.find("IEND") == std::string::npos) why = "the PNG file is truncated (it has no IEND chunk)";
  else if (jpeg && bytes.find("\xff\xd9") == std::string::npos)
    why = "the JPEG file is truncated (it has no end-of-image marker)";
  else if (code == "unknown image type") why = "not an image format edgerun reads (PNG, JPEG, BMP, GIF, TGA, PNM, PSD, HDR)";
  else if (code == "outofdata") why = "the file ends before its image data does";
  else why = std::string("the ") + (png ? "PNG" : jpeg ? "JPEG" : "image") + " data is corrupt";
  ER_THROW(InputError, path, ": cannot decode image: ", why, " (stb_image: ", code, ")");
}
}  // namespace

namespace {

constexpr int64_t kMaxSide = 1 << 15;            // any image side or target size
constexpr int64_t kMaxPixels = int64_t{1} << 27;  // decoded image (512 MiB as RGBA)
constexpr uint64_t kMaxImageFileBytes = 256ull << 20;
constexpr uint64_t kMaxConfigBytes = 1ull << 20;

using nlohmann::json;

// Reads typed fields of preprocessor_config.json; every error names the file and the key.
class ConfigReader {
 public:
  ConfigReader(const json& j, const std::string& path) : j_(j), path_(path) {}

  // nullptr when the key is absent or null (transformers treats null as "use the default").
  const json* get(const char* key) const {
    auto it = j_.find(key);
    if (it == j_.end() || it->is_null()) return nullptr;
    return &*it;
  }
  [[noreturn]] void bad(const std::string& key, const std::string& what) const {
    ER_THROW(FormatError, path_, ": key '", key, "': ", what);
  }
  void read_bool(const char* key, bool& out) const {
    if (const json* v = get(key)) {
      if (!v->is_boolean()) bad(key, "expected true or false, got " + v->dump());
      out = v->get<bool>();
    }
  }
  int64_t size_value(const std::string& key, const json& v) const {
    if (!v.is_number_integer()) bad(key, "expected an integer size, got " + v.dump());
    // Unsigned first: a huge uint64 would wrap to a negative int64.
    const bool ok = v.is_number_unsigned()
                        ? v.get<uint64_t>() >= 1 && v.get<uint64_t>() <= static_cast<uint64_t>(kMaxSide)
                        : v.get<int64_t>() >= 1 && v.get<int64_t>() <= kMaxSide;
    if (!ok) bad(key, "size " + v.dump() + " is outside 1.." + std::to_string(kMaxSide));
    return v.get<int64_t>();
  }
  // "size"/"crop_size": an int (square), [h, w], {"height", "width"} or, where allowed,
  // {"shortest_edge"}. Returns false when the key is absent.
  bool read_size(const char* key, int64_t& h, int64_t& w, int64_t* shortest_edge) const {
    const json* v = get(key);
    if (!v) return false;
    if (v->is_number()) {
      h = w = size_value(key, *v);
    } else if (v->is_array()) {
      if (v->size() != 2) bad(key, "expected [height, width], got " + v->dump());
      h = size_value(key, (*v)[0]);
      w = size_value(key, (*v)[1]);
    } else if (v->is_object()) {
      const bool has_h = v->contains("height"), has_w = v->contains("width");
      const bool has_se = v->contains("shortest_edge");
      if (has_h && has_w && v->size() == 2) {
        h = size_value(std::string(key) + ".height", v->at("height"));
        w = size_value(std::string(key) + ".width", v->at("width"));
        if (shortest_edge) *shortest_edge = 0;
      } else if (has_se && v->size() == 1 && shortest_edge) {
        *shortest_edge = size_value(std::string(key) + ".shortest_edge", v->at("shortest_edge"));
      } else {
        ER_THROW(UnsupportedError, path_, ": key '", key, "': size rule ", v->dump(),
                 " is not supported (supported: {\"height\", \"width\"}",
                 shortest_edge ? ", {\"shortest_edge\"}" : "", ", an int, [h, w])");
      }
    } else {
      bad(key, "expected an int, [h, w] or an object, got " + v->dump());
    }
    return true;
  }
  void read_channel_values(const char* key, int64_t num_channels, std::vector<float>& out) const {
    const json* v = get(key);
    if (!v) return;
    if (v->is_number()) {
      out.assign(static_cast<size_t>(num_channels), v->get<float>());
    } else if (v->is_array()) {
      if (static_cast<int64_t>(v->size()) != num_channels)
        bad(key, "has " + std::to_string(v->size()) + " values but the model has " +
                     std::to_string(num_channels) + " channels");
      out.clear();
      for (const json& e : *v) {
        if (!e.is_number()) bad(key, "expected numbers, got " + e.dump());
        out.push_back(e.get<float>());
      }
    } else {
      bad(key, "expected a number or a list of numbers, got " + v->dump());
    }
  }

 private:
  const json& j_;
  const std::string& path_;
};

// PIL's alpha_composite of `a` over opaque white, channel value `c` (AlphaComposite.c with
// dst = (255, 255, 255, 255): 7 fractional bits, divisions by 255 done by shifts).
uint8_t composite_on_white(uint32_t c, uint32_t a) {
  if (a == 0) return 255;
  constexpr uint32_t kBits = 7;
  const uint32_t blend = 255 * (255 - a);
  const uint32_t outa255 = a * 255 + blend;
  const uint32_t coef1 = a * 255 * 255 * (1u << kBits) / outa255;
  const uint32_t coef2 = 255 * (1u << kBits) - coef1;
  const uint32_t t = c * coef1 + 255 * coef2 + (0x80u << kBits);
  return static_cast<uint8_t>((((t >> 8) + t) >> 8) >> kBits);
}

struct Decoded {
  U8Image image;
  int file_channels = 0;  // as stb reports them: 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA
};

// Decodes to `want` channels (stb's conversions: gray replicated, alpha added as 255 or dropped).
// A 16-bit grayscale PNG is clipped to 255 rather than shifted, as PIL's I;16 -> L/RGB does.
Decoded decode(const std::string& path, const std::vector<uint8_t>& bytes, int want) {
  if (bytes.size() > static_cast<size_t>(std::numeric_limits<int>::max()))
    ER_THROW(InputError, path, ": image file too large");
  const auto* data = reinterpret_cast<const stbi_uc*>(bytes.data());
  const int len = static_cast<int>(bytes.size());
  int w = 0, h = 0, comp = 0;
  // stb_image decodes a cut-off JPEG, gray below the cut; PIL (and so transformers) refuses it.
  if (bytes.size() >= 2 && bytes[0] == 0xff && bytes[1] == 0xd8 &&
      std::search(bytes.begin(), bytes.end(), kJpegEnd, kJpegEnd + 2) == bytes.end())
    ER_THROW(InputError, path, ": cannot decode image: the JPEG file is truncated (it has no end-of-image marker)");
  if (!stbi_info_from_memory(data, len, &w, &h, &comp))
    decode_failure(path, bytes);
  if (w < 1 || h < 1 || w > kMaxSide || h > kMaxSide || int64_t{w} * h > kMaxPixels)
    ER_THROW(InputError, path, ": image is ", w, "x", h, " pixels, over the limit of ", kMaxSide,
             " per side and ", kMaxPixels, " in all");
  Decoded d;
  d.file_channels = comp;
  d.image.width = w;
  d.image.height = h;
  d.image.channels = want;
  const size_t n = static_cast<size_t>(w) * static_cast<size_t>(h) * static_cast<size_t>(want);
  int w2 = 0, h2 = 0, c2 = 0;
  if (comp == 1 && stbi_is_16_bit_from_memory(data, len)) {
    stbi_us* p = stbi_load_16_from_memory(data, len, &w2, &h2, &c2, 1);
    if (!p) decode_failure(path, bytes);
    d.image.pixels.resize(n);
    const int color = want == 2 || want == 4 ? want - 1 : want;  // the rest is alpha: opaque
    for (size_t i = 0; i < static_cast<size_t>(w) * static_cast<size_t>(h); ++i)
      for (int c = 0; c < want; ++c)
        d.image.pixels[i * want + c] = c >= color ? 255 : p[i] > 255 ? 255 : static_cast<uint8_t>(p[i]);
    stbi_image_free(p);
  } else {
    stbi_uc* p = stbi_load_from_memory(data, len, &w2, &h2, &c2, want);
    if (!p) decode_failure(path, bytes);
    d.image.pixels.assign(p, p + n);
    stbi_image_free(p);
  }
  if (w2 != w || h2 != h) ER_THROW(InputError, path, ": image size changed between header and data");
  return d;
}

// transformers' convert_to_rgb for a PIL image: an image with alpha (or a transparency key,
// which stb turns into alpha) is composited onto white, then alpha is dropped.
U8Image rgba_to_rgb_on_white(const U8Image& rgba) {
  U8Image out{rgba.width, rgba.height, 3, {}};
  const size_t n = static_cast<size_t>(rgba.width * rgba.height);
  out.pixels.resize(n * 3);
  for (size_t i = 0; i < n; ++i) {
    const uint8_t* s = &rgba.pixels[i * 4];
    for (int c = 0; c < 3; ++c)
      out.pixels[i * 3 + c] = s[3] == 255 ? s[c] : composite_on_white(s[c], s[3]);
  }
  return out;
}

// PIL convert("L"): ITU-R 601-2 luma in 16-bit fixed point (Convert.c, L24).
U8Image rgb_to_l(const U8Image& rgb) {
  U8Image out{rgb.width, rgb.height, 1, {}};
  const size_t n = static_cast<size_t>(rgb.width * rgb.height);
  out.pixels.resize(n);
  for (size_t i = 0; i < n; ++i) {
    const uint8_t* s = &rgb.pixels[i * 3];
    out.pixels[i] = static_cast<uint8_t>((s[0] * 19595u + s[1] * 38470u + s[2] * 7471u + 0x8000u) >> 16);
  }
  return out;
}

// transformers' get_resize_output_image_size(default_to_square=False): the short side becomes
// `edge`, the long side int(edge * long / short) (true division, then truncation).
void shortest_edge_size(int64_t in_h, int64_t in_w, int64_t edge, int64_t& out_h, int64_t& out_w) {
  const int64_t short_side = std::min(in_h, in_w), long_side = std::max(in_h, in_w);
  const auto new_long = static_cast<int64_t>(static_cast<double>(edge * long_side) /
                                             static_cast<double>(short_side));
  if (in_w <= in_h) {
    out_h = new_long;
    out_w = edge;
  } else {
    out_h = edge;
    out_w = new_long;
  }
}

int64_t floor_div2(int64_t v) { return v >= 0 ? v / 2 : -((-v + 1) / 2); }

// transformers' center_crop: offsets floor((in - crop) / 2); where the crop is larger than the
// image the missing pixels are 0 (uint8 zeros, before rescale and normalize).
U8Image center_crop(const U8Image& in, int64_t crop_h, int64_t crop_w) {
  const int64_t top = floor_div2(in.height - crop_h), left = floor_div2(in.width - crop_w);
  const int64_t ch = in.channels;
  U8Image out{crop_w, crop_h, ch, {}};
  out.pixels.assign(static_cast<size_t>(crop_w * crop_h * ch), 0);
  for (int64_t y = 0; y < crop_h; ++y) {
    const int64_t sy = top + y;
    if (sy < 0 || sy >= in.height) continue;
    for (int64_t x = 0; x < crop_w; ++x) {
      const int64_t sx = left + x;
      if (sx < 0 || sx >= in.width) continue;
      for (int64_t c = 0; c < ch; ++c)
        out.pixels[static_cast<size_t>((y * crop_w + x) * ch + c)] =
            in.pixels[static_cast<size_t>((sy * in.width + sx) * ch + c)];
    }
  }
  return out;
}

}  // namespace

ImagePreprocess load_image_preprocess(const std::string& model_dir, int64_t num_channels,
                                      int64_t image_size) {
  const std::string path = (std::filesystem::path(model_dir) / "preprocessor_config.json").string();
  if (num_channels != 1 && num_channels != 3)
    ER_THROW(UnsupportedError, model_dir, ": num_channels ", num_channels,
             " is not supported for image input (supported: 1, 3)");
  ImagePreprocess pp;
  if (image_size > 0) {
    if (image_size > kMaxSide)
      ER_THROW(FormatError, model_dir, ": image_size ", image_size, " is over ", kMaxSide);
    pp.height = pp.width = pp.crop_height = pp.crop_width = image_size;
  }
  pp.image_mean.assign(static_cast<size_t>(num_channels), 0.5f);
  pp.image_std.assign(static_cast<size_t>(num_channels), 0.5f);
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return pp;

  const json j = parse_json_strict(read_text_file(path, kMaxConfigBytes), path,
                                   "preprocessor_config.json");
  if (!j.is_object()) ER_THROW(FormatError, path, ": expected a JSON object at the top level");
  ConfigReader r(j, path);
  r.read_bool("do_resize", pp.do_resize);
  r.read_bool("do_center_crop", pp.do_center_crop);
  r.read_bool("do_rescale", pp.do_rescale);
  r.read_bool("do_normalize", pp.do_normalize);
  r.read_bool("do_convert_rgb", pp.do_convert_rgb);
  r.read_size("size", pp.height, pp.width, &pp.shortest_edge);
  r.read_size("crop_size", pp.crop_height, pp.crop_width, nullptr);
  if (const json* v = r.get("resample")) {
    if (!v->is_number_integer() || !pil_filter_valid(v->get<int>()))
      r.bad("resample", "expected a PIL filter id 0..7, got " + v->dump());
    pp.resample = v->get<int>();
  }
  if (const json* v = r.get("rescale_factor")) {
    if (!v->is_number()) r.bad("rescale_factor", "expected a number, got " + v->dump());
    pp.rescale_factor = v->get<double>();
  }
  r.read_channel_values("image_mean", num_channels, pp.image_mean);
  r.read_channel_values("image_std", num_channels, pp.image_std);
  for (float s : pp.image_std)
    if (!(s != 0.0f)) r.bad("image_std", "a standard deviation is zero or NaN");
  return pp;
}

HostArray load_image(const std::string& path, const ImagePreprocess& pp, int64_t num_channels) {
  if (num_channels != 1 && num_channels != 3)
    ER_THROW(UnsupportedError, path, ": models with ", num_channels,
             " input channels are not supported (supported: 1, 3)");
  if (static_cast<int64_t>(pp.image_mean.size()) != num_channels ||
      static_cast<int64_t>(pp.image_std.size()) != num_channels)
    ER_THROW(InputError, path, ": image_mean/image_std have ", pp.image_mean.size(), "/",
             pp.image_std.size(), " values for a ", num_channels, "-channel model");
  if (!pil_filter_valid(pp.resample))
    ER_THROW(InputError, path, ": resample filter id ", pp.resample, " is not 0..7");

  std::vector<uint8_t> bytes;
  {
    auto f = open_file(path);
    if (f->size() > kMaxImageFileBytes)
      ER_THROW(InputError, path, ": image file is ", f->size(), " bytes, over the ",
               kMaxImageFileBytes, "-byte limit");
    bytes.resize(static_cast<size_t>(f->size()));
    if (!bytes.empty()) f->read_at(0, bytes.size(), bytes.data());
  }
  if (bytes.empty()) ER_THROW(InputError, path, ": image file is empty");

  U8Image img;
  if (pp.do_convert_rgb) {
    // RGBA covers every source layout; pixels without alpha come back with alpha 255, which the
    // composite leaves unchanged.
    img = rgba_to_rgb_on_white(decode(path, bytes, 4).image);
    if (num_channels == 1) img = rgb_to_l(img);
  } else {
    // No conversion: transformers keeps the file's layout, which must then suit the model.
    int want = static_cast<int>(num_channels);
    Decoded d = decode(path, bytes, want);
    if (d.file_channels != want)
      ER_THROW(InputError, path, ": image has ", d.file_channels, " channels, the model takes ",
               num_channels, ", and the preprocessor config sets do_convert_rgb false");
    img = std::move(d.image);
  }

  if (pp.do_resize) {
    int64_t out_h = pp.height, out_w = pp.width;
    if (pp.shortest_edge > 0) shortest_edge_size(img.height, img.width, pp.shortest_edge, out_h, out_w);
    if (out_h < 1 || out_w < 1 || out_h > kMaxSide || out_w > kMaxSide || out_h * out_w > kMaxPixels)
      ER_THROW(InputError, path, ": resizing ", img.width, "x", img.height, " gives ", out_w, "x",
               out_h, ", outside 1..", kMaxSide, " per side or over ", kMaxPixels, " pixels");
    img = pil_resize(img, out_w, out_h, static_cast<PilFilter>(pp.resample));
  }
  if (pp.do_center_crop) {
    if (pp.crop_height < 1 || pp.crop_width < 1 || pp.crop_height > kMaxSide ||
        pp.crop_width > kMaxSide || pp.crop_height * pp.crop_width > kMaxPixels)
      ER_THROW(InputError, path, ": crop size ", pp.crop_width, "x", pp.crop_height, " out of range");
    img = center_crop(img, pp.crop_height, pp.crop_width);
  }

  // (1, C, H, W). Rescale as transformers does (float64 product rounded to float32), then
  // normalize in float32 with a true division, so the values match to the bit.
  const int64_t c_n = num_channels, h = img.height, w = img.width;
  HostArray out(DType::F32, {1, c_n, h, w});
  float* dst = out.as<float>();
  for (int64_t c = 0; c < c_n; ++c) {
    const float mean = pp.image_mean[static_cast<size_t>(c)];
    const float sd = pp.image_std[static_cast<size_t>(c)];
    for (int64_t i = 0; i < h * w; ++i) {
      const uint8_t u = img.pixels[static_cast<size_t>(i * c_n + c)];
      float v = pp.do_rescale ? static_cast<float>(static_cast<double>(u) * pp.rescale_factor)
                              : static_cast<float>(u);
      if (pp.do_normalize) v = (v - mean) / sd;
      dst[c * h * w + i] = v;
    }
  }
  return out;
}

}  // namespace edgerun
