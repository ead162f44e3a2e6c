// UTF-8 decoding, encoding and lossy repair for the tokenizers, with the library's rules for
// invalid input (strict where text comes in, U+FFFD where partial byte-level tokens decode).
#include <string>
#include <string_view>

#include "core/error.h"
#include "formats/tokenizer_impl.h"

namespace edgerun::tokenizer_detail {

// ---- UTF-8 -------------------------------------------------------------------------------------

namespace {
// Length of the valid UTF-8 sequence at s[i], or 0 with *bad set to the number of bytes that form
// the maximal invalid subsequence (the unit Rust's from_utf8_lossy replaces by one U+FFFD).
size_t utf8_seq(std::string_view s, size_t i, char32_t* cp, size_t* bad) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  if (c < 0x80) {
    *cp = c;
    return 1;
  }
  size_t n;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;  // no overlongs
    if (c == 0xED) hi = 0x9F;  // no surrogates
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;  // nothing past U+10FFFF
  } else {
    *bad = 1;
    return 0;
  }
  char32_t v = c & (0xFF >> (n + 1));
  for (size_t k = 1; k < n; ++k) {
    if (i + k >= s.size()) {
      *bad = k;
      return 0;
    }
    unsigned char x = b(i + k);
    unsigned char l = k == 1 ? lo : 0x80, h = k == 1 ? hi : 0xBF;
    if (x < l || x > h) {
      *bad = k;
      return 0;
    }
    v = (v << 6) | (x & 0x3F);
  }
  *cp = v;
  return n;
}
}  // namespace

std::u32string utf8_to_u32(std::string_view s, std::string_view what) {
  std::u32string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    char32_t cp;
    size_t bad = 0;
    size_t n = utf8_seq(s, i, &cp, &bad);
    if (n == 0) ER_THROW(InputError, what, ": not valid UTF-8 at byte ", i);
    out.push_back(cp);
    i += n;
  }
  return out;
}

bool is_valid_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    char32_t cp;
    size_t bad = 0;
    size_t n = utf8_seq(s, i, &cp, &bad);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

void append_utf8(std::string& out, char32_t c) {
  if (c < 0x80) {
    out.push_back(static_cast<char>(c));
  } else if (c < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (c >> 6)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (c >> 12)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (c >> 18)));
    out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  }
}

std::string u32_to_utf8(std::u32string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char32_t c : s) append_utf8(out, c);
  return out;
}

std::string utf8_lossy(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (size_t i = 0; i < bytes.size();) {
    char32_t cp;
    size_t bad = 0;
    size_t n = utf8_seq(bytes, i, &cp, &bad);
    if (n > 0) {
      out.append(bytes.substr(i, n));
      i += n;
    } else {
      append_utf8(out, 0xFFFD);
      i += bad;
    }
  }
  return out;
}

}  // namespace edgerun::tokenizer_detail
