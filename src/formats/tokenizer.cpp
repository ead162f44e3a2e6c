// load_tokenizer and the parts every tokenizer shares: strict JSON field access,
// added-token matching, post-processing and the encode/decode pipeline of the `tokenizers` library.
// The model-specific parts live in tokenizer_wordpiece.cpp and tokenizer_bpe.cpp. Pair inputs,
// truncation and padding (which the runtime handles itself) are left out.
#include "edgerun/preprocess.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include "core/error.h"
#include "formats/json_strict.h"
#include "formats/tokenizer_impl.h"
#include "formats/unicode_tables.h"
#include "io/file.h"

namespace edgerun {
namespace tokenizer_detail {

using json = nlohmann::json;

// ---- JSON fields -------------------------------------------------------------------------------

const json& require(const json& obj, const char* key, const std::string& path,
                    const std::string& where) {
  if (!obj.is_object()) ER_THROW(FormatError, path, ": ", where, " is not a JSON object");
  auto it = obj.find(key);
  if (it == obj.end()) ER_THROW(FormatError, path, ": ", where, " has no \"", key, "\"");
  return *it;
}

std::string get_string(const json& obj, const char* key, const std::string& path,
                       const std::string& where) {
  const json& v = require(obj, key, path, where);
  if (!v.is_string())
    ER_THROW(FormatError, path, ": ", where, ".", key, " is not a string");
  return v.get<std::string>();
}

namespace {
const json* find_opt(const json& obj, const char* key, const std::string& path,
                     const std::string& where) {
  if (!obj.is_object()) ER_THROW(FormatError, path, ": ", where, " is not a JSON object");
  auto it = obj.find(key);
  return (it == obj.end() || it->is_null()) ? nullptr : &*it;
}
}  // namespace

std::string opt_string(const json& obj, const char* key, const std::string& dflt,
                       const std::string& path, const std::string& where) {
  const json* v = find_opt(obj, key, path, where);
  if (!v) return dflt;
  if (!v->is_string()) ER_THROW(FormatError, path, ": ", where, ".", key, " is not a string");
  return v->get<std::string>();
}

bool opt_bool(const json& obj, const char* key, bool dflt, const std::string& path,
              const std::string& where) {
  const json* v = find_opt(obj, key, path, where);
  if (!v) return dflt;
  if (!v->is_boolean()) ER_THROW(FormatError, path, ": ", where, ".", key, " is not a boolean");
  return v->get<bool>();
}

int64_t opt_int(const json& obj, const char* key, int64_t dflt, const std::string& path,
                const std::string& where) {
  const json* v = find_opt(obj, key, path, where);
  if (!v) return dflt;
  if (!v->is_number_integer())
    ER_THROW(FormatError, path, ": ", where, ".", key, " is not an integer");
  return v->get<int64_t>();
}

int64_t to_token_id(const json& v, const std::string& path, const std::string& where) {
  if (!v.is_number_integer())
    ER_THROW(FormatError, path, ": ", where, ": token id is not an integer");
  if (v.is_number_unsigned() ? v.get<uint64_t>() > 0x7FFFFFFFull
                             : (v.get<int64_t>() < 0 || v.get<int64_t>() > 0x7FFFFFFF))
    ER_THROW(FormatError, path, ": ", where, ": token id ", v.dump(), " is out of range");
  return v.get<int64_t>();
}

std::unordered_map<std::string, int64_t> read_vocab_object(const json& v, const std::string& path,
                                                           const std::string& where) {
  if (!v.is_object()) ER_THROW(FormatError, path, ": ", where, " is not a JSON object");
  std::unordered_map<std::string, int64_t> vocab;
  std::unordered_map<int64_t, const std::string*> seen;
  vocab.reserve(v.size());
  for (auto it = v.begin(); it != v.end(); ++it) {
    int64_t id = to_token_id(it.value(), path, where + " \"" + it.key() + "\"");
    auto [pos, fresh] = vocab.emplace(it.key(), id);
    auto [prev, unique] = seen.emplace(id, &pos->first);
    if (!unique)
      ER_THROW(FormatError, path, ": ", where, ": tokens \"", *prev->second, "\" and \"", it.key(),
               "\" share id ", id);
  }
  return vocab;
}

// ---- added tokens ------------------------------------------------------------------------------

void AddedTokenMatcher::build(std::vector<std::string> patterns,
                              std::vector<const AddedToken*> tokens) {
  nodes_.assign(1, Node{});
  tokens_ = std::move(tokens);
  for (size_t t = 0; t < patterns.size(); ++t) {
    if (patterns[t].empty()) continue;  // the library never matches an empty pattern
    int32_t node = 0;
    for (char ch : patterns[t]) {
      auto b = static_cast<unsigned char>(ch);
      auto& next = nodes_[node].next;
      auto it = std::lower_bound(next.begin(), next.end(), b,
                                 [](const auto& e, unsigned char v) { return e.first < v; });
      if (it != next.end() && it->first == b) {
        node = it->second;
      } else {
        auto child = static_cast<int32_t>(nodes_.size());
        next.insert(it, {b, child});  // invalidates `next`: nodes_ grows below
        nodes_.emplace_back();
        node = child;
      }
    }
    if (nodes_[node].token < 0) nodes_[node].token = static_cast<int32_t>(t);  // first one wins
  }
}

std::vector<Segment> AddedTokenMatcher::split(std::string_view text) const {
  std::vector<Segment> out;
  if (text.empty() || empty()) {
    out.push_back(Segment{std::string(text), -1});
    return out;
  }
  auto is_word = [](char32_t c) {  // approximates Rust regex \w (see the report on single_word)
    return c == U'_' || unicode::is_letter(c) || unicode::is_number(c) ||
           unicode::is_mark_nonspacing(c);
  };
  // Code point ending just before byte i / starting at byte i (text is valid UTF-8).
  auto cp_before = [&](size_t i) {
    size_t k = i - 1;
    while (k > 0 && (static_cast<unsigned char>(text[k]) & 0xC0) == 0x80) --k;
    return utf8_to_u32(text.substr(k, i - k), "text").front();
  };
  auto cp_at = [&](size_t i) {
    size_t k = i + 1;
    while (k < text.size() && (static_cast<unsigned char>(text[k]) & 0xC0) == 0x80) ++k;
    return utf8_to_u32(text.substr(i, k - i), "text").front();
  };
  size_t start_offset = 0, i = 0;
  while (i < text.size()) {
    // Longest pattern starting at i.
    int32_t node = 0, best = -1;
    size_t best_end = 0;
    for (size_t k = i; k < text.size(); ++k) {
      const auto& next = nodes_[node].next;
      auto b = static_cast<unsigned char>(text[k]);
      auto it = std::lower_bound(next.begin(), next.end(), b,
                                 [](const auto& e, unsigned char v) { return e.first < v; });
      if (it == next.end() || it->first != b) break;
      node = it->second;
      if (nodes_[node].token >= 0) {
        best = nodes_[node].token;
        best_end = k + 1;
      }
    }
    if (best < 0) {
      ++i;
      continue;
    }
    const AddedToken& tok = *tokens_[best];
    size_t start = i, stop = best_end;
    i = best_end;
    if (tok.single_word) {
      bool left_ok = start == 0 || !is_word(cp_before(start));
      bool right_ok = stop == text.size() || !is_word(cp_at(stop));
      if (!left_ok || !right_ok) continue;
    }
    if (tok.lstrip) {
      size_t s = start;
      while (s > start_offset && unicode::is_whitespace(cp_before(s))) {
        char32_t c = cp_before(s);
        s -= c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
      }
      start = s;
    }
    if (tok.rstrip) {
      while (stop < text.size() && unicode::is_whitespace(cp_at(stop))) {
        char32_t c = cp_at(stop);
        stop += c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
      }
      i = stop;  // the stripped spaces belong to this token
    }
    if (start_offset < start)
      out.push_back(Segment{std::string(text.substr(start_offset, start - start_offset)), -1});
    out.push_back(Segment{std::string(text.substr(start, stop - start)), tok.id});
    start_offset = stop;
  }
  if (start_offset < text.size())
    out.push_back(Segment{std::string(text.substr(start_offset)), -1});
  return out;
}

std::vector<AddedToken> read_added_tokens(const json& root, const std::string& path) {
  std::vector<AddedToken> out;
  const json* arr = find_opt(root, "added_tokens", path, "the top-level object");
  if (!arr) return out;
  if (!arr->is_array()) ER_THROW(FormatError, path, ": added_tokens is not an array");
  for (size_t i = 0; i < arr->size(); ++i) {
    const json& e = (*arr)[i];
    std::string where = "added_tokens[" + std::to_string(i) + "]";
    AddedToken t;
    t.id = to_token_id(require(e, "id", path, where), path, where);
    t.content = get_string(e, "content", path, where);
    t.special = opt_bool(e, "special", false, path, where);
    t.normalized = opt_bool(e, "normalized", !t.special, path, where);
    t.lstrip = opt_bool(e, "lstrip", false, path, where);
    t.rstrip = opt_bool(e, "rstrip", false, path, where);
    t.single_word = opt_bool(e, "single_word", false, path, where);
    out.push_back(std::move(t));
  }
  return out;
}

// ---- post-processors ---------------------------------------------------------------------------

namespace {
PostProcessor cls_sep(const json& v, const std::string& path, const std::string& where) {
  PostProcessor p;
  for (const char* key : {"cls", "sep"}) {
    const json& pair = require(v, key, path, where);
    if (!pair.is_array() || pair.size() != 2 || !pair[0].is_string())
      ER_THROW(FormatError, path, ": ", where, ".", key, " is not a [token, id] pair");
    int64_t id = to_token_id(pair[1], path, where + "." + key);
    (key[0] == 'c' ? p.prefix_ids : p.suffix_ids).push_back(id);
    (key[0] == 'c' ? p.prefix_types : p.suffix_types).push_back(0);
  }
  return p;
}

PostProcessor template_processing(const json& v, const std::string& path,
                                  const std::string& where) {
  PostProcessor p;
  const json& single = require(v, "single", path, where);
  const json& specials = require(v, "special_tokens", path, where);
  if (!single.is_array()) ER_THROW(FormatError, path, ": ", where, ".single is not an array");
  bool seen_sequence = false;
  for (const json& piece : single) {
    if (!piece.is_object() || piece.size() != 1)
      ER_THROW(FormatError, path, ": ", where, ".single has an entry that is not one object");
    if (piece.contains("Sequence")) {
      const json& s = piece["Sequence"];
      if (seen_sequence || get_string(s, "id", path, where + ".single") != "A")
        ER_THROW(UnsupportedError, path, ": ", where, ": single template must hold $A once");
      seen_sequence = true;
      p.sequence_type = opt_int(s, "type_id", 0, path, where + ".single");
      continue;
    }
    const json& s = require(piece, "SpecialToken", path, where + ".single");
    std::string name = get_string(s, "id", path, where + ".single");
    int64_t type_id = opt_int(s, "type_id", 0, path, where + ".single");
    const json& spec = require(specials, name.c_str(), path, where + ".special_tokens");
    const json& ids = require(spec, "ids", path, where + ".special_tokens." + name);
    if (!ids.is_array())
      ER_THROW(FormatError, path, ": ", where, ".special_tokens.", name, ".ids is not an array");
    for (const json& id : ids) {
      (seen_sequence ? p.suffix_ids : p.prefix_ids).push_back(to_token_id(id, path, where));
      (seen_sequence ? p.suffix_types : p.prefix_types).push_back(type_id);
    }
  }
  if (!seen_sequence) ER_THROW(FormatError, path, ": ", where, ".single has no $A");
  return p;
}
}  // namespace

PostProcessor read_post_processor(const json& v, const std::string& path) {
  const std::string where = "post_processor";
  if (v.is_null()) return {};
  std::string type = get_string(v, "type", path, where);
  if (type == "ByteLevel") return {};  // only adjusts offsets
  if (type == "TemplateProcessing") return template_processing(v, path, where);
  if (type == "BertProcessing" || type == "RobertaProcessing") return cls_sep(v, path, where);
  if (type == "Sequence") {
    const json& list = require(v, "processors", path, where);
    if (!list.is_array())
      ER_THROW(FormatError, path, ": post_processor.processors is not an array");
    PostProcessor out;
    for (const json& sub : list) {  // each later processor wraps the result of the earlier ones
      PostProcessor p = read_post_processor(sub, path);
      out.prefix_ids.insert(out.prefix_ids.begin(), p.prefix_ids.begin(), p.prefix_ids.end());
      out.prefix_types.insert(out.prefix_types.begin(), p.prefix_types.begin(),
                              p.prefix_types.end());
      out.suffix_ids.insert(out.suffix_ids.end(), p.suffix_ids.begin(), p.suffix_ids.end());
      out.suffix_types.insert(out.suffix_types.end(), p.suffix_types.begin(), p.suffix_types.end());
      if (!p.prefix_ids.empty() || !p.suffix_ids.empty()) out.sequence_type = p.sequence_type;
    }
    return out;
  }
  ER_THROW(UnsupportedError, path, ": post_processor type \"", type, "\" is not supported");
}

// ---- tokenizer_config.json ---------------------------------------------------------------------

json read_tokenizer_config(const std::string& path) {
  if (path.empty()) return json::object();
  json config = parse_json_strict(read_text_file(path, 64ull << 20), path);
  if (!config.is_object()) ER_THROW(FormatError, path, ": not a JSON object");
  return config;
}

std::string config_token(const json& config, const char* key, const std::string& dflt,
                         const std::string& path) {
  auto it = config.find(key);
  if (it == config.end() || it->is_null()) return dflt;
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object()) return get_string(*it, "content", path, key);
  ER_THROW(FormatError, path, ": ", key, " is neither a string nor a token object");
}

std::vector<AddedToken> config_added_tokens(const json& config, const std::string& path) {
  std::vector<AddedToken> out;
  auto it = config.find("added_tokens_decoder");
  if (it == config.end() || it->is_null()) return out;
  if (!it->is_object()) ER_THROW(FormatError, path, ": added_tokens_decoder is not an object");
  for (auto e = it->begin(); e != it->end(); ++e) {
    std::string where = "added_tokens_decoder." + e.key();
    AddedToken t;
    size_t used = 0;
    long long id = -1;
    try {
      id = std::stoll(e.key(), &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != e.key().size() || id < 0 || id > 0x7FFFFFFF)
      ER_THROW(FormatError, path, ": ", where, ": key is not a token id");
    t.id = id;
    t.content = get_string(e.value(), "content", path, where);
    t.special = opt_bool(e.value(), "special", false, path, where);
    t.normalized = opt_bool(e.value(), "normalized", !t.special, path, where);
    t.lstrip = opt_bool(e.value(), "lstrip", false, path, where);
    t.rstrip = opt_bool(e.value(), "rstrip", false, path, where);
    t.single_word = opt_bool(e.value(), "single_word", false, path, where);
    out.push_back(std::move(t));
  }
  return out;
}

// ---- pipeline ----------------------------------------------------------------------------------

void TokenizerBase::finish_setup(std::vector<AddedToken> added, PostProcessor post) {
  post_ = std::move(post);
  added_.clear();
  std::set<std::string> contents;
  for (AddedToken& t : added) {
    if (t.content.empty()) continue;  // the library ignores empty added tokens
    if (t.content.size() > kMaxAddedTokenBytes)
      ER_THROW(FormatError, source_, ": added token with id ", t.id, " is longer than ",
               kMaxAddedTokenBytes, " bytes");
    if (!is_valid_utf8(t.content))
      ER_THROW(FormatError, source_, ": added token with id ", t.id, " is not valid UTF-8");
    if (!contents.insert(t.content).second) continue;     // one entry per content
    added_.push_back(std::move(t));
  }
  std::vector<std::string> raw_patterns, norm_patterns;
  std::vector<const AddedToken*> raw_tokens, norm_tokens;
  std::set<int64_t> ids;
  for (const auto& [tok, id] : vocab_) ids.insert(id);
  // The library lists special tokens before the others when building its matchers.
  for (int pass = 0; pass < 2; ++pass) {
    for (const AddedToken& t : added_) {
      if (t.special != (pass == 0)) continue;
      added_by_id_[t.id] = &t;
      ids.insert(t.id);
      if (t.special) special_contents_.insert(t.content);
      if (t.normalized) {
        norm_patterns.push_back(normalize(t.content));
        norm_tokens.push_back(&t);
      } else {
        raw_patterns.push_back(t.content);
        raw_tokens.push_back(&t);
      }
    }
  }
  raw_matcher_.build(std::move(raw_patterns), std::move(raw_tokens));
  normalized_matcher_.build(std::move(norm_patterns), std::move(norm_tokens));
  vocab_size_ = static_cast<int64_t>(ids.size());
}

Encoding TokenizerBase::encode(std::string_view text, bool add_special_tokens) const {
  utf8_to_u32(text, "tokenizer input");  // reject invalid UTF-8 before any work
  std::vector<int64_t> ids;
  for (const Segment& raw : raw_matcher_.split(text)) {
    if (raw.token_id >= 0) {
      ids.push_back(raw.token_id);
      continue;
    }
    std::string normalized = normalize(raw.text);
    for (const Segment& seg : normalized_matcher_.split(normalized)) {
      if (seg.token_id >= 0)
        ids.push_back(seg.token_id);
      else
        encode_normalized(seg.text, ids);
    }
  }
  Encoding enc;
  if (add_special_tokens) {
    enc.ids = post_.prefix_ids;
    enc.token_type_ids = post_.prefix_types;
    enc.ids.insert(enc.ids.end(), ids.begin(), ids.end());
    enc.token_type_ids.resize(enc.ids.size(), post_.sequence_type);
    enc.ids.insert(enc.ids.end(), post_.suffix_ids.begin(), post_.suffix_ids.end());
    enc.token_type_ids.insert(enc.token_type_ids.end(), post_.suffix_types.begin(),
                              post_.suffix_types.end());
  } else {
    enc.ids = std::move(ids);
    enc.token_type_ids.assign(enc.ids.size(), 0);
  }
  enc.attention_mask.assign(enc.ids.size(), 1);
  return enc;
}

std::string TokenizerBase::decode(const std::vector<int64_t>& ids,
                                  bool skip_special_tokens) const {
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    const std::string* tok = nullptr;
    if (auto a = added_by_id_.find(ids[i]); a != added_by_id_.end()) {
      tok = &a->second->content;
    } else if (auto m = id_to_token_.find(ids[i]); m != id_to_token_.end()) {
      tok = &m->second;
    } else {
      ER_THROW(InputError, "token id ", ids[i], " at position ", i,
               " is not in the vocabulary of ", source_);
    }
    if (skip_special_tokens && special_contents_.count(*tok)) continue;
    tokens.push_back(*tok);
  }
  return decode_tokens(tokens);
}

int64_t TokenizerBase::vocab_size() const { return vocab_size_; }

}  // namespace tokenizer_detail

