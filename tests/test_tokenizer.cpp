// Tokenizers against the `tokenizers` library: both file forms of each fixture tokenizer
// (tests/data/tokenizers, made by scripts/make_tokenizer_fixtures.py) must give exactly the ids and
// decoded text recorded in expected.json; plus BPE round trips and partial-character decoding,
// the older "a b" merges format, and the error cases (missing files, bad JSON, unknown ids).
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <thread>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "edgerun/preprocess.h"
#include "io/file.h"
#include "test_util.h"

using namespace edgerun;
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

std::string data_dir(const std::string& name) {
  return std::string(EDGERUN_TEST_DATA) + "/tokenizers/" + name;
}

const json& expected() {
  static const json e = json::parse(read_text_file(data_dir("expected.json")));
  return e;
}

// A scratch folder removed at the end of the test, filled from a fixture folder.
struct TempDir : edgerun::test::TempDir {
  TempDir() : edgerun::test::TempDir("tok") {}
  void copy_from(const std::string& src_dir) const {
    for (const auto& e : fs::directory_iterator(src_dir)) fs::copy_file(e.path(), path() / e.path().filename());
  }
};

std::vector<int64_t> ids_of(const json& v) { return v.get<std::vector<int64_t>>(); }

// Compares every recorded case of `name` against the tokenizer in `dir`.
void check_against_expected(const std::string& name, const std::string& dir,
                            std::string_view hint) {
  SCOPED_TRACE(dir);
  auto tok = load_tokenizer(dir, hint);
  const json& exp = expected().at(name);
  EXPECT_EQ(tok->vocab_size(), exp.at("vocab_size").get<int64_t>());
  int n = 0;
  for (const json& c : exp.at("cases")) {
    const std::string text = c.at("text").get<std::string>();
    SCOPED_TRACE("text: \"" + text + "\"");
    Encoding e = tok->encode(text);
    EXPECT_EQ(e.ids, ids_of(c.at("ids")));
    EXPECT_EQ(e.token_type_ids, ids_of(c.at("type_ids")));
    EXPECT_EQ(e.attention_mask, std::vector<int64_t>(e.ids.size(), 1));
    EXPECT_EQ(tok->encode(text, false).ids, ids_of(c.at("ids_no_special")));
    EXPECT_EQ(tok->decode(e.ids), c.at("decoded").get<std::string>());
    EXPECT_EQ(tok->decode(e.ids, true), c.at("decoded_skip_special").get<std::string>());
    ++n;
  }
  EXPECT_GE(n, 40);
}

template <typename E>
std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  return "<no error>";
}

}  // namespace

TEST(Tokenizer, BpeTokenizerJsonMatchesLibrary) {
  check_against_expected("bpe", data_dir("bpe"), "bpe");
}
TEST(Tokenizer, BpeLegacyFilesMatchLibrary) {
  check_against_expected("bpe", data_dir("bpe_legacy"), "bpe");
}
TEST(Tokenizer, WordPieceTokenizerJsonMatchesLibrary) {
  check_against_expected("wordpiece", data_dir("wordpiece"), "wordpiece");
}
TEST(Tokenizer, WordPieceLegacyFilesMatchLibrary) {
  check_against_expected("wordpiece", data_dir("wordpiece_legacy"), "wordpiece");
}
TEST(Tokenizer, WordPieceCasedTokenizerJsonMatchesLibrary) {
  check_against_expected("wordpiece_cased", data_dir("wordpiece_cased"), "wordpiece");
}
TEST(Tokenizer, WordPieceCasedLegacyFilesMatchLibrary) {
  check_against_expected("wordpiece_cased", data_dir("wordpiece_cased_legacy"), "wordpiece");
}

TEST(Tokenizer, LegacyKindIsDetectedWithoutHint) {
  check_against_expected("wordpiece", data_dir("wordpiece_legacy"), "");
  check_against_expected("bpe", data_dir("bpe_legacy"), "");
}

