// Safetensors reader: round trip through write_safetensors, a file written by the Python library,
// one test per malformed header (each must be a FormatError naming the file and tensor), a byte
// fuzz. Sharded folders are tested in test_safetensors_folder.cpp.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "core/error.h"
#include "formats/safetensors.h"
#include "io/file.h"
#include "safetensors_test_util.h"

using namespace edgerun;
using namespace edgerun::test;
namespace fs = std::filesystem;

// ---- valid files ----

TEST(Safetensors, RoundTripThroughWriter) {
  TempDir d;
  const std::string p = d.file("rt.safetensors");
  std::vector<float> a{1.f, -2.f, 3.5f, 4.f, 5.f, 6.f};
  std::vector<uint16_t> b{0x3f80, 0x4000, 0xc040};
  std::vector<int64_t> c{-1, 1LL << 40};
  std::vector<uint8_t> flags{1, 0, 1, 1};
  write_safetensors(p,
                    {{"layer.0.weight", DType::F32, {2, 3}, a.data()},
                     {"emb", DType::BF16, {3}, b.data()},
                     {"empty", DType::F16, {0, 4}, nullptr},
                     {"ids", DType::I64, {2}, c.data()},
                     {"mask", DType::BOOL, {2, 1, 2}, flags.data()}},
                    {{"format", "pt"}, {"note", "x\"y"}});
  auto f = SafetensorsFile::open(p);
  EXPECT_EQ(f.path(), p);
  EXPECT_EQ(f.data_offset() % 8, 0u);
  EXPECT_EQ(f.file_size(), f.data_offset() + 24 + 6 + 0 + 16 + 4);
  EXPECT_EQ(f.metadata(), (std::map<std::string, std::string>{{"format", "pt"}, {"note", "x\"y"}}));
  ASSERT_EQ(f.entries().size(), 5u);
  // Entries come back sorted by offset, which is the writer's order.
  const char* names[] = {"layer.0.weight", "emb", "empty", "ids", "mask"};
  for (size_t i = 0; i < 5; ++i) EXPECT_EQ(f.entries()[i].name, names[i]);

  const auto* w = f.find("layer.0.weight");
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->dtype, DType::F32);
  EXPECT_EQ(w->shape, (Shape{2, 3}));
  EXPECT_EQ(w->begin, f.data_offset());
  EXPECT_EQ(w->nbytes(), 24u);
  const auto* e = f.find("empty");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->shape, (Shape{0, 4}));
  EXPECT_EQ(e->begin, e->end);
  EXPECT_EQ(e->begin, f.data_offset() + 30);
  EXPECT_EQ(f.find("mask")->end, f.file_size());
  EXPECT_EQ(f.find("nope"), nullptr);
  EXPECT_EQ(f.find("layer.0"), nullptr);  // exact names only

  auto rf = open_file(p);
  std::vector<float> got(6);
  rf->read_at(w->begin, w->nbytes(), got.data());
  EXPECT_EQ(got, a);
  std::vector<int64_t> got_c(2);
  rf->read_at(f.find("ids")->begin, 16, got_c.data());
  EXPECT_EQ(got_c, c);
  std::vector<uint16_t> got_b(3);
  rf->read_at(f.find("emb")->begin, 6, got_b.data());
  EXPECT_EQ(got_b, b);
  EXPECT_FALSE(fs::exists(p + ".tmp"));
}

TEST(Safetensors, WriterPadsHeaderWithSpacesAndWritesNoMetadataWhenEmpty) {
  TempDir d;
  const std::string p = d.file("pad.safetensors");
  uint8_t v = 7;
  write_safetensors(p, {{"x", DType::U8, {1}, &v}});
  const std::string bytes = read_all(p);
  uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  EXPECT_EQ((8 + n) % 8, 0u);
  const std::string header = bytes.substr(8, n);
  EXPECT_EQ(header.find("__metadata__"), std::string::npos);
  EXPECT_EQ(header.substr(0, header.find_last_not_of(' ') + 1),
            R"({"x":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}})");
  EXPECT_EQ(bytes.size(), 8 + n + 1);
  EXPECT_EQ(static_cast<uint8_t>(bytes.back()), 7);
  EXPECT_EQ(SafetensorsFile::open(p).entries().size(), 1u);
}

