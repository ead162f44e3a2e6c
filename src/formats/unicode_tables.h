// Unicode properties for the tokenizers, as the `tokenizers` library sees them (its crates carry
// several Unicode versions; see the header of the generated unicode_tables.cpp). Only what the BERT
// normalizer / pre-tokenizer and the GPT-2 pre-tokenizer regex use; no general Unicode support.
// scripts/make_unicode_tables.py generates the definitions: character classes and lowercase in
// unicode_tables.cpp, canonical decomposition in unicode_decomposition.cpp (its code points in
// unicode_decomposition_pool.cpp).
#pragma once
#include <cstdint>
#include <string>

namespace edgerun::unicode {

bool is_whitespace(char32_t c);        // Rust char::is_whitespace; also the regex's \s
bool is_bert_control(char32_t c);      // dropped by BertNormalizer clean_text
bool is_bert_punctuation(char32_t c);  // BertPreTokenizer: ASCII symbols and Unicode P*
bool is_chinese_char(char32_t c);      // BertNormalizer handle_chinese_chars
bool is_mark_nonspacing(char32_t c);   // Mn: dropped by strip_accents after NFD
bool is_letter(char32_t c);            // \p{L} of the GPT-2 regex
bool is_number(char32_t c);            // \p{N} of the GPT-2 regex
uint8_t combining_class(char32_t c);   // canonical combining class (0 for starters)

// Appends the full canonical decomposition of c (c itself when it has none); not reordered.
void append_decomposition(char32_t c, std::u32string& out);
// Appends c.to_lowercase() as Rust defines it (full mapping, one to three code points).
void append_lowercase(char32_t c, std::u32string& out);

}  // namespace edgerun::unicode
