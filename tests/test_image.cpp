// Tests of image loading and preprocessing against transformers' PIL image processor
// (tests/data/images, made by scripts/make_image_fixtures.py: ViTImageProcessorPil references for
// every PIL filter, RGB/L/RGBA/P/16-bit/BMP/JPEG inputs, crops, 1-channel models), plus config
// parsing and the errors bad configs and bad image files must raise.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "test_util.h"
#include "core/error.h"
#include "edgerun/preprocess.h"
#include "formats/pil_resample.h"

namespace fs = std::filesystem;
using namespace edgerun;

using edgerun::test::read_bytes;

namespace {

const std::string kImages = std::string(EDGERUN_TEST_DATA) + "/images";

struct Case {
  std::string image, config;
  int64_t num_channels = 0;
  double tolerance = 0;
  std::string reference;
};

std::vector<Case> read_cases() {
  std::ifstream f(kImages + "/cases.txt");
  std::vector<Case> cases;
  std::string line;
  while (std::getline(f, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream is(line);
    Case c;
    is >> c.image >> c.config >> c.num_channels >> c.tolerance >> c.reference;
    if (is.fail()) ADD_FAILURE() << "bad line in cases.txt: " << line;
    cases.push_back(c);
  }
  return cases;
}

class ImageTest : public edgerun::test::TempDirTest {
 protected:
  // A model folder holding only preprocessor_config.json with `json` in it.
  std::string model_with_config(const std::string& json) {
    fs::create_directories(dir_ / "model");
    write_file("model/preprocessor_config.json", json);
    return (dir_ / "model").string();
  }
  // Expects load_image_preprocess to throw `E` naming the config file and containing `what`.
  template <typename E>
  void expect_config_error(const std::string& json, const std::string& what, int64_t channels = 3) {
    std::string dir = model_with_config(json);
    try {
      load_image_preprocess(dir, channels, 224);
      ADD_FAILURE() << "accepted config " << json;
    } catch (const E& e) {
      std::string msg = e.what();
      EXPECT_NE(msg.find("preprocessor_config.json"), std::string::npos) << msg;
      EXPECT_NE(msg.find(what), std::string::npos) << "expected '" << what << "' in: " << msg;
    }
  }

};

}  // namespace

TEST_F(ImageTest, MatchesTransformersPilImageProcessor) {
  const std::vector<Case> cases = read_cases();
  ASSERT_GE(cases.size(), 20u) << "tests/data/images/cases.txt missing or short";
  for (const Case& c : cases) {
    SCOPED_TRACE(c.image + " with " + c.config);
    ImagePreprocess pp = load_image_preprocess(kImages + "/configs/" + c.config, c.num_channels, 0);
    HostArray got = load_image(kImages + "/" + c.image, pp, c.num_channels);
    HostArray want = read_npy(kImages + "/refs/" + c.reference);
    ASSERT_EQ(got.dtype, DType::F32);
    ASSERT_EQ(want.dtype, DType::F32);
    ASSERT_EQ(got.shape, want.shape);
    double max_diff = 0, sum_diff = 0;
    for (int64_t i = 0; i < got.numel(); ++i) {
      double d = edgerun::test::max_abs_err(got.as<float>() + i, want.as<float>() + i, 1);
      max_diff = std::max(max_diff, d);
      sum_diff += d;
    }
    EXPECT_LE(max_diff, c.tolerance);
    // PNG/BMP cases carry tolerance 0: bit-identical to transformers. JPEG: stb_image and
    // libjpeg-turbo (PIL) differ in IDCT rounding, chroma upsampling and YCbCr->RGB fixed point,
    // so pixels may be a few uint8 levels apart (one level is 1/255/std, 0.008-0.017 here); the
    // tolerance in cases.txt allows that, and the mean difference must stay under one level so a
    // systematic error (a shifted or swapped channel, a wrong filter) still fails.
    if (c.tolerance > 0) {
      EXPECT_LE(sum_diff / static_cast<double>(got.numel()), 0.008);
    }
  }
}

TEST_F(ImageTest, DefaultsWhenThereIsNoConfig) {
  ImagePreprocess pp = load_image_preprocess(dir_.string(), 3, 32);
  EXPECT_TRUE(pp.do_resize);
  EXPECT_EQ(pp.height, 32);
  EXPECT_EQ(pp.width, 32);
  EXPECT_EQ(pp.shortest_edge, 0);
  EXPECT_EQ(pp.resample, 2);
  EXPECT_EQ(pp.rescale_factor, 1.0 / 255.0);
  EXPECT_EQ(pp.image_mean, (std::vector<float>{0.5f, 0.5f, 0.5f}));
  EXPECT_EQ(pp.image_std, (std::vector<float>{0.5f, 0.5f, 0.5f}));
  ImagePreprocess gray = load_image_preprocess(dir_.string(), 1, 28);
  EXPECT_EQ(gray.image_mean, (std::vector<float>{0.5f}));
  HostArray x = load_image(kImages + "/gray_19x29.png", gray, 1);
  EXPECT_EQ(x.shape, (Shape{1, 1, 28, 28}));
}

TEST_F(ImageTest, ParsesConfigVariants) {
  ImagePreprocess a = load_image_preprocess(
      model_with_config(R"({"size": 40, "resample": 3, "image_mean": 0.25, "image_std": [1, 2, 4],
          "rescale_factor": 0.5, "do_normalize": false, "do_rescale": null, "crop_size": [5, 6],
          "do_center_crop": true, "some_future_key": {"x": [1, 2]}, "image_processor_type": "X"})"),
      3, 224);
  EXPECT_EQ(a.height, 40);
  EXPECT_EQ(a.width, 40);
  EXPECT_EQ(a.resample, 3);
  EXPECT_EQ(a.image_mean, (std::vector<float>{0.25f, 0.25f, 0.25f}));
  EXPECT_EQ(a.image_std, (std::vector<float>{1.0f, 2.0f, 4.0f}));
  EXPECT_EQ(a.rescale_factor, 0.5);
  EXPECT_FALSE(a.do_normalize);
  EXPECT_TRUE(a.do_rescale);  // null: the default
  EXPECT_TRUE(a.do_center_crop);
  EXPECT_EQ(a.crop_height, 5);
  EXPECT_EQ(a.crop_width, 6);

