// Sharded-folder resolution of the safetensors reader: model.safetensors, the index and its
// shards (path confinement, missing or duplicated tensors), pickle-only and empty folders.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "formats/safetensors.h"
#include "io/file.h"
#include "safetensors_test_util.h"

using namespace edgerun;
using namespace edgerun::test;
namespace fs = std::filesystem;

namespace {
void write_shard(const std::string& path, const std::vector<std::string>& names, float base) {
  std::vector<std::vector<float>> vals;
  std::vector<SafetensorsWriteItem> items;
  for (size_t i = 0; i < names.size(); ++i) vals.push_back({base + i, base + i + 0.5f});
  for (size_t i = 0; i < names.size(); ++i)
    items.push_back({names[i], DType::F32, {2}, vals[i].data()});
  write_safetensors(path, items);
}

void write_index(const TempDir& d, const std::string& weight_map_body) {
  write_bytes(d.file("model.safetensors.index.json"),
              R"({"metadata":{"total_size":48},"weight_map":{)" + weight_map_body + "}}");
}
}  // namespace

TEST(SafetensorsFolder, SingleFile) {
  TempDir d;
  write_shard(d.file("model.safetensors"), {"x", "y"}, 1.f);
  write_bytes(d.file("pytorch_model.bin"), "ignored");  // safetensors wins over pickle
  auto ws = open_weights(d.path().string());
  ASSERT_EQ(ws.files.size(), 1u);
  ASSERT_EQ(ws.tensors.size(), 2u);
  const auto* y = ws.find("y");
  ASSERT_NE(y, nullptr);
  EXPECT_EQ(y->file, 0);
  EXPECT_EQ(y->entry, ws.files[0].find("y"));
  EXPECT_EQ(ws.find("z"), nullptr);
}

TEST(SafetensorsFolder, ShardedFolderWorks) {
  TempDir d;
  write_shard(d.file("model-00001-of-00002.safetensors"), {"a", "b"}, 10.f);
  write_shard(d.file("model-00002-of-00002.safetensors"), {"c"}, 20.f);
  write_index(d, R"("c":"model-00002-of-00002.safetensors","a":"model-00001-of-00002.safetensors",)"
                 R"("b":"model-00001-of-00002.safetensors")");
  auto ws = open_weights(d.path().string());
  ASSERT_EQ(ws.files.size(), 2u);
  EXPECT_NE(ws.files[0].path().find("model-00001-of-00002"), std::string::npos);
  ASSERT_EQ(ws.tensors.size(), 3u);
  const auto* c = ws.find("c");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->file, 1);
  EXPECT_EQ(c->entry->name, "c");
  EXPECT_EQ(ws.find("b")->file, 0);
  float v[2];
  open_file(ws.files[c->file].path())->read_at(c->entry->begin, 8, v);
  EXPECT_EQ(v[0], 20.f);
  EXPECT_EQ(v[1], 20.5f);
  open_file(ws.files[1].path());  // paths are usable as given
}

TEST(SafetensorsFolder, SymlinkInsideFolderIsAccepted) {
  TempDir d;
  fs::create_directory(d.path() / "blobs");
  write_shard(d.file("blobs/abc"), {"a"}, 1.f);
  fs::create_symlink("blobs/abc", d.path() / "s1.safetensors");
  write_index(d, R"("a":"s1.safetensors")");
  auto ws = open_weights(d.path().string());
  EXPECT_EQ(ws.tensors.size(), 1u);
}

TEST(SafetensorsFolder, ShardWithDotDotIsRefused) {
  TempDir outer;
  fs::create_directory(outer.path() / "m");
  write_shard(outer.file("x.safetensors"), {"a"}, 1.f);  // exists, so only confinement refuses it
  const std::string dir = outer.file("m");
  write_bytes(dir + "/model.safetensors.index.json", R"({"weight_map":{"a":"../x.safetensors"}})");
  expect_format_error([&] { open_weights(dir); },
                      {"model.safetensors.index.json", "../x.safetensors", ".."});
}

TEST(SafetensorsFolder, AbsoluteShardPathIsRefused) {
  TempDir other, d;
  write_shard(other.file("x.safetensors"), {"a"}, 1.f);
  write_index(d, "\"a\":\"" + other.file("x.safetensors") + "\"");
  expect_format_error([&] { open_weights(d.path().string()); },
                      {other.file("x.safetensors"), "absolute"});
}