TEST(Tokenizer, BpePartialCharactersDecodeAsReplacement) {
  auto tok = load_tokenizer(data_dir("bpe"), "bpe");
  int with_fffd = 0;
  for (const json& p : expected().at("bpe").at("partial_decodes")) {
    std::string want = p.at("decoded").get<std::string>();
    EXPECT_EQ(tok->decode(ids_of(p.at("ids"))), want) << p.dump();
    with_fffd += want.find("\xEF\xBF\xBD") != std::string::npos;
  }
  EXPECT_GT(with_fffd, 3);  // the fixture does exercise broken characters
}

TEST(Tokenizer, BpeRoundTripsRandomText) {
  auto tok = load_tokenizer(data_dir("bpe"), "bpe");
  std::mt19937 rng(1234);
  // Mix ASCII (spaces, apostrophes, digits), Latin-1, CJK, emoji and unassigned code points.
  const std::vector<std::pair<char32_t, char32_t>> pools = {
      {0x20, 0x7E}, {0x20, 0x20}, {0x27, 0x27}, {0x9, 0xD}, {0xA0, 0x17F},
      {0x3000, 0x30FF}, {0x4E00, 0x4E40}, {0x1F600, 0x1F64F}, {0x0300, 0x036F}, {0xE0000, 0xE00FF}};
  for (int round = 0; round < 300; ++round) {
    std::string text;
    int len = static_cast<int>(rng() % 40);
    for (int i = 0; i < len; ++i) {
      auto [lo, hi] = pools[rng() % pools.size()];
      char32_t c = lo + rng() % (hi - lo + 1);
      // UTF-8 encode
      if (c < 0x80) {
        text += static_cast<char>(c);
      } else if (c < 0x800) {
        text += static_cast<char>(0xC0 | (c >> 6));
        text += static_cast<char>(0x80 | (c & 0x3F));
      } else if (c < 0x10000) {
        text += static_cast<char>(0xE0 | (c >> 12));
        text += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
        text += static_cast<char>(0x80 | (c & 0x3F));
      } else {
        text += static_cast<char>(0xF0 | (c >> 18));
        text += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
        text += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
        text += static_cast<char>(0x80 | (c & 0x3F));
      }
    }
    EXPECT_EQ(tok->decode(tok->encode(text).ids), text);
  }
}

TEST(Tokenizer, BpeSpecialTokenIsMatchedWholeAndSkippable) {
  auto tok = load_tokenizer(data_dir("bpe"), "bpe");
  std::vector<int64_t> ids = tok->encode("a<|endoftext|>b").ids;
  ASSERT_EQ(ids.size(), 3u);
  EXPECT_EQ(ids[1], 0);  // <|endoftext|> has id 0 in the fixture
  EXPECT_EQ(tok->decode(ids, true), "ab");
}

TEST(Tokenizer, BpeMergesAsStringsEqualPairs) {
  // Older tokenizer.json files store merges as "a b"; the fixture has ["a", "b"] pairs.
  json j = json::parse(read_text_file(data_dir("bpe/tokenizer.json")));
  ASSERT_TRUE(j["model"]["merges"][0].is_array());
  for (json& m : j["model"]["merges"]) m = m[0].get<std::string>() + " " + m[1].get<std::string>();
  TempDir dir;
  dir.write("tokenizer.json", j.dump());
  check_against_expected("bpe", dir.str(), "bpe");
}

TEST(Tokenizer, BpeHandlesHugeWordsAndIsThreadSafe) {
  auto tok = load_tokenizer(data_dir("bpe"), "bpe");
  // One regex "word" of a million letters: merging must not go quadratic (it would take hours;
  // the deadline ends the test instead of the CTest timeout).
  std::string big(1 << 20, 'a');
  edgerun::test::with_deadline([&] { EXPECT_EQ(tok->decode(tok->encode(big).ids), big); }, std::chrono::seconds(120),
                               "BPE on a 1 MiB word");
  const json& cases = expected().at("bpe").at("cases");
  auto worker = [&] {
    for (int r = 0; r < 20; ++r)
      for (const json& c : cases)
        if (tok->encode(c.at("text").get<std::string>()).ids != ids_of(c.at("ids")))
          ADD_FAILURE() << "mismatch under threads";
  };
  std::thread a(worker), b(worker);
  a.join();
  b.join();
}