// ---- loader ------------------------------------------------------------------------------------

namespace {
bool is_file(const std::string& path) {
  std::error_code ec;
  return std::filesystem::exists(path, ec);  // a directory there fails later, naming the path
}
}  // namespace

std::unique_ptr<Tokenizer> load_tokenizer(const std::string& model_dir,
                                          std::string_view kind_hint) {
  using namespace tokenizer_detail;
  auto in_dir = [&](const char* name) {
    if (model_dir.empty()) return std::string(name);
    return model_dir + (model_dir.back() == '/' ? "" : "/") + name;
  };
  const std::string tj = in_dir("tokenizer.json");
  if (is_file(tj)) {
    json root = parse_json_strict(read_text_file(tj), tj);
    if (!root.is_object()) ER_THROW(FormatError, tj, ": not a JSON object");
    const json& model = require(root, "model", tj, "the top-level object");
    std::string type = opt_string(model, "type", "", tj, "model");
    if (type.empty()) {  // files from old versions of the library carry no type: infer it
      if (model.contains("merges"))
        type = "BPE";
      else if (model.contains("continuing_subword_prefix") ||
               model.contains("max_input_chars_per_word"))
        type = "WordPiece";
      else
        ER_THROW(FormatError, tj, ": model has no \"type\" and is neither BPE nor WordPiece");
    }
    if (type == "WordPiece") return make_wordpiece_from_json(root, tj);
    if (type == "BPE") return make_bpe_from_json(root, tj);
    ER_THROW(UnsupportedError, tj, ": tokenizer model type \"", type,
             "\" is not supported (WordPiece and BPE are)");
  }
  const std::string config = in_dir("tokenizer_config.json");
  const std::string config_if_any = is_file(config) ? config : std::string();
  const std::string vocab_txt = in_dir("vocab.txt"), vocab_json = in_dir("vocab.json"),
                    merges = in_dir("merges.txt");
  if (kind_hint != "wordpiece" && kind_hint != "bpe" && !kind_hint.empty())
    ER_THROW(InputError, "unknown tokenizer kind \"", kind_hint,
             "\" (expected \"wordpiece\" or \"bpe\")");
  bool want_wp = kind_hint == "wordpiece" || (kind_hint.empty() && is_file(vocab_txt));
  if (want_wp) {
    if (!is_file(vocab_txt))
      ER_THROW(FormatError, model_dir, ": no tokenizer found: looked for tokenizer.json and ",
               "vocab.txt (with optional tokenizer_config.json)");
    return make_wordpiece_from_files(vocab_txt, config_if_any);
  }
  if (!is_file(vocab_json) || !is_file(merges))
    ER_THROW(FormatError, model_dir, ": no tokenizer found: looked for tokenizer.json and ",
             kind_hint.empty() ? "vocab.txt, or " : "", "vocab.json + merges.txt",
             is_file(vocab_json) ? " (merges.txt is missing)"
                                 : (is_file(merges) ? " (vocab.json is missing)" : ""));
  return make_bpe_from_files(vocab_json, merges, config_if_any);
}

}  // namespace edgerun
