// .npy reader and writer (NumPy format 1.0, 2.0, 3.0). The header is a Python dict literal; this
// parses exactly the subset numpy writes (quoted strings, True/False, tuples of ints), refusing
// anything else rather than evaluating it. Leaves out: structured/object dtypes, big-endian data,
// Fortran order, memory mapping, .npz archives.
#include "edgerun/preprocess.h"

#include <unistd.h>

#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string_view>

#include "core/error.h"
#include "core/tensor.h"
#include "io/file.h"

namespace edgerun {

static_assert(std::endian::native == std::endian::little, "the .npy code assumes a little-endian host");

namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr uint64_t kMagicLen = 6;
// numpy itself refuses headers over 10,000 bytes unless told otherwise; a little more slack here
// for hand-written files, still small enough that a hostile length costs nothing.
constexpr uint64_t kMaxHeaderLen = 1u << 16;
constexpr size_t kMaxRank = 64;  // numpy's NPY_MAXDIMS
constexpr int kGrowthAxisMaxDigits = 21;  // numpy pads the header so axis 0 can grow in place

struct NpyHeader {
  std::optional<std::string> descr;
  std::optional<bool> fortran_order;
  std::optional<Shape> shape;
};

// Recursive-descent parser over the header text; every error names the file.
class HeaderParser {
 public:
  HeaderParser(std::string_view text, const std::string& path) : s_(text), path_(path) {}

  NpyHeader parse() {
    NpyHeader h;
    skip_ws();
    expect('{');
    skip_ws();
    while (!at('}')) {
      std::string key = parse_string();
      skip_ws();
      expect(':');
      skip_ws();
      if (key == "descr") {
        if (h.descr) fail("duplicate key 'descr'");
        if (!at('\'') && !at('"'))
          fail("'descr' is not a plain dtype string (structured dtypes are not supported)");
        h.descr = parse_string();
      } else if (key == "fortran_order") {
        if (h.fortran_order) fail("duplicate key 'fortran_order'");
        h.fortran_order = parse_bool();
      } else if (key == "shape") {
        if (h.shape) fail("duplicate key 'shape'");
        h.shape = parse_shape();
      } else {
        fail("unexpected key '" + key + "' (numpy headers hold descr, fortran_order, shape)");
      }
      skip_ws();
      if (at(',')) {
        ++pos_;
        skip_ws();
      } else if (!at('}')) {
        fail("expected ',' or '}'");
      }
    }
    ++pos_;  // '}'
    skip_ws();
    if (pos_ != s_.size()) fail("unexpected text after the header dict");
    if (!h.descr || !h.fortran_order || !h.shape)
      ER_THROW(FormatError, path_, ": .npy header lacks one of 'descr', 'fortran_order', 'shape'");
    return h;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    ER_THROW(FormatError, path_, ": bad .npy header at byte ", pos_, ": ", what);
  }
  bool at(char c) const { return pos_ < s_.size() && s_[pos_] == c; }
  void expect(char c) {
    if (!at(c)) fail(std::string("expected '") + c + "'");
    ++pos_;
  }
  void skip_ws() {
    while (pos_ < s_.size() &&
           (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r'))
      ++pos_;
  }
  std::string parse_string() {
    if (!at('\'') && !at('"')) fail("expected a quoted string");
    char q = s_[pos_++];
    std::string out;
    while (pos_ < s_.size() && s_[pos_] != q) {
      if (s_[pos_] == '\\') fail("escapes in strings are not supported");
      out.push_back(s_[pos_++]);
    }
    if (pos_ >= s_.size()) fail("unterminated string");
    ++pos_;
    return out;
  }
  bool parse_bool() {
    if (s_.substr(pos_, 4) == "True") {
      pos_ += 4;
      return true;
    }
    if (s_.substr(pos_, 5) == "False") {
      pos_ += 5;
      return false;
    }
    fail("expected True or False");
  }
  int64_t parse_dim() {
    if (pos_ >= s_.size() || s_[pos_] < '0' || s_[pos_] > '9')
      fail("expected a non-negative integer dimension");
    int64_t v = 0;
    while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') {
      if (__builtin_mul_overflow(v, int64_t{10}, &v) ||
          __builtin_add_overflow(v, int64_t{s_[pos_] - '0'}, &v))
        fail("dimension does not fit in 64 bits");
      ++pos_;
    }
    if (at('L')) ++pos_;  // Python 2 long literal, as in files written by old numpy
    return v;
  }
  Shape parse_shape() {
    expect('(');
    Shape shape;
    skip_ws();
    bool saw_comma = false;
    while (!at(')')) {
      if (shape.size() >= kMaxRank) fail("more than 64 dimensions");
      shape.push_back(parse_dim());
      skip_ws();
      saw_comma = at(',');
      if (saw_comma) {
        ++pos_;
        skip_ws();
      } else if (!at(')')) {
        fail("expected ',' or ')' in shape");
      }
    }
    // (5) is an int in Python, not a tuple; numpy always writes (5,).
    if (shape.size() == 1 && !saw_comma) fail("shape (n) without a trailing comma is not a tuple");
    ++pos_;
    return shape;
  }

  std::string_view s_;
  const std::string& path_;
  size_t pos_ = 0;
};

uint16_t load_u16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | p[1] << 8); }
uint32_t load_u32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 |
         static_cast<uint32_t>(p[2]) << 16 | static_cast<uint32_t>(p[3]) << 24;
}