TEST(Tokenizer, WordPieceLongWordIsUnknown) {
  auto tok = load_tokenizer(data_dir("wordpiece"), "wordpiece");
  std::vector<int64_t> ids = tok->encode(std::string(101, 'a'), false).ids;
  ASSERT_EQ(ids.size(), 1u);
  EXPECT_EQ(tok->decode(ids), "[UNK]");
  // A huge input of short words stays linear.
  std::string many;
  for (int i = 0; i < 100000; ++i) many += "the fox ";
  EXPECT_EQ(tok->encode(many, false).ids.size(), 200000u);
}

TEST(Tokenizer, UnknownIdIsInputError) {
  for (const char* name : {"bpe", "wordpiece"}) {
    auto tok = load_tokenizer(data_dir(name), "");
    EXPECT_NE(error_of<InputError>([&] { tok->decode({1, 2, 999999}); }).find("999999"),
              std::string::npos);
    EXPECT_NE(error_of<InputError>([&] { tok->decode({-1}); }).find("-1"), std::string::npos);
  }
}

TEST(Tokenizer, InvalidUtf8InputIsInputError) {
  auto tok = load_tokenizer(data_dir("wordpiece"), "wordpiece");
  EXPECT_NE(error_of<InputError>([&] { tok->encode("ok \xC3(", true); }).find("UTF-8"),
            std::string::npos);
  auto bpe = load_tokenizer(data_dir("bpe"), "bpe");
  EXPECT_NE(error_of<InputError>([&] { bpe->encode("\xED\xA0\x80"); }).find("UTF-8"),
            std::string::npos);  // a surrogate
}

TEST(Tokenizer, MissingFilesNameFolderAndFiles) {
  TempDir dir;
  std::string msg = error_of<FormatError>([&] { load_tokenizer(dir.str(), "wordpiece"); });
  EXPECT_NE(msg.find(dir.str()), std::string::npos) << msg;
  EXPECT_NE(msg.find("tokenizer.json"), std::string::npos) << msg;
  EXPECT_NE(msg.find("vocab.txt"), std::string::npos) << msg;
  msg = error_of<FormatError>([&] { load_tokenizer(dir.str(), "bpe"); });
  EXPECT_NE(msg.find("merges.txt"), std::string::npos) << msg;
  EXPECT_NE(msg.find("vocab.json"), std::string::npos) << msg;
  // vocab.json alone: says merges.txt is missing.
  dir.write("vocab.json", "{\"a\": 0}");
  msg = error_of<FormatError>([&] { load_tokenizer(dir.str(), "bpe"); });
  EXPECT_NE(msg.find("merges.txt is missing"), std::string::npos) << msg;
  EXPECT_NE(error_of<InputError>([&] { load_tokenizer(dir.str(), "sentencepiece"); }),
            "<no error>");
}