TEST(SafetensorsFolder, SymlinkOutsideFolderIsRefused) {
  TempDir outer;
  // A sibling whose name shares the folder's prefix ("m" / "m2") must not count as inside.
  fs::create_directory(outer.path() / "m");
  fs::create_directory(outer.path() / "m2");
  write_shard(outer.file("m2/x.safetensors"), {"a"}, 1.f);
  fs::create_symlink("../m2/x.safetensors", outer.path() / "m" / "s.safetensors");
  const std::string dir = outer.file("m");
  write_bytes(dir + "/model.safetensors.index.json", R"({"weight_map":{"a":"s.safetensors"}})");
  expect_format_error([&] { open_weights(dir); }, {"s.safetensors", "outside the model folder"});
}

TEST(SafetensorsFolder, MissingShardIsRefused) {
  TempDir d;
  write_index(d, R"("a":"gone.safetensors")");
  expect_format_error([&] { open_weights(d.path().string()); },
                      {"gone.safetensors", "cannot be resolved"});
}

TEST(SafetensorsFolder, TensorMappedToShardThatLacksItIsRefused) {
  TempDir d;
  write_shard(d.file("s1.safetensors"), {"a"}, 1.f);
  write_shard(d.file("s2.safetensors"), {"b"}, 2.f);
  write_index(d, R"("a":"s1.safetensors","b":"s1.safetensors")");
  expect_format_error([&] { open_weights(d.path().string()); },
                      {"\"b\"", "s1.safetensors", "does not hold it"});
}

TEST(SafetensorsFolder, TensorStoredInTwoShardsIsRefused) {
  TempDir d;
  write_shard(d.file("s1.safetensors"), {"a", "b"}, 1.f);
  write_shard(d.file("s2.safetensors"), {"b"}, 2.f);
  write_index(d, R"("a":"s1.safetensors","b":"s2.safetensors")");
  expect_format_error([&] { open_weights(d.path().string()); },
                      {"\"b\"", "s1.safetensors", "s2.safetensors"});
}

TEST(SafetensorsFolder, TensorListedTwiceInIndexIsRefused) {
  TempDir d;
  write_shard(d.file("s1.safetensors"), {"a"}, 1.f);
  write_shard(d.file("s2.safetensors"), {"a2"}, 2.f);
  write_index(d, R"("a":"s1.safetensors","a":"s2.safetensors")");
  expect_format_error([&] { open_weights(d.path().string()); },
                      {"duplicate key \"a\"", "weight_map"});
}

TEST(SafetensorsFolder, MalformedIndexIsRefused) {
  TempDir d;
  write_bytes(d.file("model.safetensors.index.json"), R"({"metadata":{}})");
  expect_format_error([&] { open_weights(d.path().string()); }, {"weight_map"});
  write_bytes(d.file("model.safetensors.index.json"), R"({"weight_map":{"a":3}})");
  expect_format_error([&] { open_weights(d.path().string()); },
                      {"weight_map[\"a\"]", "not a file name"});
  write_bytes(d.file("model.safetensors.index.json"), R"({"weight_map":{"a":""}})");
  expect_format_error([&] { open_weights(d.path().string()); }, {"empty file name"});
  write_bytes(d.file("model.safetensors.index.json"), R"({"weight_map":)");
  expect_format_error([&] { open_weights(d.path().string()); }, {"not valid JSON"});
}

TEST(SafetensorsFolder, ShardErrorsNameTheShard) {
  TempDir d;
  write_bytes(d.file("s1.safetensors"), "short");
  write_index(d, R"("a":"s1.safetensors")");
  expect_format_error([&] { open_weights(d.path().string()); }, {"s1.safetensors", "too short"});
}

TEST(SafetensorsFolder, PickleOnlyFolderIsRefused) {
  TempDir d;
  write_bytes(d.file("pytorch_model.bin"), "\x80\x02pickle");
  write_bytes(d.file("config.json"), "{}");
  expect_format_error(
      [&] { open_weights(d.path().string()); },
      {d.path().string(), "pickle", "pytorch_model.bin", "weights_only=True", "model.safetensors"});
}

TEST(SafetensorsFolder, OtherPickleExtensionsAreRefused) {
  for (const char* name : {"weights.pt", "model.pth", "last.ckpt", "other.bin"}) {
    TempDir d;
    write_bytes(d.file(name), "x");
    expect_format_error([&] { open_weights(d.path().string()); }, {"pickle", name});
  }
}

TEST(SafetensorsFolder, EmptyFolder) {
  TempDir d;
  expect_format_error(
      [&] { open_weights(d.path().string()); },
      {"no model.safetensors or model.safetensors.index.json in " + d.path().string()});
}

TEST(SafetensorsFolder, MissingFolderIsIoError) {
  TempDir d;
  EXPECT_THROW(open_weights(d.file("nope")), IoError);
  write_bytes(d.file("plain"), "x");
  EXPECT_THROW(open_weights(d.file("plain")), IoError);
}

