// Helpers shared by the safetensors tests: a temporary folder, raw files with hand-made headers,
// and the check that a malformed file gives one FormatError naming the file (and tensor).
#pragma once
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/error.h"
#include "formats/safetensors.h"

namespace edgerun::test {
namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "edgerun_st_XXXXXX").string();
    if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

inline void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(f.good()) << path;
}

inline std::string le64(uint64_t v) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[i] = static_cast<char>(v >> (8 * i));
  return s;
}

// A raw safetensors file: length prefix, header text, `data_bytes` zero bytes of data.
inline std::string raw_file(const std::string& header, uint64_t data_bytes) {
  return le64(header.size()) + header + std::string(data_bytes, '\0');
}

inline std::string read_all(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

// Runs `fn`, expects a FormatError whose message holds every string in `needles`.
template <typename Fn>
inline void expect_format_error(Fn fn, const std::vector<std::string>& needles) {
  try {
    fn();
    ADD_FAILURE() << "expected FormatError";
  } catch (const FormatError& e) {
    std::string msg = e.what();
    for (const auto& n : needles)
      EXPECT_NE(msg.find(n), std::string::npos) << "'" << n << "' not in: " << msg;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected FormatError, got: " << e.what();
  }
}

// Writes `header` + `data_bytes` to a fresh file and expects open() to fail naming the path and
// every string in `needles`.
inline void expect_bad_header(const std::string& header, uint64_t data_bytes,
                       const std::vector<std::string>& needles) {
  TempDir d;
  const std::string p = d.file("bad.safetensors");
  write_bytes(p, raw_file(header, data_bytes));
  auto all = needles;
  all.push_back(p);
  expect_format_error([&] { SafetensorsFile::open(p); }, all);
}

}  // namespace edgerun::test