TEST(Tokenizer, MalformedFilesNameTheFile) {
  const std::string good = read_text_file(data_dir("bpe/tokenizer.json"));
  auto expect_format_error = [](const std::string& dir, const std::string& file,
                                const std::string& also) {
    std::string msg = error_of<FormatError>([&] { load_tokenizer(dir, "bpe"); });
    EXPECT_NE(msg.find(file), std::string::npos) << msg;
    EXPECT_NE(msg.find(also), std::string::npos) << msg;
  };
  {
    TempDir dir;  // truncated JSON
    dir.write("tokenizer.json", good.substr(0, good.size() / 2));
    expect_format_error(dir.str(), "tokenizer.json", "JSON");
  }
  {
    TempDir dir;  // no model.vocab
    json j = json::parse(good);
    j["model"].erase("vocab");
    dir.write("tokenizer.json", j.dump());
    expect_format_error(dir.str(), "tokenizer.json", "vocab");
  }
  {
    TempDir dir;  // a merge naming a token outside the vocabulary
    json j = json::parse(good);
    j["model"]["merges"][5] = json::array({"zzz_not_a_token", "a"});
    dir.write("tokenizer.json", j.dump());
    expect_format_error(dir.str(), "tokenizer.json", "merge 6");
  }
  {
    TempDir dir;  // an id that is not an integer
    json j = json::parse(good);
    j["model"]["vocab"]["a"] = "seven";
    dir.write("tokenizer.json", j.dump());
    expect_format_error(dir.str(), "tokenizer.json", "not an integer");
  }
  {
    TempDir dir;  // two tokens sharing one id
    json j = json::parse(good);
    j["model"]["vocab"]["a"] = j["model"]["vocab"]["b"];
    dir.write("tokenizer.json", j.dump());
    expect_format_error(dir.str(), "tokenizer.json", "share id");
  }
  {
    TempDir dir;  // bad legacy merges line
    dir.copy_from(data_dir("bpe_legacy"));
    dir.write("merges.txt", "#version: 0.2\nĠ t\nonlyone\n");
    expect_format_error(dir.str(), "merges.txt", "merge 3");
  }
  {
    TempDir dir;  // bad legacy vocab.json
    dir.copy_from(data_dir("bpe_legacy"));
    dir.write("vocab.json", "[1, 2");
    expect_format_error(dir.str(), "vocab.json", "JSON");
  }
  {
    TempDir dir;  // bad tokenizer_config.json beside vocab.txt
    dir.copy_from(data_dir("wordpiece_legacy"));
    dir.write("tokenizer_config.json", "{\"do_lower_case\": 1}");
    std::string msg = error_of<FormatError>([&] { load_tokenizer(dir.str(), "wordpiece"); });
    EXPECT_NE(msg.find("tokenizer_config.json"), std::string::npos) << msg;
    EXPECT_NE(msg.find("do_lower_case"), std::string::npos) << msg;
  }
  {
    TempDir dir;  // a model type we do not implement
    json j = json::parse(good);
    j["model"]["type"] = "Unigram";
    dir.write("tokenizer.json", j.dump());
    std::string msg = error_of<UnsupportedError>([&] { load_tokenizer(dir.str(), "bpe"); });
    EXPECT_NE(msg.find("Unigram"), std::string::npos) << msg;
  }
}

TEST(Tokenizer, CorruptFilesOnlyThrowTypedErrors) {
  // Random byte edits of each fixture file: loading and using the result either works or throws
  // an edgerun::Error; never a crash, a hang or a foreign exception.
  std::mt19937 rng(77);
  const std::vector<std::pair<std::string, std::string>> files = {
      {"bpe", "tokenizer.json"},          {"wordpiece", "tokenizer.json"},
      {"bpe_legacy", "merges.txt"},       {"bpe_legacy", "vocab.json"},
      {"wordpiece_legacy", "vocab.txt"},  {"wordpiece_legacy", "tokenizer_config.json"}};
  const char* edits = "{}[]\":,0123456789- \n\\tnuefals";
  int loaded = 0, refused = 0;
  for (const auto& [src, file] : files) {
    const std::string good = read_text_file(data_dir(src + "/" + file));
    for (int round = 0; round < 25; ++round) {
      std::string bad = good;
      for (int k = 1 + static_cast<int>(rng() % 4); k > 0; --k) {
        size_t at = rng() % bad.size();
        switch (rng() % 3) {
          case 0: bad[at] = edits[rng() % std::strlen(edits)]; break;
          case 1: bad.erase(at, 1 + rng() % 8); break;
          default: bad.insert(at, 1, edits[rng() % std::strlen(edits)]);
        }
        if (bad.empty()) bad = "x";
      }
      TempDir dir;
      dir.copy_from(data_dir(src));
      dir.write(file, bad);
      try {
        auto tok = load_tokenizer(dir.str(), "");
        Encoding e = tok->encode("Hello wörld, I'm [MASK] 日本 <|endoftext|> 12,345!");
        tok->decode(e.ids, true);
        ++loaded;
      } catch (const Error&) {
        ++refused;
      }
    }
  }
  EXPECT_GT(refused, 20);
  EXPECT_GT(loaded, 0);
}
