// Tokenizers for the text models: WordPiece (BERT) and byte-level BPE (GPT-2), read from the
// files transformers saves: tokenizer.json first; else vocab.txt + tokenizer_config.json
// (WordPiece) or vocab.json + merges.txt (BPE). Results equal the `tokenizers` library's.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace edgerun {

struct Encoding {
  std::vector<int64_t> ids;
  std::vector<int64_t> token_type_ids;  // zeros for a single sequence
  std::vector<int64_t> attention_mask;  // ones
};

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  // Encodes one text; for WordPiece with special tokens this is [CLS] ... [SEP] as
  // BertTokenizer(Fast) produces by default; for GPT-2's BPE no specials are added.
  virtual Encoding encode(std::string_view text, bool add_special_tokens = true) const = 0;
  // Decodes ids back to text (skipping special tokens when asked).
  virtual std::string decode(const std::vector<int64_t>& ids,
                             bool skip_special_tokens = false) const = 0;
  virtual int64_t vocab_size() const = 0;
};

// Loads the tokenizer of a model folder. `kind_hint` is "wordpiece" or "bpe" (from the model
// family) and is used when only the legacy files exist. Throws FormatError/IoError naming the file.
std::unique_ptr<Tokenizer> load_tokenizer(const std::string& model_dir, std::string_view kind_hint);

}  // namespace edgerun