  ImagePreprocess b = load_image_preprocess(model_with_config(R"({"size": {"shortest_edge": 7}})"), 3, 224);
  EXPECT_EQ(b.shortest_edge, 7);
  ImagePreprocess c = load_image_preprocess(model_with_config(R"({"size": [9, 11]})"), 3, 224);
  EXPECT_EQ(c.height, 9);
  EXPECT_EQ(c.width, 11);
  EXPECT_EQ(c.shortest_edge, 0);
}

TEST_F(ImageTest, RefusesBadConfigsNamingFileAndKey) {
  expect_config_error<FormatError>(R"({"do_resize": "yes"})", "'do_resize'");
  expect_config_error<FormatError>(R"({"do_convert_rgb": 1})", "'do_convert_rgb'");
  expect_config_error<FormatError>(R"({"size": "224"})", "'size'");
  expect_config_error<FormatError>(R"({"size": 0})", "'size'");
  expect_config_error<FormatError>(R"({"size": 18446744073709551615})", "'size'");
  expect_config_error<FormatError>(R"({"size": {"height": 224.5, "width": 224}})", "'size.height'");
  expect_config_error<FormatError>(R"({"size": [224]})", "'size'");
  expect_config_error<FormatError>(R"({"crop_size": {"height": -1, "width": 3}})", "'crop_size.height'");
  expect_config_error<FormatError>(R"({"resample": 8})", "'resample'");
  expect_config_error<FormatError>(R"({"resample": "bilinear"})", "'resample'");
  expect_config_error<FormatError>(R"({"rescale_factor": "1/255"})", "'rescale_factor'");
  expect_config_error<FormatError>(R"({"image_mean": [0.5, 0.5]})", "'image_mean'");
  expect_config_error<FormatError>(R"({"image_mean": [0.5, "a", 0.5]})", "'image_mean'");
  expect_config_error<FormatError>(R"({"image_std": {"r": 1}})", "'image_std'");
  expect_config_error<FormatError>(R"({"image_std": [0.5, 0, 0.5]})", "'image_std'");
  expect_config_error<FormatError>(R"({"image_mean": [0.5, 0.5, 0.5]})", "'image_mean'", 1);
  expect_config_error<FormatError>(R"([1, 2])", "object");
  expect_config_error<FormatError>(R"({"size": 224, "size": 32})", "size");  // duplicate key
  expect_config_error<FormatError>(R"({"size": )", "preprocessor_config.json");
  expect_config_error<UnsupportedError>(R"({"size": {"shortest_edge": 8, "longest_edge": 9}})",
                                        "'size'");
  expect_config_error<UnsupportedError>(R"({"crop_size": {"shortest_edge": 8}})", "'crop_size'");
  EXPECT_THROW(load_image_preprocess(dir_.string(), 4, 224), UnsupportedError);
}