TEST(Safetensors, WriterRefusesDuplicateAndReservedNames) {
  TempDir d;
  float x = 1;
  EXPECT_THROW(
      write_safetensors(d.file("a"), {{"t", DType::F32, {1}, &x}, {"t", DType::F32, {1}, &x}}),
      InputError);
  EXPECT_THROW(write_safetensors(d.file("b"), {{"__metadata__", DType::F32, {1}, &x}}), InputError);
}

TEST(Safetensors, HandPaddedHeaderAndZeroSizeTensorsAreValid) {
  TempDir d;
  const std::string p = d.file("z.safetensors");
  // Two zero-size tensors sharing an offset with a real one; header padded with many spaces.
  const std::string h = R"({"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                        R"("a":{"dtype":"I8","shape":[0],"data_offsets":[0,0]},)"
                        R"("c":{"dtype":"F64","shape":[3,0,2],"data_offsets":[4,4]}})" +
                        std::string(37, ' ');
  write_bytes(p, raw_file(h, 4));
  auto f = SafetensorsFile::open(p);
  ASSERT_EQ(f.entries().size(), 3u);
  EXPECT_EQ(f.entries()[0].name, "a");
  EXPECT_EQ(f.entries()[1].name, "b");
  EXPECT_EQ(f.entries()[2].name, "c");
  EXPECT_EQ(f.find("c")->begin, f.file_size());
  EXPECT_EQ(f.data_offset(), 8 + h.size());
}

TEST(Safetensors, EmptyHeaderWithNoDataIsValid) {
  TempDir d;
  const std::string p = d.file("e.safetensors");
  write_bytes(p, raw_file("{}", 0));
  auto f = SafetensorsFile::open(p);
  EXPECT_TRUE(f.entries().empty());
  EXPECT_TRUE(f.metadata().empty());
}

TEST(Safetensors, ReadsFileWrittenByPythonLibrary) {
  const std::string p = std::string(EDGERUN_TEST_DATA) + "/safetensors/all_dtypes.safetensors";
  auto f = SafetensorsFile::open(p);
  EXPECT_EQ(f.metadata(), (std::map<std::string, std::string>{
                              {"format", "pt"}, {"source", "make_safetensors_fixtures.py"}}));
  EXPECT_EQ(f.data_offset(), 8u + 1104u);
  EXPECT_EQ(f.file_size(), 1339u);
  struct Want {
    const char* name;
    DType dtype;
    Shape shape;
    uint64_t begin, end;  // relative to the data section, as the Python writer placed them
  };
  const std::vector<Want> want = {
      {"u64", DType::U64, {2}, 0, 16},
      {"i64", DType::I64, {2, 2}, 16, 48},
      {"f64", DType::F64, {2, 3}, 48, 96},
      {"empty", DType::F32, {0, 3}, 96, 96},
      {"f32", DType::F32, {3, 4}, 96, 144},
      {"scalar", DType::F32, {}, 144, 148},
      {"u32", DType::U32, {3}, 148, 160},
      {"i32", DType::I32, {3}, 160, 172},
      {"bf16", DType::BF16, {3, 2}, 172, 184},
      {"f16", DType::F16, {4}, 184, 192},
      {"u16", DType::U16, {4}, 192, 200},
      {"i16", DType::I16, {1, 2, 1}, 200, 204},
      {"f8_e4m3", DType::F8_E4M3, {5}, 204, 209},
      {"f8_e5m2", DType::F8_E5M2, {3}, 209, 212},
      {"i8", DType::I8, {5}, 212, 217},
      {"u8", DType::U8, {7}, 217, 224},
      {"bool", DType::BOOL, {3}, 224, 227},
  };
  ASSERT_EQ(f.entries().size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    const auto& e = f.entries()[i];
    SCOPED_TRACE(want[i].name);
    EXPECT_EQ(e.name, want[i].name);
    EXPECT_EQ(e.dtype, want[i].dtype);
    EXPECT_EQ(e.shape, want[i].shape);
    EXPECT_EQ(e.begin, f.data_offset() + want[i].begin);
    EXPECT_EQ(e.end, f.data_offset() + want[i].end);
    EXPECT_EQ(f.find(want[i].name), &e);
  }
  // Bytes, to be sure the offsets point where Python put the values (arange-based).
  auto rf = open_file(p);
  auto bytes = [&](const char* name) {
    const auto* e = f.find(name);
    std::vector<uint8_t> v(e->nbytes());
    rf->read_at(e->begin, v.size(), v.data());
    return v;
  };
  auto f32 = bytes("f32");
  for (int i = 0; i < 12; ++i) {
    float x;
    std::memcpy(&x, f32.data() + 4 * i, 4);
    EXPECT_EQ(x, static_cast<float>(i));
  }
  auto bf = bytes("bf16");
  for (int i = 0; i < 6; ++i)
    EXPECT_EQ(bf16_to_f32(static_cast<uint16_t>(bf[2 * i] | bf[2 * i + 1] << 8)), i);
  auto hf = bytes("f16");
  for (int i = 0; i < 4; ++i)
    EXPECT_EQ(f16_to_f32(static_cast<uint16_t>(hf[2 * i] | hf[2 * i + 1] << 8)), i);
  EXPECT_EQ(bytes("f8_e4m3"), (std::vector<uint8_t>{0, 56, 64, 68, 72}));
  EXPECT_EQ(bytes("f8_e5m2"), (std::vector<uint8_t>{0, 60, 64}));
  EXPECT_EQ(bytes("bool"), (std::vector<uint8_t>{1, 0, 1}));
  EXPECT_EQ(bytes("i8"), (std::vector<uint8_t>{0xfd, 0xfe, 0xff, 0, 1}));
  auto i64 = bytes("i64");
  int64_t first;
  std::memcpy(&first, i64.data(), 8);
  EXPECT_EQ(first, -2);
}

