// BERT's WordPiece tokenizer as the `tokenizers` library runs it: BertNormalizer (clean text,
// spaces around CJK ideographs, NFD + drop Mn, lowercase), BertPreTokenizer (split on whitespace,
// isolate punctuation), greedy longest-match-first WordPiece with a continuing prefix, and the
// WordPiece decoder. Read from tokenizer.json or from vocab.txt + tokenizer_config.json. Other
// normalizers and pre-tokenizers are refused with UnsupportedError.
#include <algorithm>

#include "core/error.h"
#include "formats/tokenizer_impl.h"
#include "formats/unicode_tables.h"
#include "io/file.h"

namespace edgerun::tokenizer_detail {

namespace {

using json = nlohmann::json;

struct BertNormalizerOptions {
  bool enabled = false;
  bool clean_text = true;
  bool handle_chinese_chars = true;
  bool strip_accents = true;  // resolved: the file's null means "same as lowercase"
  bool lowercase = true;
};

struct WordPieceOptions {
  BertNormalizerOptions normalizer;
  bool bert_pre_tokenizer = true;
  std::string unk_token = "[UNK]";
  std::string prefix = "##";
  int64_t max_input_chars_per_word = 100;
  bool has_decoder = true;  // else tokens are joined with spaces, as the library does
  std::string decoder_prefix = "##";
  bool decoder_cleanup = true;
};

class WordPieceTokenizer final : public TokenizerBase {
 public:
  WordPieceTokenizer(std::string source, WordPieceOptions opt,
                     std::unordered_map<std::string, int64_t> vocab)
      : TokenizerBase(std::move(source)), opt_(std::move(opt)) {
    vocab_ = std::move(vocab);
    for (const auto& [tok, id] : vocab_) {
      id_to_token_[id] = tok;
      max_token_bytes_ = std::max(max_token_bytes_, tok.size());
    }
    if (auto it = vocab_.find(opt_.unk_token); it != vocab_.end()) unk_id_ = it->second;
  }
  void setup(std::vector<AddedToken> added, PostProcessor post) {
    finish_setup(std::move(added), std::move(post));
  }

 protected:
  std::string normalize(std::string_view text) const override;
  void encode_normalized(std::string_view text, std::vector<int64_t>& ids) const override;
  std::string decode_tokens(const std::vector<std::string>& tokens) const override;

 private:
  void encode_word(std::u32string_view word, std::vector<int64_t>& ids) const;
  int64_t unk() const {
    if (unk_id_ < 0)
      ER_THROW(FormatError, source_, ": unknown token \"", opt_.unk_token,
               "\" is not in the vocabulary but the input needs it");
    return unk_id_;
  }

  WordPieceOptions opt_;
  int64_t unk_id_ = -1;
  size_t max_token_bytes_ = 0;  // no vocabulary entry is longer: bounds the greedy search
};

std::string WordPieceTokenizer::normalize(std::string_view text) const {
  const BertNormalizerOptions& n = opt_.normalizer;
  if (!n.enabled) return std::string(text);
  std::u32string s = utf8_to_u32(text, "tokenizer input");
  std::u32string t;
  t.reserve(s.size() + 8);
  for (char32_t c : s) {
    if (n.clean_text) {
      if (c == 0 || c == 0xFFFD || unicode::is_bert_control(c)) continue;
      if (c == U'\t' || c == U'\n' || c == U'\r' || unicode::is_whitespace(c)) c = U' ';
    }
    if (n.handle_chinese_chars && unicode::is_chinese_char(c)) {
      t.push_back(U' ');
      t.push_back(c);
      t.push_back(U' ');
    } else {
      t.push_back(c);
    }
  }
  if (n.strip_accents) {
    // NFD: full decomposition, then the canonical ordering of each run of non-starters
    // (a stable sort by combining class), then drop the nonspacing marks.
    std::u32string d;
    d.reserve(t.size());
    for (char32_t c : t) unicode::append_decomposition(c, d);
    for (size_t i = 0; i < d.size();) {
      if (unicode::combining_class(d[i]) == 0) {
        ++i;
        continue;
      }
      size_t j = i;
      while (j < d.size() && unicode::combining_class(d[j]) != 0) ++j;
      std::stable_sort(d.begin() + i, d.begin() + j, [](char32_t a, char32_t b) {
        return unicode::combining_class(a) < unicode::combining_class(b);
      });
      i = j;
    }
    t.clear();
    for (char32_t c : d)
      if (!unicode::is_mark_nonspacing(c)) t.push_back(c);
  }
  if (n.lowercase) {
    std::u32string l;
    l.reserve(t.size());
    for (char32_t c : t) unicode::append_lowercase(c, l);
    t.swap(l);
  }
  return u32_to_utf8(t);
}

void WordPieceTokenizer::encode_normalized(std::string_view text, std::vector<int64_t>& ids) const {
  std::u32string s = utf8_to_u32(text, "tokenizer input");
  if (!opt_.bert_pre_tokenizer) {
    if (!s.empty()) encode_word(s, ids);
    return;
  }
  // Whitespace splits and is dropped; each punctuation character is a word of its own.
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); ++i) {
    bool end = i == s.size();
    bool space = !end && unicode::is_whitespace(s[i]);
    bool punct = !end && !space && unicode::is_bert_punctuation(s[i]);
    if (end || space || punct) {
      if (i > start) encode_word(std::u32string_view(s).substr(start, i - start), ids);
      if (punct) encode_word(std::u32string_view(s).substr(i, 1), ids);
      start = i + 1;
    }
  }
}

