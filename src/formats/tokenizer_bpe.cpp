// GPT-2's byte-level BPE as the `tokenizers` library runs it: the ByteLevel pre-tokenizer (GPT-2's
// split regex, written out by hand below, then each byte mapped to a printable character), BPE
// merges applied lowest rank first with a word cache, and the ByteLevel decoder with lossy UTF-8.
// Read from tokenizer.json or vocab.json + merges.txt. BPE dropout, byte fallback and subword
// prefixes/suffixes (other model families) are refused with UnsupportedError.
#include <algorithm>
#include <array>
#include <mutex>
#include <queue>

#include "core/error.h"
#include "formats/json_strict.h"
#include "formats/tokenizer_impl.h"
#include "formats/unicode_tables.h"
#include "io/file.h"

namespace edgerun::tokenizer_detail {

namespace {

using json = nlohmann::json;

// GPT-2's bytes_to_unicode: printable Latin-1 bytes map to themselves, the other 68 bytes to
// U+0100.. in byte order, so every byte has a visible, non-space character.
struct ByteMap {
  std::array<char32_t, 256> to_char{};
  std::array<int16_t, 324> to_byte{};  // indexed by the character; -1 when not a byte's char
  ByteMap() {
    to_byte.fill(-1);
    char32_t extra = 256;
    for (int b = 0; b < 256; ++b) {
      bool kept = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
      to_char[b] = kept ? static_cast<char32_t>(b) : extra++;
      to_byte[to_char[b]] = static_cast<int16_t>(b);
    }
  }
};
const ByteMap& byte_map() {
  static const ByteMap m;
  return m;
}

// End of the match of 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// starting at s[i] (the alternatives in order, leftmost-first as Oniguruma runs them). Every
// character is a letter, a number, whitespace or "other", so a match always exists.
size_t gpt2_match(std::u32string_view s, size_t i) {
  const size_t n = s.size();
  enum Kind { kLetter, kNumber, kSpace, kOther };
  auto kind = [](char32_t c) {
    if (unicode::is_letter(c)) return kLetter;
    if (unicode::is_number(c)) return kNumber;
    if (unicode::is_whitespace(c)) return kSpace;
    return kOther;
  };
  auto run_end = [&](size_t k, Kind want) {
    while (k < n && kind(s[k]) == want) ++k;
    return k;
  };
  if (s[i] == U'\'' && i + 1 < n) {
    char32_t a = s[i + 1];
    if (a == U's' || a == U't' || a == U'm' || a == U'd') return i + 2;
    if (i + 2 < n) {
      char32_t b = s[i + 2];
      if ((a == U'r' && b == U'e') || (a == U'v' && b == U'e') || (a == U'l' && b == U'l'))
        return i + 3;
    }
  }
  // " ?X+" for the three non-space classes: an optional single U+0020 before the run.
  size_t j = (s[i] == U' ' && i + 1 < n && kind(s[i + 1]) != kSpace) ? i + 1 : i;
  Kind k = kind(s[j]);
  if (k != kSpace) return run_end(j, k);
  // \s+(?!\S): the whitespace run, less its last character when a non-space follows;
  // \s+ when that leaves nothing (a single whitespace before a non-space).
  size_t e = run_end(i, kSpace);
  if (e == n || e - i == 1) return e;
  return e - 1;
}

struct BpeOptions {
  bool add_prefix_space = false;
  bool use_regex = true;
  bool has_decoder = true;
  std::string unk_token;  // empty: characters outside the vocabulary are dropped
  bool fuse_unk = false;
  bool ignore_merges = false;
};

class BpeTokenizer final : public TokenizerBase {
 public:
  BpeTokenizer(std::string source, BpeOptions opt, std::unordered_map<std::string, int64_t> vocab,
               const std::vector<std::pair<std::string, std::string>>& merges,
               const std::string& merges_file)
      : TokenizerBase(std::move(source)), opt_(std::move(opt)) {
    vocab_ = std::move(vocab);
    for (const auto& [tok, id] : vocab_) id_to_token_[id] = tok;
    for (size_t rank = 0; rank < merges.size(); ++rank) {
      const auto& [a, b] = merges[rank];
      auto ia = vocab_.find(a), ib = vocab_.find(b), iab = vocab_.find(a + b);
      if (ia == vocab_.end() || ib == vocab_.end() || iab == vocab_.end())
        ER_THROW(FormatError, merges_file, ": merge ", rank + 1, " \"", a, " ", b,
                 "\" uses a token that is not in the vocabulary");
      // A repeated pair keeps its last rank, as the library's map does.
      merges_[pair_key(ia->second, ib->second)] = {static_cast<uint32_t>(rank), iab->second};
    }
    if (!opt_.unk_token.empty()) {
      auto it = vocab_.find(opt_.unk_token);
      if (it != vocab_.end()) unk_id_ = it->second;
    }
  }
  void setup(std::vector<AddedToken> added, PostProcessor post) {
    finish_setup(std::move(added), std::move(post));
  }