TEST(Safetensors, PythonFileWithUnknownDtypeNamesTensor) {
  const std::string p = std::string(EDGERUN_TEST_DATA) + "/safetensors/complex64.safetensors";
  expect_format_error([&] { SafetensorsFile::open(p); }, {p, "\"z\"", "unknown dtype \"C64\""});
}

// ---- malformed files: each one a FormatError naming the file (and tensor) ----

TEST(SafetensorsMalformed, TruncatedUnder8Bytes) {
  for (size_t n : {0, 1, 7}) {
    TempDir d;
    const std::string p = d.file("t.safetensors");
    write_bytes(p, std::string(n, '\x01'));
    expect_format_error([&] { SafetensorsFile::open(p); }, {p, "too short"});
  }
}

TEST(SafetensorsMalformed, HeaderLengthBeyondFile) {
  TempDir d;
  const std::string p = d.file("h.safetensors");
  write_bytes(p, le64(1000) + R"({"a":1})");
  expect_format_error([&] { SafetensorsFile::open(p); }, {p, "header length 1000", "past the end"});
}

TEST(SafetensorsMalformed, HeaderLengthOverCap) {
  for (uint64_t n : {uint64_t{100'000'001}, ~uint64_t{0}, uint64_t{1} << 63}) {
    TempDir d;
    const std::string p = d.file("cap.safetensors");
    write_bytes(p, le64(n) + "{}");
    expect_format_error([&] { SafetensorsFile::open(p); }, {p, "100000000-byte limit"});
  }
}

TEST(SafetensorsMalformed, InvalidJson) {
  expect_bad_header(R"({"a":{"dtype":"F32",)", 0, {"not valid JSON"});
  expect_bad_header("", 0, {"not valid JSON"});
  expect_bad_header("{\"a\xff\":1}", 0, {"not valid JSON"});  // bad UTF-8
  expect_bad_header("{} {}", 0, {"not valid JSON"});
  expect_bad_header(std::string("{}\0\0\0", 5), 0, {"not valid JSON"});  // NUL padding is not JSON
}

TEST(SafetensorsMalformed, TopLevelNotObject) {
  expect_bad_header("[1,2]", 0, {"not an object"});
  expect_bad_header("\"x\"", 0, {"not an object"});
}

TEST(SafetensorsMalformed, DeepNestingRefusedWithoutCrash) {
  std::string h = R"({"a":)" + std::string(100000, '[') + std::string(100000, ']') + "}";
  expect_bad_header(h, 0, {"nested deeper"});
}