void WordPieceTokenizer::encode_word(std::u32string_view word, std::vector<int64_t>& ids) const {
  if (static_cast<int64_t>(word.size()) > opt_.max_input_chars_per_word) {
    ids.push_back(unk());
    return;
  }
  // Byte offset of each character boundary of the word in UTF-8.
  std::string utf8 = u32_to_utf8(word);
  std::vector<size_t> at(word.size() + 1, 0);
  for (size_t i = 0; i < word.size(); ++i) {
    char32_t c = word[i];
    at[i + 1] = at[i] + (c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4);
  }
  const size_t first_out = ids.size();
  std::string key;
  for (size_t start = 0; start < word.size();) {
    const std::string_view pre = start > 0 ? std::string_view(opt_.prefix) : std::string_view();
    size_t end = word.size();
    while (end > start && at[end] - at[start] + pre.size() > max_token_bytes_) --end;
    int64_t found = -1;
    for (; end > start; --end) {  // longest match first
      key.assign(pre);
      key.append(utf8, at[start], at[end] - at[start]);
      if (auto it = vocab_.find(key); it != vocab_.end()) {
        found = it->second;
        break;
      }
    }
    if (found < 0) {  // one piece cannot be matched: the whole word is unknown
      ids.resize(first_out);
      ids.push_back(unk());
      return;
    }
    ids.push_back(found);
    start = end;
  }
}

std::string WordPieceTokenizer::decode_tokens(const std::vector<std::string>& tokens) const {
  std::string out;
  if (!opt_.has_decoder) {
    for (size_t i = 0; i < tokens.size(); ++i) out += (i ? " " : "") + tokens[i];
    return out;
  }
  static const std::pair<std::string_view, std::string_view> kCleanup[] = {
      {" .", "."},     {" ?", "?"},   {" !", "!"},   {" ,", ","},
      {" ' ", "'"},    {" n't", "n't"}, {" 'm", "'m"}, {" do not", " don't"},
      {" 's", "'s"},   {" 've", "'ve"}, {" 're", "'re"}};
  const std::string& prefix = opt_.decoder_prefix;
  for (size_t i = 0; i < tokens.size(); ++i) {
    std::string t = tokens[i];
    if (i != 0) {
      if (t.compare(0, prefix.size(), prefix) == 0)
        t.erase(0, prefix.size());
      else
        t.insert(0, " ");
    }
    if (opt_.decoder_cleanup) {  // per token, as the library's decode_chain does
      for (const auto& [from, to] : kCleanup) {
        std::string r;
        size_t pos = 0;
        for (size_t hit; (hit = t.find(from, pos)) != std::string::npos; pos = hit + from.size())
          r.append(t, pos, hit - pos).append(to);
        r.append(t, pos);
        t.swap(r);
      }
    }
    out += t;
  }
  return out;
}

BertNormalizerOptions read_normalizer(const json& v, const std::string& path) {
  BertNormalizerOptions n;
  if (v.is_null()) return n;  // enabled = false
  const std::string where = "normalizer";
  std::string type = get_string(v, "type", path, where);
  if (type != "BertNormalizer")
    ER_THROW(UnsupportedError, path, ": normalizer \"", type,
             "\" is not supported with WordPiece (BertNormalizer is)");
  n.enabled = true;
  n.clean_text = opt_bool(v, "clean_text", true, path, where);
  n.handle_chinese_chars = opt_bool(v, "handle_chinese_chars", true, path, where);
  n.lowercase = opt_bool(v, "lowercase", true, path, where);
  n.strip_accents = opt_bool(v, "strip_accents", n.lowercase, path, where);
  return n;
}

}  // namespace

