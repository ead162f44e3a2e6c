#!/usr/bin/env python3
"""Generates src/formats/unicode_tables.cpp, unicode_decomposition.cpp and
unicode_decomposition_pool.cpp: the Unicode properties the tokenizers need.

The reference is the `tokenizers` library itself, so every table is read off it by probing each
code point through its normalizers and pre-tokenizers, and Python's unicodedata is the cross-check.
The two disagree on a few thousand code points because the library's dependencies carry different
Unicode versions (the `unicode_categories` crate behind BERT's punctuation / control / Mn tests is
older than Python's, the Oniguruma regex behind GPT-2's \\p{L} / \\p{N} and Rust's to_lowercase are
newer); the counts are written into the generated file's header. Canonical combining classes are
taken from unicodedata for the marks the library's NFD is seen to reorder.

Run:  python3 scripts/make_unicode_tables.py   (about 30 s; rewrites the three files)
"""
import os
import sys
import unicodedata as ud

import tokenizers
from tokenizers import normalizers, pre_tokenizers

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "src", "formats", "unicode_tables.cpp")
OUT_NFD = os.path.join(ROOT, "src", "formats", "unicode_decomposition.cpp")
OUT_POOL = os.path.join(ROOT, "src", "formats", "unicode_decomposition_pool.cpp")

# Rust's char::is_whitespace (the Unicode White_Space property), checked against the library below.
WHITE_SPACE = sorted(set([0x9, 0xA, 0xB, 0xC, 0xD, 0x20, 0x85, 0xA0, 0x1680, 0x2028, 0x2029, 0x202F,
                          0x205F, 0x3000] + list(range(0x2000, 0x200B))))
HANGUL_BASE, HANGUL_COUNT = 0xAC00, 11172


def hangul_nfd(c):
    s = c - HANGUL_BASE
    out = [0x1100 + s // 588, 0x1161 + (s % 588) // 28]
    if s % 28:
        out.append(0x11A7 + s % 28)
    return out


def probe():
    clean = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=False,
                                       strip_accents=False, lowercase=False)
    chinese = normalizers.BertNormalizer(clean_text=False, handle_chinese_chars=True,
                                         strip_accents=False, lowercase=False)
    strip = normalizers.BertNormalizer(clean_text=False, handle_chinese_chars=False,
                                       strip_accents=True, lowercase=False)
    lower = normalizers.BertNormalizer(clean_text=False, handle_chinese_chars=False,
                                       strip_accents=False, lowercase=True)
    nfd = normalizers.NFD()
    bert_pre = pre_tokenizers.BertPreTokenizer()
    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False)
    ws = set(WHITE_SPACE)
    t = {k: set() for k in ["control", "chinese", "mn", "punct", "letter", "number"]}
    decomp, lowercase = {}, {}
    for c in range(0x110000):
        if 0xD800 <= c <= 0xDFFF:
            continue
        ch = chr(c)
        out = clean.normalize_str(ch)
        if out == "":
            t["control"].add(c)
        elif out == " " and c != 0x20 and c not in ws:
            sys.exit(f"U+{c:04X}: clean_text maps it to a space but it is not White_Space")
        if chinese.normalize_str(ch) == " " + ch + " ":
            t["chinese"].add(c)
        d = [ord(x) for x in nfd.normalize_str(ch)]
        if d != [c]:
            decomp[c] = d
        if strip.normalize_str(ch) == "":
            t["mn"].add(c)
        lo = [ord(x) for x in lower.normalize_str(ch)]
        if lo != [c]:
            lowercase[c] = lo
        if c in ws:
            # Whitespace must split on both sides in both pre-tokenizers and be \s in the regex.
            if len(bert_pre.pre_tokenize_str("a" + ch + "a")) != 2 or \
               len(byte_level.pre_tokenize_str("!" + ch)) != 2 or \
               len(byte_level.pre_tokenize_str("a" + ch)) != 2:
                sys.exit(f"U+{c:04X}: White_Space disagrees with the library")
            continue
        if len(bert_pre.pre_tokenize_str("a" + ch + "a")) == 3:
            t["punct"].add(c)
        is_l = len(byte_level.pre_tokenize_str("a" + ch)) == 1
        is_n = len(byte_level.pre_tokenize_str("1" + ch)) == 1
        is_other = len(byte_level.pre_tokenize_str("!" + ch)) == 1
        if is_l + is_n + is_other != 1:
            sys.exit(f"U+{c:04X}: not exactly one of L / N / other in the GPT-2 regex")
        if is_l:
            t["letter"].add(c)
        if is_n:
            t["number"].add(c)
    return t, decomp, lowercase


