// Bad input, one test each: every case gives one clear error (typed, naming the file or the
// value) and never a crash or a partial result. Fixtures are copies of golden models altered in a
// temporary folder.
#include <gtest/gtest.h>

#include "test_util.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "edgerun/edgerun.h"
#include "formats/safetensors.h"
#include "io/file.h"

using namespace edgerun;
namespace fs = std::filesystem;

using edgerun::test::error_of;

namespace {
const std::string kGolden = std::string(EDGERUN_TEST_DATA) + "/golden";

struct TempModel {
  fs::path dir;
  explicit TempModel(const std::string& fixture) {
    dir = fs::temp_directory_path() / ("edgerun_bad_" + fixture + "_" + std::to_string(::getpid()) +
                                       "_" + std::to_string(counter++));
    fs::remove_all(dir);
    fs::copy(kGolden + "/" + fixture, dir, fs::copy_options::recursive);
  }
  ~TempModel() { fs::remove_all(dir); }
  std::string path(const std::string& f = "") const { return (dir / f).string(); }
  nlohmann::json config() const { return nlohmann::json::parse(read_text_file(path("config.json"))); }
  void set_config(const nlohmann::json& j) const { std::ofstream(path("config.json")) << j.dump(); }
  static inline int counter = 0;
};

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// Rewrites model.safetensors keeping every tensor but `drop`, and replacing `reshape` by a tensor
// of shape `shape` (zeros).
void rewrite_weights(const TempModel& m, const std::string& drop, const std::string& reshape = "",
                     Shape shape = {}) {
  SafetensorsFile f = SafetensorsFile::open(m.path("model.safetensors"));
  auto file = open_file(m.path("model.safetensors"));
  std::vector<std::vector<uint8_t>> bufs;
  std::vector<SafetensorsWriteItem> items;
  for (const auto& e : f.entries()) {
    if (e.name == drop) continue;
    std::vector<uint8_t> b(e.nbytes());
    Shape s = e.shape;
    if (e.name == reshape) {
      s = shape;
      b.assign(static_cast<size_t>(shape_numel(shape) * dtype_size(e.dtype)), 0);
    } else if (!b.empty()) {
      file->read_at(e.begin, b.size(), b.data());
    }
    bufs.push_back(std::move(b));
    items.push_back({e.name, e.dtype, s, bufs.back().data()});
  }
  file.reset();
  write_safetensors(m.path("model.safetensors"), items);
}

HostArray ids(std::vector<int64_t> v) {
  HostArray a(DType::I64, {1, static_cast<int64_t>(v.size())});
  std::copy(v.begin(), v.end(), a.as<int64_t>());
  return a;
}
}  // namespace

TEST(BadInput, UnknownModelType) {
  TempModel m("bert_cls");
  auto c = m.config();
  c["model_type"] = "llama";
  m.set_config(c);
  auto e = error_of<UnsupportedError>([&] { Session::open(m.path(), {}); });
  EXPECT_TRUE(contains(e, "llama") && contains(e, "config.json")) << e;
}

TEST(BadInput, MalformedConfig) {
  TempModel m("bert_cls");
  std::ofstream(m.path("config.json")) << "{\"model_type\": \"bert\",";
  auto e = error_of<FormatError>([&] { Session::open(m.path(), {}); });
  EXPECT_TRUE(contains(e, "config.json")) << e;
}

TEST(BadInput, RelativePositionEmbeddingsRefused) {
  TempModel m("bert_cls");
  auto c = m.config();
  c["position_embedding_type"] = "relative_key";
  m.set_config(c);
  auto e = error_of<UnsupportedError>([&] { Session::open(m.path(), {}); });
  EXPECT_TRUE(contains(e, "relative_key")) << e;
}

TEST(BadInput, MissingTensor) {
  TempModel m("bert_cls");
  rewrite_weights(m, "bert.encoder.layer.1.output.dense.weight");
  auto e = error_of<FormatError>([&] { Session::open(m.path(), {}); });
  EXPECT_TRUE(contains(e, "encoder.layer.1.output.dense.weight")) << e;
}

TEST(BadInput, TensorShapeDisagreesWithConfig) {
  TempModel m("bert_cls");
  auto c = m.config();
  c["intermediate_size"] = c["intermediate_size"].get<int>() + 1;
  m.set_config(c);
  auto e = error_of<FormatError>([&] { Session::open(m.path(), {}); });
  EXPECT_TRUE(contains(e, "intermediate.dense.weight") && contains(e, "shape")) << e;
}

TEST(BadInput, TensorShapeDisagreesInFile) {
  TempModel m("gpt2_lm");
  rewrite_weights(m, "", "transformer.h.0.mlp.c_fc.weight", {3, 5});
  auto e = error_of<FormatError>([&] { Session::open(m.path(), {}); });
  EXPECT_TRUE(contains(e, "h.0.mlp.c_fc.weight") && contains(e, "model.safetensors")) << e;
}

TEST(BadInput, TruncatedWeights) {
  TempModel m("vit_cls");
  auto size = fs::file_size(m.path("model.safetensors"));
  fs::resize_file(m.path("model.safetensors"), size - 100);
  auto e = error_of<FormatError>([&] { Session::open(m.path(), {}); });
  EXPECT_TRUE(contains(e, "model.safetensors")) << e;
}

TEST(BadInput, PickleOnlyFolder) {
  TempModel m("vit_cls");
  fs::remove(m.path("model.safetensors"));
  std::ofstream(m.path("pytorch_model.bin")) << "not really a pickle";
  auto e = error_of<FormatError>([&] { Session::open(m.path(), {}); });
  EXPECT_TRUE(contains(e, "pickle")) << e;
}

TEST(BadInput, TokenIdOutsideVocabulary) {
  auto s = Session::open(kGolden + "/gpt2_lm", {});
  Inputs in;
  in.input_ids = ids({1, 2, s->summary().vocab_size});
  auto e = error_of<InputError>([&] { s->run(in); });
  EXPECT_TRUE(contains(e, "outside the vocabulary")) << e;
  in.input_ids = ids({-1});
  EXPECT_TRUE(contains(error_of<InputError>([&] { s->run(in); }), "-1"));
}

TEST(BadInput, EmptyInput) {
  auto s = Session::open(kGolden + "/bert_cls", {});
  Inputs in;
  in.input_ids = HostArray(DType::I64, {1, 0});
  auto e = error_of<InputError>([&] { s->run(in); });
  EXPECT_TRUE(contains(e, "empty")) << e;
}

TEST(BadInput, WrongPixelShape) {
  auto s = Session::open(kGolden + "/vit_cls", {});
  Inputs in;
  in.pixel_values = HostArray(DType::F32, {1, 3, 5, 5});
  auto e = error_of<InputError>([&] { s->run(in); });
  EXPECT_TRUE(contains(e, "(1, 3, 5, 5)")) << e;
}

TEST(BadInput, GenerationPastPositions) {
  auto s = Session::open(kGolden + "/gpt2_lm", {});
  GenerateParams g;
  g.new_tokens = s->summary().max_positions;
  auto e = error_of<InputError>([&] { s->generate(ids({1, 2}), g); });
  EXPECT_TRUE(contains(e, "positions")) << e;
}

TEST(BadInput, BudgetTooSmallIsRefused) {
  SessionOptions o;
  o.budget_bytes = 4096;
  auto s = Session::open(kGolden + "/bert_cls", o);
  Inputs in;
  in.input_ids = ids({1, 2, 3});
  auto e = error_of<BudgetError>([&] { s->run(in); });
  EXPECT_TRUE(contains(e, "budget")) << e;
}