std::unique_ptr<Tokenizer> make_wordpiece_from_json(const json& root, const std::string& path) {
  WordPieceOptions opt;
  const json& model = require(root, "model", path, "the top-level object");
  opt.unk_token = opt_string(model, "unk_token", "[UNK]", path, "model");
  opt.prefix = opt_string(model, "continuing_subword_prefix", "##", path, "model");
  opt.max_input_chars_per_word = opt_int(model, "max_input_chars_per_word", 100, path, "model");
  if (opt.max_input_chars_per_word < 0)
    ER_THROW(FormatError, path, ": model.max_input_chars_per_word is negative");
  auto vocab = read_vocab_object(require(model, "vocab", path, "model"), path, "model.vocab");

  opt.normalizer = read_normalizer(root.value("normalizer", json()), path);
  const json pre = root.value("pre_tokenizer", json());
  opt.bert_pre_tokenizer = !pre.is_null();
  if (!pre.is_null()) {
    std::string type = get_string(pre, "type", path, "pre_tokenizer");
    if (type != "BertPreTokenizer")
      ER_THROW(UnsupportedError, path, ": pre_tokenizer \"", type,
               "\" is not supported with WordPiece (BertPreTokenizer is)");
  }
  const json dec = root.value("decoder", json());
  opt.has_decoder = !dec.is_null();
  if (!dec.is_null()) {
    std::string type = get_string(dec, "type", path, "decoder");
    if (type != "WordPiece")
      ER_THROW(UnsupportedError, path, ": decoder \"", type,
               "\" is not supported with WordPiece (WordPiece is)");
    opt.decoder_prefix = opt_string(dec, "prefix", "##", path, "decoder");
    opt.decoder_cleanup = opt_bool(dec, "cleanup", true, path, "decoder");
  }
  auto tok = std::make_unique<WordPieceTokenizer>(path, std::move(opt), std::move(vocab));
  tok->setup(read_added_tokens(root, path),
             read_post_processor(root.value("post_processor", json()), path));
  return tok;
}

std::unique_ptr<Tokenizer> make_wordpiece_from_files(const std::string& vocab_path,
                                                     const std::string& config_path) {
  // vocab.txt: one token per line, id = line number; a repeated token keeps its last line (as
  // transformers' load_vocab does) and the earlier id decodes to nothing.
  std::string text = read_text_file(vocab_path, 64ull << 20);
  std::unordered_map<std::string, int64_t> vocab;
  int64_t id = 0;
  for (size_t pos = 0; pos < text.size(); ++id) {
    size_t nl = text.find('\n', pos);
    size_t end = nl == std::string::npos ? text.size() : nl;
    std::string tok = text.substr(pos, end - pos);
    if (!tok.empty() && tok.back() == '\r') tok.pop_back();
    if (!is_valid_utf8(tok))
      ER_THROW(FormatError, vocab_path, ": line ", id + 1, " is not valid UTF-8");
    vocab[tok] = id;
    pos = end + 1;
  }
  if (vocab.empty()) ER_THROW(FormatError, vocab_path, ": vocabulary is empty");

  const std::string cfg_name = config_path.empty() ? vocab_path : config_path;
  const json config = read_tokenizer_config(config_path);
  WordPieceOptions opt;
  opt.normalizer.enabled = true;
  opt.normalizer.lowercase = opt_bool(config, "do_lower_case", true, cfg_name, "config");
  opt.normalizer.strip_accents =
      opt_bool(config, "strip_accents", opt.normalizer.lowercase, cfg_name, "config");
  opt.normalizer.handle_chinese_chars =
      opt_bool(config, "tokenize_chinese_chars", true, cfg_name, "config");
  opt.unk_token = config_token(config, "unk_token", "[UNK]", cfg_name);
  const std::string cls = config_token(config, "cls_token", "[CLS]", cfg_name);
  const std::string sep = config_token(config, "sep_token", "[SEP]", cfg_name);

  std::vector<AddedToken> added = config_added_tokens(config, cfg_name);
  // The special tokens transformers registers for BERT, when the vocabulary has them.
  for (const std::string& name :
       {opt.unk_token, sep, config_token(config, "pad_token", "[PAD]", cfg_name), cls,
        config_token(config, "mask_token", "[MASK]", cfg_name)}) {
    auto it = vocab.find(name);
    bool listed = std::any_of(added.begin(), added.end(),
                              [&](const AddedToken& t) { return t.content == name; });
    if (it != vocab.end() && !listed) {
      AddedToken t;
      t.content = name;
      t.id = it->second;
      t.special = true;
      added.push_back(std::move(t));
    }
  }
  auto id_of = [&](const std::string& name) -> int64_t {
    for (const AddedToken& t : added)
      if (t.content == name) return t.id;
    auto it = vocab.find(name);
    if (it == vocab.end())
      ER_THROW(FormatError, vocab_path, ": special token \"", name, "\" is not in the vocabulary");
    return it->second;
  };
  PostProcessor post;
  post.prefix_ids = {id_of(cls)};
  post.prefix_types = {0};
  post.suffix_ids = {id_of(sep)};
  post.suffix_types = {0};
  std::string source = vocab_path + (config_path.empty() ? "" : " + " + config_path);
  auto tok = std::make_unique<WordPieceTokenizer>(source, std::move(opt), std::move(vocab));
  tok->setup(std::move(added), std::move(post));
  return tok;
}

}  // namespace edgerun::tokenizer_detail
