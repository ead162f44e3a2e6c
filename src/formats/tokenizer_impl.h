// Internals shared by the tokenizer files (not a public header): UTF-8 helpers, the added-token
// vocabulary that splits text on special tokens before normalization, the single-sequence
// post-processor, strict JSON field access, and the common encode/decode pipeline of the
// `tokenizers` library. Pair encodings, truncation and padding are left out.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <nlohmann/json.hpp>

#include "edgerun/preprocess.h"

namespace edgerun::tokenizer_detail {

// ---- UTF-8 -------------------------------------------------------------------------------------
// Decodes valid UTF-8; throws InputError "<what>: not valid UTF-8 at byte N" otherwise.
std::u32string utf8_to_u32(std::string_view s, std::string_view what);
bool is_valid_utf8(std::string_view s);
void append_utf8(std::string& out, char32_t c);
std::string u32_to_utf8(std::u32string_view s);
// Rust's String::from_utf8_lossy: each maximal invalid subsequence becomes one U+FFFD.
std::string utf8_lossy(std::string_view bytes);

// ---- strict JSON field access (errors name the file and the key) --------------------------------
const nlohmann::json& require(const nlohmann::json& obj, const char* key, const std::string& path,
                              const std::string& where);
std::string get_string(const nlohmann::json& obj, const char* key, const std::string& path,
                       const std::string& where);
// Optional fields: the default when absent or null; FormatError when of the wrong type.
std::string opt_string(const nlohmann::json& obj, const char* key, const std::string& dflt,
                       const std::string& path, const std::string& where);
bool opt_bool(const nlohmann::json& obj, const char* key, bool dflt, const std::string& path,
              const std::string& where);
int64_t opt_int(const nlohmann::json& obj, const char* key, int64_t dflt, const std::string& path,
                const std::string& where);
// Token ids must be in [0, 2^31) (the library stores them as u32; we keep int32 room).
int64_t to_token_id(const nlohmann::json& v, const std::string& path, const std::string& where);
// Reads a JSON object {token: id}; throws FormatError on a non-integer id or two tokens sharing
// one id (the library would decode that id to either).
std::unordered_map<std::string, int64_t> read_vocab_object(const nlohmann::json& v,
                                                           const std::string& path,
                                                           const std::string& where);

// ---- added tokens ------------------------------------------------------------------------------
struct AddedToken {
  std::string content;
  int64_t id = -1;
  bool special = false;
  bool normalized = false;  // matched in the normalized text instead of the raw text
  bool lstrip = false;
  bool rstrip = false;
  bool single_word = false;
};

// One piece of the input: either text still to tokenize, or an added token already matched.
struct Segment {
  std::string text;
  int64_t token_id = -1;  // >= 0 for an added token
};

// Finds added tokens in text as the library's AddedVocabulary does: leftmost-longest matching
// (Aho-Corasick semantics, here a byte trie), honouring lstrip / rstrip / single_word.
class AddedTokenMatcher {
 public:
  // `patterns[i]` is the text to find for `tokens[i]` (the content, or its normalized form).
  void build(std::vector<std::string> patterns, std::vector<const AddedToken*> tokens);
  bool empty() const { return nodes_.size() <= 1; }
  // Splits text into segments covering all of it; an empty text gives one empty segment.
  std::vector<Segment> split(std::string_view text) const;

 private:
  struct Node {
    std::vector<std::pair<unsigned char, int32_t>> next;  // sorted by byte
    int32_t token = -1;                                   // index into tokens_
  };
  std::vector<Node> nodes_;
  std::vector<const AddedToken*> tokens_;
};

// The longest added token accepted: bounds the matcher's work per text position.
inline constexpr size_t kMaxAddedTokenBytes = 4096;

// Reads tokenizer.json's "added_tokens" array.
std::vector<AddedToken> read_added_tokens(const nlohmann::json& root, const std::string& path);

// ---- post-processing (single sequence) ---------------------------------------------------------
struct PostProcessor {
  std::vector<int64_t> prefix_ids, prefix_types;  // before the sequence
  std::vector<int64_t> suffix_ids, suffix_types;  // after it
  int64_t sequence_type = 0;
};
// Parses "post_processor" (null, TemplateProcessing, BertProcessing, RobertaProcessing, ByteLevel
// or a Sequence of them).
PostProcessor read_post_processor(const nlohmann::json& v, const std::string& path);

// ---- the shared pipeline -----------------------------------------------------------------------
// encode: split raw text on non-normalized added tokens -> normalize each other piece -> split on
// normalized added tokens -> pre-tokenize + model -> post-process. decode: ids -> tokens (added
// tokens first) -> the model's decoder.
class TokenizerBase : public Tokenizer {
 public:
  Encoding encode(std::string_view text, bool add_special_tokens = true) const final;
  std::string decode(const std::vector<int64_t>& ids, bool skip_special_tokens = false) const final;
  int64_t vocab_size() const final;

 protected:
  explicit TokenizerBase(std::string source) : source_(std::move(source)) {}
  // Called by the factories once vocab_, added tokens and normalizer are set (needs the virtual
  // normalize for normalized added tokens, so it cannot run in the constructor).
  void finish_setup(std::vector<AddedToken> added, PostProcessor post);

  virtual std::string normalize(std::string_view text) const = 0;
  // Pre-tokenizes one normalized piece and appends the model's ids.
  virtual void encode_normalized(std::string_view text, std::vector<int64_t>& ids) const = 0;
  virtual std::string decode_tokens(const std::vector<std::string>& tokens) const = 0;

  std::string source_;                               // file(s) it came from, for messages
  std::unordered_map<std::string, int64_t> vocab_;   // the model's vocabulary
  std::unordered_map<int64_t, std::string> id_to_token_;

 private:
  std::vector<AddedToken> added_;
  std::unordered_map<int64_t, const AddedToken*> added_by_id_;
  std::unordered_set<std::string> special_contents_;
  AddedTokenMatcher raw_matcher_, normalized_matcher_;
  PostProcessor post_;
  int64_t vocab_size_ = 0;
};

// ---- factories (tokenizer_wordpiece.cpp, tokenizer_bpe.cpp) ------------------------------------
std::unique_ptr<Tokenizer> make_wordpiece_from_json(const nlohmann::json& root,
                                                    const std::string& path);
// vocab.txt plus an optional tokenizer_config.json (empty string when absent).
std::unique_ptr<Tokenizer> make_wordpiece_from_files(const std::string& vocab_path,
                                                     const std::string& config_path);
std::unique_ptr<Tokenizer> make_bpe_from_json(const nlohmann::json& root, const std::string& path);
std::unique_ptr<Tokenizer> make_bpe_from_files(const std::string& vocab_path,
                                               const std::string& merges_path,
                                               const std::string& config_path);

// Reads an optional tokenizer_config.json (an empty object when `path` is empty).
nlohmann::json read_tokenizer_config(const std::string& path);
// A special-token name from tokenizer_config.json: a string, or an object with "content".
std::string config_token(const nlohmann::json& config, const char* key, const std::string& dflt,
                         const std::string& path);
// Added tokens listed in tokenizer_config.json's "added_tokens_decoder" ({"id": {...}}).
std::vector<AddedToken> config_added_tokens(const nlohmann::json& config, const std::string& path);

}  // namespace edgerun::tokenizer_detail