DType dtype_from_descr(const std::string& descr, const std::string& path) {
  if (!descr.empty() && descr[0] == '>') {
    // One-byte types have no byte order: accept '>u1' as numpy does.
    std::string le = "<" + descr.substr(1);
    if (auto t = dtype_from_numpy_descr(le)) {
      if (dtype_size(*t) == 1) return *t;
      ER_THROW(FormatError, path, ": big-endian .npy data ('", descr,
               "') is not supported; convert with arr.astype(arr.dtype.newbyteorder('<'))");
    }
  }
  if (auto t = dtype_from_numpy_descr(descr)) return *t;
  ER_THROW(FormatError, path, ": unsupported .npy dtype '", descr,
           "' (supported: bool, int8-64, uint8-64, float16/32/64, little-endian)");
}

std::string shape_repr(const Shape& s) {  // Python's repr of a tuple of ints
  std::string r = "(";
  for (size_t i = 0; i < s.size(); ++i) {
    if (i) r += ", ";
    r += std::to_string(s[i]);
  }
  if (s.size() == 1) r += ",";
  return r + ")";
}

}  // namespace

HostArray read_npy(const std::string& path) {
  auto f = open_file(path);
  const uint64_t file_size = f->size();
  uint8_t pre[12];
  if (file_size < 10) ER_THROW(FormatError, path, ": too short for a .npy file (", file_size, " bytes)");
  f->read_at(0, 10, pre);
  if (std::memcmp(pre, kMagic, kMagicLen) != 0)
    ER_THROW(FormatError, path, ": not a .npy file (bad magic)");
  const int major = pre[6], minor = pre[7];
  uint64_t header_len = 0, header_start = 0;
  if (major == 1 && minor == 0) {
    header_len = load_u16(pre + 8);
    header_start = 10;
  } else if ((major == 2 || major == 3) && minor == 0) {
    if (file_size < 12) ER_THROW(FormatError, path, ": truncated .npy preamble");
    f->read_at(10, 2, pre + 10);
    header_len = load_u32(pre + 8);
    header_start = 12;
  } else {
    ER_THROW(FormatError, path, ": unsupported .npy format version ", major, ".", minor,
             " (supported: 1.0, 2.0, 3.0)");
  }
  if (header_len > kMaxHeaderLen)
    ER_THROW(FormatError, path, ": .npy header length ", header_len, " is over the ",
             kMaxHeaderLen, "-byte limit");
  if (header_len > file_size - header_start)
    ER_THROW(FormatError, path, ": .npy header (", header_len, " bytes) runs past the end of the file (",
             file_size, " bytes)");
  std::string text(header_len, '\0');
  if (header_len) f->read_at(header_start, header_len, text.data());
  NpyHeader h = HeaderParser(text, path).parse();

  if (*h.fortran_order)
    ER_THROW(FormatError, path, ": Fortran-order .npy data is not supported; save with "
             "np.ascontiguousarray(arr)");
  const DType dtype = dtype_from_descr(*h.descr, path);
  int64_t nbytes = dtype_size(dtype);
  for (int64_t d : *h.shape)
    if (__builtin_mul_overflow(nbytes, d, &nbytes))
      ER_THROW(FormatError, path, ": .npy shape ", shape_str(*h.shape), " overflows 64 bits");
  const uint64_t data_start = header_start + header_len;
  if (static_cast<uint64_t>(nbytes) != file_size - data_start)
    ER_THROW(FormatError, path, ": .npy shape ", shape_str(*h.shape), " of ", dtype_name(dtype),
             " needs ", nbytes, " data bytes but the file has ", file_size - data_start,
             " after its header");

  HostArray a(dtype, *h.shape);
  if (nbytes) f->read_at(data_start, static_cast<uint64_t>(nbytes), a.bytes.data());
  return a;
}