TEST(SafetensorsMalformed, DuplicateTensorKey) {
  expect_bad_header(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                    R"("w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                    8, {"duplicate key \"w\"", "top-level"});
}

TEST(SafetensorsMalformed, DuplicateKeyInsideEntryAndMetadata) {
  expect_bad_header(R"({"w":{"dtype":"F32","dtype":"F16","shape":[1],"data_offsets":[0,4]}})", 4,
                    {"duplicate key \"dtype\"", "\"w\""});
  expect_bad_header(R"({"__metadata__":{"k":"a","k":"b"}})", 0,
                    {"duplicate key \"k\"", "__metadata__"});
}

TEST(SafetensorsMalformed, UnknownDtype) {
  expect_bad_header(R"({"w":{"dtype":"F128","shape":[1],"data_offsets":[0,16]}})", 16,
                    {"\"w\"", "unknown dtype \"F128\""});
  expect_bad_header(R"({"w":{"dtype":"f32","shape":[1],"data_offsets":[0,4]}})", 4,
                    {"\"w\"", "unknown dtype"});
  expect_bad_header(R"({"w":{"dtype":4,"shape":[1],"data_offsets":[0,4]}})", 4, {"\"w\"", "dtype"});
}

TEST(SafetensorsMalformed, ShapeSizeMismatch) {
  expect_bad_header(R"({"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,20]}})", 20,
                    {"\"w\"", "needs 24 bytes", "span 20"});
  expect_bad_header(R"({"w":{"dtype":"F32","shape":[0],"data_offsets":[0,4]}})", 4,
                    {"\"w\"", "needs 0 bytes"});
}

TEST(SafetensorsMalformed, OffsetsOutOfRange) {
  expect_bad_header(R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", 8,
                    {"\"w\"", "past the end of the data section"});
  expect_bad_header(R"({"w":{"dtype":"U8","shape":[1],"data_offsets":[18446744073709551615,0]}})",
                    1, {"\"w\"", "begin after end"});
  expect_bad_header(R"({"w":{"dtype":"U8","shape":[1],"data_offsets":[0,18446744073709551616]}})",
                    1, {"\"w\"", "not non-negative integers"});
  expect_bad_header(R"({"w":{"dtype":"U8","shape":[1],"data_offsets":[-1,0]}})", 1,
                    {"\"w\"", "not non-negative integers"});
  expect_bad_header(R"({"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1,2]}})", 1,
                    {"\"w\"", "not [begin, end]"});
}

TEST(SafetensorsMalformed, OverlappingRanges) {
  expect_bad_header(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                    R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                    12, {"\"b\"", "overlap", "\"a\""});
  // Same range for two tensors (aliasing) is an overlap too.
  expect_bad_header(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                    R"("b":{"dtype":"I32","shape":[2],"data_offsets":[0,8]}})",
                    8, {"overlap"});
}

TEST(SafetensorsMalformed, HoleBetweenRanges) {
  expect_bad_header(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                    R"("b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})",
                    12, {"\"b\"", "hole of 4 bytes", "\"a\""});
  expect_bad_header(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", 8,
                    {"\"a\"", "hole of 4 bytes", "header"});
}

TEST(SafetensorsMalformed, TrailingBytesNotCovered) {
  expect_bad_header(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", 8,
                    {"4 trailing bytes", "\"a\""});
  expect_bad_header("{}", 3, {"3 trailing bytes"});
}

TEST(SafetensorsMalformed, BadShapeValues) {
  expect_bad_header(R"({"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,0]}})", 0,
                    {"\"w\"", "not a non-negative integer"});
  expect_bad_header(R"({"w":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}})", 4,
                    {"\"w\"", "not a non-negative integer"});
  expect_bad_header(R"({"w":{"dtype":"F32","shape":[1.0],"data_offsets":[0,4]}})", 4,
                    {"\"w\"", "not a non-negative integer"});
  expect_bad_header(R"({"w":{"dtype":"F32","shape":["2"],"data_offsets":[0,8]}})", 8,
                    {"\"w\"", "not a non-negative integer"});
  expect_bad_header(R"({"w":{"dtype":"F32","shape":2,"data_offsets":[0,8]}})", 8,
                    {"\"w\"", "not an array"});
  expect_bad_header(R"({"w":{"dtype":"F32","shape":[18446744073709551615],"data_offsets":[0,4]}})",
                    4, {"\"w\"", "over 2^63-1"});
}