 protected:
  std::string normalize(std::string_view text) const override { return std::string(text); }
  void encode_normalized(std::string_view text, std::vector<int64_t>& ids) const override;
  std::string decode_tokens(const std::vector<std::string>& tokens) const override;

 private:
  static uint64_t pair_key(int64_t a, int64_t b) {
    return (static_cast<uint64_t>(a) << 32) | static_cast<uint64_t>(b);
  }
  void encode_word(const std::string& word, std::vector<int64_t>& ids) const;
  std::vector<int64_t> merge_word(const std::string& word) const;

  struct Merge {
    uint32_t rank;
    int64_t new_id;
  };
  BpeOptions opt_;
  std::unordered_map<uint64_t, Merge> merges_;
  int64_t unk_id_ = -1;
  // Word -> ids; bounded so that a long stream of distinct words cannot grow it without end.
  static constexpr size_t kCacheEntries = 10000, kCacheWordBytes = 256;
  mutable std::mutex cache_mutex_;
  mutable std::unordered_map<std::string, std::vector<int64_t>> cache_;
};

void BpeTokenizer::encode_normalized(std::string_view text, std::vector<int64_t>& ids) const {
  std::u32string s = utf8_to_u32(text, "tokenizer input");
  if (opt_.add_prefix_space && !s.empty() && s[0] != U' ') s.insert(s.begin(), U' ');
  const ByteMap& bm = byte_map();
  std::string piece, mapped;
  for (size_t i = 0; i < s.size();) {
    size_t e = opt_.use_regex ? gpt2_match(s, i) : s.size();
    piece = u32_to_utf8(std::u32string_view(s).substr(i, e - i));
    mapped.clear();
    for (unsigned char b : piece) append_utf8(mapped, bm.to_char[b]);
    encode_word(mapped, ids);
    i = e;
  }
}

void BpeTokenizer::encode_word(const std::string& word, std::vector<int64_t>& ids) const {
  if (word.empty()) return;
  if (opt_.ignore_merges) {
    if (auto it = vocab_.find(word); it != vocab_.end()) {
      ids.push_back(it->second);
      return;
    }
  }
  const bool cacheable = word.size() <= kCacheWordBytes;
  if (cacheable) {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    if (auto it = cache_.find(word); it != cache_.end()) {
      ids.insert(ids.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  std::vector<int64_t> out = merge_word(word);
  ids.insert(ids.end(), out.begin(), out.end());
  if (cacheable) {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    if (cache_.size() < kCacheEntries) cache_.emplace(word, std::move(out));
  }
}

// The library's Word::merge_all: a min-heap of (rank, position) over adjacent pairs of a linked
// list of symbols; entries made stale by earlier merges are skipped when popped. O(n log n).
std::vector<int64_t> BpeTokenizer::merge_word(const std::string& word) const {
  struct Symbol {
    int64_t id;
    int64_t prev, next;
    bool alive;
  };
  std::vector<Symbol> sym;
  std::u32string chars = utf8_to_u32(word, "tokenizer input");
  std::string ch;
  for (char32_t c : chars) {
    ch.clear();
    append_utf8(ch, c);
    auto it = vocab_.find(ch);
    if (it == vocab_.end()) {
      if (unk_id_ < 0) {
        if (!opt_.unk_token.empty())
          ER_THROW(FormatError, source_, ": unknown token \"", opt_.unk_token,
                   "\" is not in the vocabulary but the input needs it");
        continue;  // no unknown token: the library drops the character
      }
      if (opt_.fuse_unk && !sym.empty() && sym.back().id == unk_id_) continue;
      sym.push_back({unk_id_, 0, 0, true});
    } else {
      sym.push_back({it->second, 0, 0, true});
    }
  }
  const auto n = static_cast<int64_t>(sym.size());
  for (int64_t i = 0; i < n; ++i) {
    sym[i].prev = i - 1;
    sym[i].next = i + 1 < n ? i + 1 : -1;
  }
  struct Entry {
    uint32_t rank;
    int64_t pos;
    int64_t new_id;
    bool operator>(const Entry& o) const {
      return rank != o.rank ? rank > o.rank : pos > o.pos;
    }
  };
  std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> queue;
  auto push_pair = [&](int64_t pos) {
    int64_t next = sym[pos].next;
    if (next < 0) return;
    auto it = merges_.find(pair_key(sym[pos].id, sym[next].id));
    if (it != merges_.end()) queue.push({it->second.rank, pos, it->second.new_id});
  };
  for (int64_t i = 0; i + 1 < n; ++i) push_pair(i);
  while (!queue.empty()) {
    Entry top = queue.top();
    queue.pop();
    Symbol& left = sym[top.pos];
    if (!left.alive || left.next < 0) continue;
    Symbol& right = sym[left.next];
    auto it = merges_.find(pair_key(left.id, right.id));
    if (it == merges_.end() || it->second.new_id != top.new_id) continue;  // stale entry
    left.id = top.new_id;
    right.alive = false;
    left.next = right.next;
    if (right.next >= 0) sym[right.next].prev = top.pos;
    if (left.prev >= 0) push_pair(left.prev);
    push_pair(top.pos);
  }
  std::vector<int64_t> out;
  for (const Symbol& s : sym)
    if (s.alive) out.push_back(s.id);
  return out;
}

std::string BpeTokenizer::decode_tokens(const std::vector<std::string>& tokens) const {
  if (!opt_.has_decoder) {
    std::string out;
    for (size_t i = 0; i < tokens.size(); ++i) out += (i ? " " : "") + tokens[i];
    return out;
  }
  // Each token's characters back to bytes; a token holding a character outside the byte map
  // (an added token) contributes its own UTF-8 bytes. Then lossy UTF-8, as the library does.
  const ByteMap& bm = byte_map();
  std::string bytes, own;
  for (const std::string& t : tokens) {
    own.clear();
    bool all_mapped = true;
    for (char32_t c : utf8_to_u32(t, "token")) {
      if (c >= bm.to_byte.size() || bm.to_byte[c] < 0) {
        all_mapped = false;
        break;
      }
      own.push_back(static_cast<char>(bm.to_byte[c]));
    }
    bytes += all_mapped ? own : t;
  }
  return utf8_lossy(bytes);
}

// "a b" -> (a, b); exactly one space, as the library requires.
void parse_merge_line(std::string_view line, const std::string& path, size_t number,
                      std::vector<std::pair<std::string, std::string>>& out) {
  size_t sp = line.find(' ');
  if (sp == std::string_view::npos || sp == 0 || sp + 1 >= line.size() ||
      line.find(' ', sp + 1) != std::string_view::npos)
    ER_THROW(FormatError, path, ": merge ", number, " is not two tokens separated by one space");
  out.emplace_back(std::string(line.substr(0, sp)), std::string(line.substr(sp + 1)));
}

}  // namespace

std::unique_ptr<Tokenizer> make_bpe_from_json(const json& root, const std::string& path) {
  BpeOptions opt;
  const json& model = require(root, "model", path, "the top-level object");
  auto vocab = read_vocab_object(require(model, "vocab", path, "model"), path, "model.vocab");
  const json& merges_json = require(model, "merges", path, "model");
  if (!merges_json.is_array()) ER_THROW(FormatError, path, ": model.merges is not an array");
  std::vector<std::pair<std::string, std::string>> merges;
  merges.reserve(merges_json.size());
  for (size_t i = 0; i < merges_json.size(); ++i) {
    const json& m = merges_json[i];
    if (m.is_string()) {  // "a b" (older files)
      parse_merge_line(m.get_ref<const std::string&>(), path, i + 1, merges);
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      merges.emplace_back(m[0].get<std::string>(), m[1].get<std::string>());  // ["a", "b"]
    } else {
      ER_THROW(FormatError, path, ": model.merges[", i, "] is neither \"a b\" nor [\"a\", \"b\"]");
    }
  }
  if (!opt_string(model, "continuing_subword_prefix", "", path, "model").empty() ||
      !opt_string(model, "end_of_word_suffix", "", path, "model").empty())
    ER_THROW(UnsupportedError, path, ": BPE with a subword prefix or suffix is not supported");
  if (opt_bool(model, "byte_fallback", false, path, "model"))
    ER_THROW(UnsupportedError, path, ": BPE byte_fallback is not supported");
  if (const json d = model.value("dropout", json()); !d.is_null()) {
    if (!d.is_number()) ER_THROW(FormatError, path, ": model.dropout is not a number");
    if (d.get<double>() > 0.0)
      ER_THROW(UnsupportedError, path, ": BPE dropout (random merges) is not supported");
  }
  opt.unk_token = opt_string(model, "unk_token", "", path, "model");
  opt.fuse_unk = opt_bool(model, "fuse_unk", false, path, "model");
  opt.ignore_merges = opt_bool(model, "ignore_merges", false, path, "model");

  if (const json n = root.value("normalizer", json()); !n.is_null())
    ER_THROW(UnsupportedError, path, ": normalizer \"", get_string(n, "type", path, "normalizer"),
             "\" is not supported with byte-level BPE");
  const json pre = root.value("pre_tokenizer", json());
  if (pre.is_null() || get_string(pre, "type", path, "pre_tokenizer") != "ByteLevel")
    ER_THROW(UnsupportedError, path, ": BPE needs the ByteLevel pre_tokenizer (got ",
             pre.is_null() ? std::string("none") : pre.value("type", std::string("?")), ")");
  opt.add_prefix_space = opt_bool(pre, "add_prefix_space", false, path, "pre_tokenizer");
  opt.use_regex = opt_bool(pre, "use_regex", true, path, "pre_tokenizer");
  const json dec = root.value("decoder", json());
  opt.has_decoder = !dec.is_null();
  if (!dec.is_null() && get_string(dec, "type", path, "decoder") != "ByteLevel")
    ER_THROW(UnsupportedError, path, ": decoder \"", dec.value("type", std::string("?")),
             "\" is not supported with BPE (ByteLevel is)");
  auto tok = std::make_unique<BpeTokenizer>(path, std::move(opt), std::move(vocab), merges, path);
  tok->setup(read_added_tokens(root, path),
             read_post_processor(root.value("post_processor", json()), path));
  return tok;
}

std::unique_ptr<Tokenizer> make_bpe_from_files(const std::string& vocab_path,
                                               const std::string& merges_path,
                                               const std::string& config_path) {
  const json vocab_json = parse_json_strict(read_text_file(vocab_path), vocab_path);
  auto vocab = read_vocab_object(vocab_json, vocab_path, "the vocabulary");
  // merges.txt: "#version: ..." first, then "a b" per line in rank order.
  std::string text = read_text_file(merges_path);
  std::vector<std::pair<std::string, std::string>> merges;
  size_t line_no = 0;
  for (size_t pos = 0; pos < text.size();) {
    size_t nl = text.find('\n', pos);
    size_t end = nl == std::string::npos ? text.size() : nl;
    std::string_view line(text.data() + pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    ++line_no;
    pos = end + 1;
    if (line.empty() || line.rfind("#version", 0) == 0) continue;
    if (!is_valid_utf8(line))
      ER_THROW(FormatError, merges_path, ": line ", line_no, " is not valid UTF-8");
    parse_merge_line(line, merges_path, line_no, merges);
  }
  const std::string cfg_name = config_path.empty() ? vocab_path : config_path;
  const json config = read_tokenizer_config(config_path);
  BpeOptions opt;
  opt.add_prefix_space = opt_bool(config, "add_prefix_space", false, cfg_name, "config");
  std::vector<AddedToken> added = config_added_tokens(config, cfg_name);
  // GPT-2 uses <|endoftext|> as bos, eos and unk; register whichever the vocabulary has.
  for (const char* key : {"bos_token", "eos_token", "unk_token", "pad_token"}) {
    std::string name = config_token(config, key, key[0] == 'p' ? "" : "<|endoftext|>", cfg_name);
    auto it = vocab.find(name);
    bool listed = std::any_of(added.begin(), added.end(),
                              [&](const AddedToken& t) { return t.content == name; });
    if (name.empty() || it == vocab.end() || listed) continue;
    AddedToken t;
    t.content = name;
    t.id = it->second;
    t.special = true;
    added.push_back(std::move(t));
  }
  std::string source = vocab_path + " + " + merges_path;
  auto tok = std::make_unique<BpeTokenizer>(source, std::move(opt), std::move(vocab), merges,
                                            merges_path);
  tok->setup(std::move(added), PostProcessor{});
  return tok;
}

}  // namespace edgerun::tokenizer_detail
