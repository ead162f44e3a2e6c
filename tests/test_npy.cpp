// Tests of the .npy reader/writer: files written by numpy itself (tests/data/npy, made by
// scripts/make_npy_fixtures.py), byte-identical output to np.save, round trips, header spellings
// numpy accepts, and every malformed case the reader must refuse with a FormatError naming the file.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "test_util.h"
#include "core/error.h"
#include "core/tensor.h"
#include "edgerun/preprocess.h"

namespace fs = std::filesystem;
using namespace edgerun;

using edgerun::test::read_bytes;

namespace {

std::string data_path(const std::string& name) { return std::string(EDGERUN_TEST_DATA) + "/npy/" + name; }

class NpyTest : public edgerun::test::TempDirTest {
 protected:
  // A .npy file with `dict` as its header text, padded as numpy pads it (unless `raw`).
  std::string make_npy(const std::string& dict, const std::string& data, int major = 1,
                       int minor = 0) {
    const size_t prefix = major == 1 ? 10 : 12;
    std::string header = dict;
    size_t hlen = header.size() + 1;
    header.append(64 - (prefix + hlen) % 64, ' ');
    header.push_back('\n');
    std::string out = "\x93NUMPY";
    out.push_back(static_cast<char>(major));
    out.push_back(static_cast<char>(minor));
    const size_t n = header.size();
    for (size_t i = 0; i < (major == 1 ? 2u : 4u); ++i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
    return out + header + data;
  }
  // Expects read_npy on these bytes to throw FormatError naming the file and containing `what`.
  void expect_refused(const std::string& bytes, const std::string& what) {
    std::string p = write_file("bad.npy", bytes);
    try {
      read_npy(p);
      ADD_FAILURE() << "accepted a bad file; expected an error mentioning '" << what << "'";
    } catch (const FormatError& e) {
      std::string msg = e.what();
      EXPECT_NE(msg.find(p), std::string::npos) << msg;
      EXPECT_NE(msg.find(what), std::string::npos) << "expected '" << what << "' in: " << msg;
    }
  }

};

std::string f32_bytes(std::initializer_list<float> v) {
  std::string s(v.size() * 4, '\0');
  std::memcpy(s.data(), std::data(v), s.size());
  return s;
}

}  // namespace

TEST_F(NpyTest, ReadsFilesWrittenByNumpy) {
  HostArray a = read_npy(data_path("f32_2x3.npy"));
  EXPECT_EQ(a.dtype, DType::F32);
  EXPECT_EQ(a.shape, (Shape{2, 3}));
  for (int i = 0; i < 6; ++i) EXPECT_EQ(a.as<float>()[i], static_cast<float>(i));

  HostArray b = read_npy(data_path("i64_1x5.npy"));
  EXPECT_EQ(b.dtype, DType::I64);
  EXPECT_EQ(b.shape, (Shape{1, 5}));
  for (int i = 0; i < 5; ++i) EXPECT_EQ(b.as<int64_t>()[i], i - 2);

  HostArray s = read_npy(data_path("scalar_f64.npy"));
  EXPECT_EQ(s.dtype, DType::F64);
  EXPECT_TRUE(s.shape.empty());
  ASSERT_EQ(s.bytes.size(), 8u);
  EXPECT_EQ(s.as<double>()[0], 2.5);

  HostArray t = read_npy(data_path("bool_4.npy"));
  EXPECT_EQ(t.dtype, DType::BOOL);
  EXPECT_EQ(t.shape, (Shape{4}));
  EXPECT_EQ(t.bytes, (std::vector<uint8_t>{1, 0, 0, 1}));

  HostArray u = read_npy(data_path("u8_v2.npy"));  // format 2.0
  EXPECT_EQ(u.dtype, DType::U8);
  EXPECT_EQ(u.shape, (Shape{2, 5}));
  for (int i = 0; i < 10; ++i) EXPECT_EQ(u.bytes[static_cast<size_t>(i)], i);

  HostArray h = read_npy(data_path("f16_3.npy"));
  EXPECT_EQ(h.dtype, DType::F16);
  EXPECT_EQ(h.shape, (Shape{3}));
  EXPECT_EQ(f16_to_f32(h.as<uint16_t>()[0]), 0.5f);
  EXPECT_EQ(f16_to_f32(h.as<uint16_t>()[1]), -1.0f);
  EXPECT_EQ(f16_to_f32(h.as<uint16_t>()[2]), 65504.0f);

  HostArray e = read_npy(data_path("empty_0x3.npy"));
  EXPECT_EQ(e.shape, (Shape{0, 3}));
  EXPECT_TRUE(e.bytes.empty());
}

TEST_F(NpyTest, WritesTheSameBytesAsNumpy) {
  for (const char* name : {"f32_2x3.npy", "i64_1x5.npy", "scalar_f64.npy", "bool_4.npy",
                           "f16_3.npy", "empty_0x3.npy"}) {
    SCOPED_TRACE(name);
    std::string out = (dir_ / name).string();
    write_npy(out, read_npy(data_path(name)));
    EXPECT_EQ(read_bytes(out), read_bytes(data_path(name)));
  }
}

TEST_F(NpyTest, RoundTripsEveryNumpyDtype) {
  for (DType t : {DType::F64, DType::F32, DType::F16, DType::I64, DType::I32, DType::I16, DType::I8,
                  DType::U64, DType::U32, DType::U16, DType::U8, DType::BOOL}) {
    for (const Shape& shape : {Shape{}, Shape{7}, Shape{2, 3, 4}, Shape{3, 0}}) {
      SCOPED_TRACE(std::string(dtype_name(t)) + " " + shape_str(shape));
      HostArray a(t, shape);
      for (size_t i = 0; i < a.bytes.size(); ++i)
        a.bytes[i] = t == DType::BOOL ? static_cast<uint8_t>(i % 2) : static_cast<uint8_t>(i * 37 + 1);
      std::string p = (dir_ / "rt.npy").string();
      write_npy(p, a);
      EXPECT_EQ(fs::file_size(p) % 64, a.bytes.size() % 64);  // data starts 64-byte aligned
      HostArray b = read_npy(p);
      EXPECT_EQ(b.dtype, a.dtype);
      EXPECT_EQ(b.shape, a.shape);
      EXPECT_EQ(b.bytes, a.bytes);
    }
  }
}

TEST_F(NpyTest, WriteRefusesDtypesNumpyLacks) {
  EXPECT_THROW(write_npy((dir_ / "x.npy").string(), HostArray(DType::BF16, {2})), UnsupportedError);
}

TEST_F(NpyTest, WriteToAMissingFolderIsAnIoError) {
  EXPECT_THROW(write_npy((dir_ / "no" / "such" / "x.npy").string(), HostArray(DType::F32, {2})),
               IoError);
}

TEST_F(NpyTest, AcceptsHeaderSpellingsNumpyAccepts) {
  const std::string data = f32_bytes({1, 2, 3, 4, 5, 6});
  for (const char* dict : {
           "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
           "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}",  // no trailing comma
           "{'shape': (2,3), 'fortran_order': False, 'descr': '<f4'}",   // any key order
           "{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (2, 3,)}",
           "{ 'descr' : '<f4' ,\n 'fortran_order' : False , 'shape' : ( 2 , 3 ) , }",
           "{'descr': '=f4', 'fortran_order': False, 'shape': (2L, 3L), }",  // Python 2 longs
       }) {
    SCOPED_TRACE(dict);
    HostArray a = read_npy(write_file("ok.npy", make_npy(dict, data)));
    EXPECT_EQ(a.dtype, DType::F32);
    EXPECT_EQ(a.shape, (Shape{2, 3}));
    EXPECT_EQ(a.as<float>()[5], 6.0f);
  }
  // Format 3.0 is 2.0 with a UTF-8 header.
  HostArray v3 = read_npy(write_file(
      "v3.npy", make_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (6,), }", data, 3)));
  EXPECT_EQ(v3.shape, (Shape{6}));
  // One-byte types have no byte order, so '>u1' is fine.
  HostArray u = read_npy(write_file(
      "u1.npy", make_npy("{'descr': '>u1', 'fortran_order': False, 'shape': (3,), }", "abc")));
  EXPECT_EQ(u.dtype, DType::U8);
}

TEST_F(NpyTest, RefusesMalformedFiles) {
  const std::string d6 = f32_bytes({1, 2, 3, 4, 5, 6});
  const std::string ok = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
  auto with_dict = [&](const std::string& dict) { return make_npy(dict, d6); };

  expect_refused("\x93NUMP", "too short");
  expect_refused(std::string("\x93NUMPZ\x01\x00\x00\x00", 10), "bad magic");
  expect_refused(make_npy(ok, d6, 4, 0), "version 4.0");
  expect_refused(make_npy(ok, d6, 1, 1), "version 1.1");
  {
    std::string b = make_npy(ok, d6);
    b[8] = '\xff';  // header length 0x??ff past the end of the file
    b[9] = '\x7f';
    expect_refused(b, "runs past the end");
  }
  {
    std::string b = make_npy(ok, d6, 2, 0);
    b[11] = '\x7f';  // 2 GiB header
    expect_refused(b, "limit");
  }
  expect_refused(with_dict("['descr', '<f4']"), "expected '{'");
  expect_refused(with_dict("{'descr': '<f4', 'shape': (2, 3), }"), "lacks");
  expect_refused(with_dict("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'x': 1}"),
                 "unexpected key 'x'");
  expect_refused(with_dict("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}"),
                 "duplicate key 'descr'");
  expect_refused(with_dict("{'descr': '>f4', 'fortran_order': False, 'shape': (2, 3), }"), "big-endian");
  expect_refused(with_dict("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }"), "Fortran");
  expect_refused(with_dict("{'descr': '|O', 'fortran_order': False, 'shape': (2, 3), }"),
                 "unsupported .npy dtype '|O'");
  expect_refused(with_dict("{'descr': '<c8', 'fortran_order': False, 'shape': (3,), }"),
                 "unsupported .npy dtype '<c8'");
  expect_refused(with_dict("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (6,), }"),
                 "structured");
  expect_refused(with_dict("{'descr': '<f4', 'fortran_order': 0, 'shape': (2, 3), }"), "True or False");
  expect_refused(with_dict("{'descr': '<f4', 'fortran_order': False, 'shape': (2, -3), }"),
                 "non-negative");
  expect_refused(with_dict("{'descr': '<f4', 'fortran_order': False, 'shape': (6), }"), "trailing comma");
  expect_refused(with_dict("{'descr': '<f4', 'fortran_order': False, 'shape': [2, 3], }"), "expected '('");
  expect_refused(with_dict("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }"),
                 "64 bits");
  expect_refused(with_dict("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }"),
                 "overflows");
  expect_refused(with_dict("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } x"),
                 "after the header");
  expect_refused(with_dict("{'descr': '<f4, 'fortran_order': False, 'shape': (2, 3), }"), "expected");
  expect_refused(with_dict("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)"), "expected");
  expect_refused(make_npy(ok, d6.substr(0, 20)), "needs 24 data bytes but the file has 20");
  expect_refused(make_npy(ok, d6 + "x"), "needs 24 data bytes but the file has 25");
}

TEST_F(NpyTest, MissingFileIsAnIoError) {
  EXPECT_THROW(read_npy((dir_ / "absent.npy").string()), IoError);
}

TEST_F(NpyTest, CorruptedBytesNeverCrash) {
  // Every byte of a valid file's preamble and header replaced by several values, and every
  // truncation: each read either succeeds or throws FormatError, nothing else.
  const std::string good = read_bytes(data_path("f32_2x3.npy"));
  ASSERT_EQ(good.size(), 152u);
  int refused = 0;
  auto check = [&](const std::string& bytes) {
    std::string p = write_file("m.npy", bytes);
    try {
      HostArray a = read_npy(p);
      EXPECT_EQ(static_cast<int64_t>(a.bytes.size()), a.numel() * dtype_size(a.dtype));
    } catch (const FormatError&) {
      ++refused;
    }
  };
  for (size_t i = 0; i < 128; ++i)
    for (char v : {'\0', '\xff', '(', ',', '9', '\''}) {
      std::string b = good;
      b[i] = v;
      check(b);
    }
  for (size_t n = 0; n < good.size(); ++n) check(good.substr(0, n));
  EXPECT_GT(refused, 500);
}