void write_npy(const std::string& path, const HostArray& a) {
  auto descr = dtype_numpy_descr(a.dtype);
  if (!descr)
    ER_THROW(UnsupportedError, path, ": dtype ", dtype_name(a.dtype), " has no .npy equivalent");
  ER_CHECK(a.bytes.size() == static_cast<size_t>(a.numel() * dtype_size(a.dtype)),
           "HostArray byte size disagrees with its shape");

  // Byte-identical to np.save: sorted keys, spare spaces for growing axis 0, then padding so
  // that the data starts on a 64-byte boundary.
  std::string dict = "{'descr': '" + *descr + "', 'fortran_order': False, 'shape': " +
                     shape_repr(a.shape) + ", }";
  if (!a.shape.empty())
    dict.append(static_cast<size_t>(kGrowthAxisMaxDigits - std::to_string(a.shape[0]).size()), ' ');
  const uint64_t hlen = dict.size() + 1;  // + '\n'
  uint64_t prefix = kMagicLen + 2 + 2;
  int major = 1;
  if (hlen + (64 - (prefix + hlen) % 64) > 0xffff) {
    prefix = kMagicLen + 2 + 4;
    major = 2;
  }
  const uint64_t pad = 64 - (prefix + hlen) % 64;
  const uint64_t total_hlen = hlen + pad;
  std::string out(kMagic, kMagicLen);
  out.push_back(static_cast<char>(major));
  out.push_back(0);
  for (int i = 0; i < (major == 1 ? 2 : 4); ++i)
    out.push_back(static_cast<char>((total_hlen >> (8 * i)) & 0xff));
  out += dict;
  out.append(static_cast<size_t>(pad), ' ');
  out.push_back('\n');

  std::FILE* fp = std::fopen(path.c_str(), "wb");
  if (!fp) ER_THROW(IoError, path, ": cannot open for writing: ", std::strerror(errno));
  bool ok = std::fwrite(out.data(), 1, out.size(), fp) == out.size();
  if (ok && !a.bytes.empty()) ok = std::fwrite(a.bytes.data(), 1, a.bytes.size(), fp) == a.bytes.size();
  int saved = errno;
  if (std::fclose(fp) != 0 && ok) {
    ok = false;
    saved = errno;
  }
  if (!ok) ER_THROW(IoError, path, ": write failed: ", std::strerror(saved));
}


void write_npy_atomic(const std::string& path, const HostArray& a) {
  std::string tmp = path + ".tmp" + std::to_string(::getpid());
  write_npy(tmp, a);
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::filesystem::remove(tmp, ec);
    ER_THROW(IoError, path, ": cannot write: ", ec.message());
  }
}

}  // namespace edgerun