TEST_F(ImageTest, ShortestEdgeKeepsTheAspectRatio) {
  ImagePreprocess pp = load_image_preprocess(model_with_config(R"({"size": {"shortest_edge": 10}})"), 3, 0);
  // 37x23: the height is the short side; width = int(10 * 37 / 23) = 16.
  EXPECT_EQ(load_image(kImages + "/rgb_37x23.png", pp, 3).shape, (Shape{1, 3, 10, 16}));
  // 19x29: the width is the short side; height = int(10 * 29 / 19) = 15.
  EXPECT_EQ(load_image(kImages + "/gray_19x29.png", pp, 3).shape, (Shape{1, 3, 15, 10}));
}

TEST_F(ImageTest, CorruptedImagesAreInputErrorsNamingTheFile) {
  const std::string png = read_bytes(kImages + "/rgb_37x23.png");
  ASSERT_GT(png.size(), 100u);
  ImagePreprocess pp;
  for (const auto& [name, bytes] : std::vector<std::pair<std::string, std::string>>{
           {"truncated.png", png.substr(0, png.size() / 2)},
           {"header_only.png", png.substr(0, 33)},
           {"garbage.png", std::string(500, '\x5a')},
           {"empty.png", ""},
       }) {
    SCOPED_TRACE(name);
    std::string p = write_file(name, bytes);
    try {
      load_image(p, pp, 3);
      ADD_FAILURE() << "decoded a corrupted image";
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what();
    }
  }
  // A PNG whose header claims a huge size is refused before anything is allocated.
  std::string huge = png;
  huge[16] = '\x7f';  // IHDR width, big-endian: 0x7f000025
  std::string p = write_file("huge.png", huge);
  EXPECT_THROW(load_image(p, pp, 3), InputError);
}

TEST_F(ImageTest, MissingImageIsAnIoErrorNamingTheFile) {
  std::string p = (dir_ / "absent.png").string();
  try {
    load_image(p, ImagePreprocess{}, 3);
    ADD_FAILURE() << "loaded a missing file";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what();
  }
}

TEST_F(ImageTest, ChannelMismatchWithoutConversionIsAnInputError) {
  ImagePreprocess pp = load_image_preprocess(model_with_config(R"({"do_convert_rgb": false})"), 3, 8);
  EXPECT_THROW(load_image(kImages + "/gray_19x29.png", pp, 3), InputError);
  EXPECT_THROW(load_image(kImages + "/rgba_23x17.png", pp, 3), InputError);
  EXPECT_EQ(load_image(kImages + "/rgb_37x23.png", pp, 3).shape, (Shape{1, 3, 8, 8}));
  EXPECT_THROW(load_image(kImages + "/rgb_37x23.png", pp, 2), UnsupportedError);
}

TEST(PilResample, ConstantImagesStayConstantUnderEveryFilter) {
  U8Image in{13, 7, 3, {}};
  for (size_t i = 0; i < 13 * 7; ++i) {
    in.pixels.push_back(0);
    in.pixels.push_back(200);
    in.pixels.push_back(255);
  }
  for (int f = 0; f <= 7; ++f) {
    for (auto [w, h] : {std::pair{5, 3}, std::pair{29, 17}, std::pair{13, 2}, std::pair{1, 1}}) {
      SCOPED_TRACE("filter " + std::to_string(f) + " to " + std::to_string(w) + "x" + std::to_string(h));
      U8Image out = pil_resize(in, w, h, static_cast<PilFilter>(f));
      ASSERT_EQ(out.width, w);
      ASSERT_EQ(out.height, h);
      ASSERT_EQ(out.pixels.size(), static_cast<size_t>(w * h * 3));
      for (size_t i = 0; i < out.pixels.size(); i += 3) {
        EXPECT_EQ(out.pixels[i], 0);
        EXPECT_EQ(out.pixels[i + 1], 200);
        EXPECT_EQ(out.pixels[i + 2], 255);
      }
    }
  }
}

TEST_F(ImageTest, CorruptedBytesNeverCrash) {
  // Byte edits and truncations of real files: each load either succeeds or throws InputError.
  ImagePreprocess pp = load_image_preprocess(dir_.string(), 3, 8);
  for (const char* name : {"gray16_7x5.png", "palette_trns_13x11.png", "photo_40x40.jpg", "rgb_37x23.bmp"}) {
    SCOPED_TRACE(name);
    const std::string good = read_bytes(kImages + "/" + name);
    auto check = [&](const std::string& bytes) {
      std::string p = write_file("m.img", bytes);
      try {
        HostArray a = load_image(p, pp, 3);
        EXPECT_EQ(a.shape, (Shape{1, 3, 8, 8}));
      } catch (const InputError&) {
      }
    };
    for (size_t i = 0; i < good.size(); i += 3) {
      std::string b = good;
      b[i] = static_cast<char>(b[i] ^ 0xa5);
      check(b);
    }
    for (size_t n = 0; n < good.size(); n += 5) check(good.substr(0, n));
  }
}