def check_derived(t, decomp):
    """Strip-accents = NFD then drop Mn, per code point (NFD reordering needs two marks)."""
    strip = normalizers.BertNormalizer(clean_text=False, handle_chinese_chars=False,
                                       strip_accents=True, lowercase=False)
    for c, d in decomp.items():
        want = "".join(chr(x) for x in d if x not in t["mn"])
        if strip.normalize_str(chr(c)) != want:
            sys.exit(f"U+{c:04X}: strip_accents is not NFD + drop Mn")
    for c in range(HANGUL_BASE, HANGUL_BASE + HANGUL_COUNT):
        if decomp.get(c) != hangul_nfd(c):
            sys.exit(f"U+{c:04X}: library Hangul NFD differs from the algorithm")


def library_combining(candidates):
    """The marks whose combining class the library's NFD knows (its tables are older than Python's;
    a class never changes once assigned, so the value is unicodedata's). Seen by reordering: a mark
    of class > 1 moves after U+0334 (class 1); one of class 1 moves before U+0301 (class 230)."""
    nfd = normalizers.NFD()
    known = set()
    for c in candidates:
        ch = chr(c)
        if ud.combining(ch) > 1:
            if nfd.normalize_str("a" + ch + "\u0334") == "a\u0334" + ud.normalize("NFD", ch):
                known.add(c)
        elif nfd.normalize_str("a\u0301" + ch) == "a" + ud.normalize("NFD", ch) + "\u0301":
            known.add(c)
    return known


def unicodedata_diffs(t, lowercase):
    """How many code points the library's view differs from Python's unicodedata, per table."""
    n = {k: 0 for k in ["control", "punct", "mn", "letter", "number", "lowercase"]}
    for c in range(0x110000):
        if 0xD800 <= c <= 0xDFFF:
            continue
        ch = chr(c)
        cat = ud.category(ch)
        ctl = c in (0, 0xFFFD) or (c not in (9, 10, 13) and cat in ("Cc", "Cf", "Co"))
        pun = (33 <= c <= 47 or 58 <= c <= 64 or 91 <= c <= 96 or 123 <= c <= 126
               or cat[0] == "P")
        n["control"] += ctl != (c in t["control"])
        n["punct"] += (pun != (c in t["punct"])) and c not in WHITE_SPACE
        n["mn"] += (cat == "Mn") != (c in t["mn"])
        n["letter"] += (cat[0] == "L") != (c in t["letter"])
        n["number"] += (cat[0] == "N") != (c in t["number"])
        n["lowercase"] += ch.lower() != "".join(chr(x) for x in lowercase.get(c, [c]))
    return n


def ranges(s):
    out = []
    for c in sorted(s):
        if out and out[-1][1] == c - 1:
            out[-1][1] = c
        else:
            out.append([c, c])
    return out


def fmt_rows(items, per_line):
    lines = []
    for i in range(0, len(items), per_line):
        lines.append("    " + ", ".join(items[i:i + per_line]) + ",")
    return "\n".join(lines)


def range_table(name, s, what):
    r = ranges(s)
    body = fmt_rows([f"{{0x{a:X}, 0x{b:X}}}" for a, b in r], 6)
    return f"// {what} ({len(s)} code points)\nconstexpr Range {name}[] = {{\n{body}\n}};\n"


def lower_runs(lowercase):
    """Single-code-point mappings as runs {first, count, delta, stride}; multi ones listed apart."""
    single = sorted((c, m[0]) for c, m in lowercase.items() if len(m) == 1)
    multi = sorted((c, m) for c, m in lowercase.items() if len(m) > 1)
    runs = []
    for c, m in single:
        delta = m - c
        if runs:
            f, n, d, s = runs[-1]
            last = f + (n - 1) * s
            if d == delta and n == 1 and c - last in (1, 2):
                runs[-1] = [f, 2, d, c - last]
                continue
            if d == delta and n > 1 and c - last == s:
                runs[-1][1] += 1
                continue
        runs.append([c, 1, delta, 1])
    return runs, multi