TEST(SafetensorsMalformed, ShapeOverflow) {
  // 2^32 * 2^32 elements overflow; with a zero dimension too it is still refused, so later stride
  // arithmetic on the shape can never overflow.
  expect_bad_header(R"({"w":{"dtype":"U8","shape":[4294967296,4294967296],"data_offsets":[0,0]}})",
                    0, {"\"w\"", "64 bits"});
  expect_bad_header(
      R"({"w":{"dtype":"U8","shape":[0,4294967296,4294967296],"data_offsets":[0,0]}})", 0,
      {"\"w\"", "64 bits"});
  // Elements fit but bytes do not.
  expect_bad_header(R"({"w":{"dtype":"F64","shape":[2305843009213693952],"data_offsets":[0,0]}})",
                    0, {"\"w\"", "overflows"});
}

TEST(SafetensorsMalformed, EntryShape) {
  expect_bad_header(R"({"w":[1,2]})", 0, {"\"w\"", "not an object"});
  expect_bad_header(R"({"w":{"dtype":"F32","shape":[1]}})", 4, {"\"w\"", "lacks"});
}

TEST(SafetensorsMalformed, BadMetadataType) {
  expect_bad_header(R"({"__metadata__":{"a":1}})", 0, {"__metadata__ \"a\"", "not a string"});
  expect_bad_header(R"({"__metadata__":"x"})", 0, {"__metadata__", "not an object"});
  expect_bad_header(R"({"__metadata__":["a","b"]})", 0, {"__metadata__", "not an object"});
  expect_bad_header(R"({"__metadata__":{"a":{"b":"c"}}})", 0, {"__metadata__", "not a string"});
  expect_bad_header(R"({"__metadata__":null})", 0, {"__metadata__", "not an object"});
}

TEST(SafetensorsMalformed, MissingFileIsIoError) {
  TempDir d;
  EXPECT_THROW(SafetensorsFile::open(d.file("nope.safetensors")), IoError);
}

// Random byte flips and truncations of a valid file: every outcome is success or FormatError.
TEST(SafetensorsMalformed, ByteFuzzOnlyEverThrowsFormatError) {
  TempDir d;
  const std::string good = d.file("good.safetensors");
  std::vector<float> a(6, 1.f);
  std::vector<int16_t> b(3, 2);
  write_safetensors(good, {{"a", DType::F32, {2, 3}, a.data()}, {"bb", DType::I16, {3}, b.data()}},
                    {{"k", "v"}});
  const std::string orig = read_all(good);
  const std::string p = d.file("fuzz.safetensors");
  std::mt19937 rng(1234);
  int ok = 0, refused = 0;
  for (int iter = 0; iter < 1500; ++iter) {
    std::string s = orig;
    const int kind = iter % 3;
    if (kind == 0) {
      s.resize(rng() % s.size());
    } else {
      const int flips = 1 + static_cast<int>(rng() % 4);
      for (int k = 0; k < flips; ++k) {
        // Bias flips into the length prefix and header, where parsing happens.
        size_t pos = rng() % std::min<size_t>(s.size(), kind == 1 ? 16 : s.size());
        s[pos] = static_cast<char>(kind == 1 ? rng() : s[pos] ^ (1 << (rng() % 8)));
      }
    }
    write_bytes(p, s);
    try {
      auto f = SafetensorsFile::open(p);
      // Anything accepted must still satisfy the invariants.
      uint64_t at = f.data_offset();
      for (const auto& e : f.entries()) {
        ASSERT_EQ(e.begin, at);
        ASSERT_EQ(e.nbytes(), static_cast<uint64_t>(shape_numel(e.shape) * dtype_size(e.dtype)));
        at = e.end;
      }
      ASSERT_EQ(at, f.file_size());
      ++ok;
    } catch (const FormatError&) {
      ++refused;
    }
  }
  EXPECT_GT(refused, 100);
  EXPECT_GT(ok, 0);
}

// ---- folders: single file, shards, confinement, pickle ----