def main():
    t, decomp, lowercase = probe()
    check_derived(t, decomp)
    diffs = unicodedata_diffs(t, lowercase)
    # Decompositions (Hangul is algorithmic in the C++ code).
    dec = [(c, d) for c, d in sorted(decomp.items())
           if not HANGUL_BASE <= c < HANGUL_BASE + HANGUL_COUNT]
    pool, entries = [], []
    for c, d in dec:
        entries.append(f"{{0x{c:X}, {len(pool)}, {len(d)}}}")
        pool.extend(d)
    assert len(pool) < 65536 and max(len(d) for _, d in dec) < 256
    ccc = []
    known = library_combining(set(c for c in range(0x110000) if ud.combining(chr(c))))
    for c in range(0x110000):
        k = ud.combining(chr(c)) if c in known else 0
        if k:
            if ccc and ccc[-1][1] == c - 1 and ccc[-1][2] == k:
                ccc[-1][1] = c
            else:
                ccc.append([c, c, k])
    ccc_unknown = [c for c in range(0x110000) if ud.combining(chr(c)) and c not in known]
    runs, multi = lower_runs(lowercase)
    assert len(multi) <= 8 and all(len(m) <= 3 for _, m in multi)

    diff_text = ", ".join(f"{k} {v}" for k, v in diffs.items())
    stamp = f"""// GENERATED by scripts/make_unicode_tables.py from tokenizers {tokenizers.__version__} (probed code
// point by code point; combining classes from Python's unicodedata, Unicode {ud.unidata_version}, for
// the marks the library reorders). Do not edit. Code points where the library differs from
// unicodedata {ud.unidata_version}: {diff_text},
// combining class {len(ccc_unknown)}.
"""
    # Three files along what the tables are for: character classes and lowercase (the BERT
    # normalizer / pre-tokenizer and the GPT-2 regex), canonical decomposition (NFD: combining
    # classes and the decomposition index), and the decomposition pool the index points into.
    tables = [stamp + """// Character classes and lowercase mappings: what the BERT normalizer / pre-tokenizer and the
// GPT-2 regex need. Canonical decomposition is in unicode_decomposition.cpp.
#include "formats/unicode_data.h"
#include "formats/unicode_tables.h"

#include <algorithm>
#include <iterator>

namespace edgerun::unicode {

namespace {

using data::LowerMulti;
using data::LowerRun;
using data::Range;
using data::find_range;
"""]
    tables.append(range_table("kWhiteSpace", set(WHITE_SPACE), "Rust char::is_whitespace = White_Space"))
    tables.append(range_table("kBertControl", t["control"],
                              "removed by BertNormalizer clean_text (Cc/Cf/Co except \\t\\n\\r, NUL, U+FFFD)"))
    tables.append(range_table("kBertPunct", t["punct"], "BertPreTokenizer punctuation (ASCII symbols + P*)"))
    tables.append(range_table("kChinese", t["chinese"], "BertNormalizer handle_chinese_chars (CJK ideographs)"))
    tables.append(range_table("kMarkNonspacing", t["mn"], "Mn, dropped by strip_accents"))
    tables.append(range_table("kLetter", t["letter"], "\\p{L} of the GPT-2 regex"))
    tables.append(range_table("kNumber", t["number"], "\\p{N} of the GPT-2 regex"))
    tables.append(f"// to_lowercase, one code point to one ({len(runs)} runs)\n"
                  "constexpr LowerRun kLowerRuns[] = {\n" +
                  fmt_rows([f"{{0x{f:X}, {n}, {d}, {s}}}" for f, n, d, s in runs], 5) + "\n};\n")
    tables.append("// to_lowercase, one code point to several\nconstexpr LowerMulti kLowerMulti[] = {\n" +
                  fmt_rows(["{0x%X, {%s}}" % (c, ", ".join("0x%X" % x for x in (m + [0, 0])[:3]))
                            for c, m in multi], 2) + "\n};\n")
    tables.append("""
}  // namespace

bool is_whitespace(char32_t c) { return find_range(kWhiteSpace, c) != nullptr; }
bool is_bert_control(char32_t c) { return find_range(kBertControl, c) != nullptr; }
bool is_bert_punctuation(char32_t c) { return find_range(kBertPunct, c) != nullptr; }
bool is_chinese_char(char32_t c) { return find_range(kChinese, c) != nullptr; }
bool is_mark_nonspacing(char32_t c) { return find_range(kMarkNonspacing, c) != nullptr; }
bool is_letter(char32_t c) { return find_range(kLetter, c) != nullptr; }
bool is_number(char32_t c) { return find_range(kNumber, c) != nullptr; }

void append_lowercase(char32_t c, std::u32string& out) {
  if (c < 0x80) {
    out.push_back((c >= 'A' && c <= 'Z') ? c + 32 : c);
    return;
  }
  for (const LowerMulti& m : kLowerMulti) {
    if (m.cp == c) {
      for (char32_t x : m.lower)
        if (x != 0) out.push_back(x);
      return;
    }
  }
  // Last run starting at or before c.
  auto it = std::upper_bound(std::begin(kLowerRuns), std::end(kLowerRuns), c,
                             [](char32_t v, const LowerRun& r) { return v < r.first; });
  if (it != std::begin(kLowerRuns)) {
    const LowerRun& r = *(it - 1);
    char32_t off = c - r.first;
    if (off % r.stride == 0 && off / r.stride < r.count) {
      out.push_back(static_cast<char32_t>(static_cast<int64_t>(c) + r.delta));
      return;
    }
  }
  out.push_back(c);
}

}  // namespace edgerun::unicode
""")
    nfd = [stamp + """// Canonical decomposition (NFD) as BertNormalizer's strip_accents applies it: combining classes
// and the decomposition index; the decomposed code points are in unicode_decomposition_pool.cpp.
#include "formats/unicode_data.h"
#include "formats/unicode_tables.h"

#include <algorithm>
#include <iterator>

namespace edgerun::unicode {

namespace {

using data::ClassRange;
using data::Decomposition;
using data::find_range;
using data::kDecompPool;
"""]
    nfd.append(f"// canonical combining class, non-zero only ({len(ccc)} runs)\n"
               "constexpr ClassRange kCombiningClass[] = {\n" +
               fmt_rows([f"{{0x{a:X}, 0x{b:X}, {k}}}" for a, b, k in ccc], 5) + "\n};\n")
    nfd.append(f"// full canonical decompositions, Hangul syllables excluded ({len(dec)} code points)\n"
               "constexpr Decomposition kDecomp[] = {\n" + fmt_rows(entries, 5) + "\n};\n")
    nfd.append("""
}  // namespace

uint8_t combining_class(char32_t c) {
  const ClassRange* r = find_range(kCombiningClass, c);
  return r ? r->ccc : 0;
}

void append_decomposition(char32_t c, std::u32string& out) {
  constexpr char32_t kSBase = 0xAC00, kLBase = 0x1100, kVBase = 0x1161, kTBase = 0x11A7;
  constexpr char32_t kTCount = 28, kNCount = 588, kSCount = 11172;
  if (c >= kSBase && c < kSBase + kSCount) {  // Hangul syllable: algorithmic (Unicode ch. 3.12)
    char32_t s = c - kSBase;
    out.push_back(kLBase + s / kNCount);
    out.push_back(kVBase + (s % kNCount) / kTCount);
    if (s % kTCount != 0) out.push_back(kTBase + s % kTCount);
    return;
  }
  auto it = std::lower_bound(std::begin(kDecomp), std::end(kDecomp), c,
                             [](const Decomposition& d, char32_t v) { return d.cp < v; });
  if (it == std::end(kDecomp) || it->cp != c) {
    out.push_back(c);
    return;
  }
  out.append(kDecompPool + it->offset, it->length);
}

}  // namespace edgerun::unicode
""")
    pool_src = [stamp + """// The code points of every canonical decomposition, back to back; kDecomp in
// unicode_decomposition.cpp gives each one's offset and length.
#include "formats/unicode_data.h"

namespace edgerun::unicode::data {

const char32_t kDecompPool[] = {
""" + fmt_rows([f"0x{x:X}" for x in pool], 10) + """
};

}  // namespace edgerun::unicode::data
"""]
    for path, parts in ((OUT, tables), (OUT_NFD, nfd), (OUT_POOL, pool_src)):
        with open(path, "w") as f:
            f.write("\n".join(parts))
        print(f"wrote {path} ({os.path.getsize(path)} bytes)")
    print(f"diffs vs unicodedata: {diff_text}")


if __name__ == "__main__":
    main()
