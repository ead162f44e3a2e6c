// The tasks of `edgerun run` over a Session (edgerun/tasks.h): input encoding, top-k labels,
// accuracy, the run's JSON report.
#include "edgerun/tasks.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "io/file.h"
#include "runtime/report_json.h"

namespace edgerun {

namespace {
bool is_npy(const std::string& p) {
  std::string e = std::filesystem::path(p).extension().string();
  std::transform(e.begin(), e.end(), e.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return e == ".npy";
}

HostArray ids_array(const std::vector<int64_t>& v) {
  HostArray a(DType::I64, {1, static_cast<int64_t>(v.size())});
  std::copy(v.begin(), v.end(), a.as<int64_t>());
  return a;
}

std::vector<int64_t> parse_ids(const std::string& s) {
  std::vector<int64_t> out;
  size_t i = 0;
  while (i < s.size()) {
    size_t j = s.find_first_of(", ", i);
    if (j == std::string::npos) j = s.size();
    if (j > i) {
      std::string tok = s.substr(i, j - i);
      try {
        size_t used = 0;
        out.push_back(std::stoll(tok, &used));
        if (used != tok.size()) throw std::invalid_argument("x");
      } catch (const std::exception&) {
        ER_THROW(InputError, "--ids: \"", tok, "\" is not an integer token id");
      }
    }
    i = j + 1;
  }
  if (out.empty()) ER_THROW(InputError, "--ids: no token ids given");
  return out;
}
}  // namespace

EncodedInput::EncodedInput() = default;
EncodedInput::~EncodedInput() = default;
EncodedInput::EncodedInput(EncodedInput&&) noexcept = default;
EncodedInput& EncodedInput::operator=(EncodedInput&&) noexcept = default;

std::string EncodedInput::decode(const std::vector<int64_t>& ids) const {
  ER_CHECK(tokenizer_ != nullptr, "decode() of an input that was not text");
  return tokenizer_->decode(ids);
}

std::vector<int64_t> EncodedInput::input_ids() const {
  if (!inputs.input_ids) return {};
  const HostArray& a = *inputs.input_ids;
  return std::vector<int64_t>(a.as<int64_t>(), a.as<int64_t>() + a.numel());
}

EncodedInput encode_input(const std::string& model_dir, const ModelSummary& m, const InputSpec& spec) {
  const bool text_model = m.family != "vit";
  EncodedInput out;
  auto tokenize = [&](const std::string& text) {
    if (!out.tokenizer_) out.tokenizer_ = load_tokenizer(model_dir, m.family == "bert" ? "wordpiece" : "bpe");
    return ids_array(out.tokenizer_->encode(text).ids);
  };
  Inputs& in = out.inputs;
  const int given = !spec.file.empty() + !spec.text.empty() + !spec.ids.empty();
  if (given != 1) ER_THROW(InputError, "give exactly one of --input, --text, --ids");
  if (!spec.file.empty()) {
    if (is_npy(spec.file)) {
      HostArray x = read_npy(spec.file);
      if (text_model) in.input_ids = std::move(x);
      else in.pixel_values = std::move(x);
    } else if (!text_model) {
      ImagePreprocess pp = load_image_preprocess(model_dir, m.num_channels, m.image_size);
      in.pixel_values = load_image(spec.file, pp, m.num_channels);
    } else {
      in.input_ids = tokenize(read_text_file(spec.file, 64ull << 20));
    }
  } else if (!spec.text.empty()) {
    if (!text_model) ER_THROW(InputError, "--text needs a text model; ", m.arch, " takes images");
    in.input_ids = tokenize(spec.text);
  } else {
    if (!text_model) ER_THROW(InputError, "--ids needs a text model; ", m.arch, " takes images");
    in.input_ids = ids_array(parse_ids(spec.ids));
  }
  if (!spec.attention_mask_npy.empty()) in.attention_mask = read_npy(spec.attention_mask_npy);
  if (!spec.token_type_ids_npy.empty()) in.token_type_ids = read_npy(spec.token_type_ids_npy);
  if (in.input_ids && in.input_ids->numel() == 0) ER_THROW(InputError, "the input holds no tokens");
  return out;
}

std::vector<std::vector<TopLabel>> top_labels(const HostArray& logits, const ModelSummary& m, int64_t k) {
  ER_CHECK(logits.dtype == DType::F32 && logits.shape.size() == 2, "top_labels needs (B, labels) float32 logits");
  const int64_t B = logits.shape[0], C = logits.shape[1];
  k = std::min(k, C);
  std::vector<std::vector<TopLabel>> rows;
  for (int64_t b = 0; b < B; ++b) {
    const float* r = logits.as<float>() + b * C;
    std::vector<int64_t> idx(static_cast<size_t>(C));
    for (int64_t c = 0; c < C; ++c) idx[c] = c;
    std::partial_sort(idx.begin(), idx.begin() + k, idx.end(),
                      [&](int64_t x, int64_t y) { return r[x] > r[y] || (r[x] == r[y] && x < y); });
    std::vector<TopLabel> top;
    for (int64_t i = 0; i < k; ++i) {
      auto it = m.id2label.find(idx[i]);
      top.push_back({idx[i], it == m.id2label.end() ? "LABEL_" + std::to_string(idx[i]) : it->second, r[idx[i]]});
    }
    rows.push_back(std::move(top));
  }
  return rows;
}

Accuracy top1_accuracy(const std::vector<std::vector<TopLabel>>& top, const std::string& labels_npy) {
  const int64_t B = static_cast<int64_t>(top.size());
  HostArray y = read_npy(labels_npy);
  if (y.dtype != DType::I64 || y.numel() != B)
    ER_THROW(InputError, labels_npy, ": labels must be int64 with ", B, " entries, one per input");
  Accuracy a;
  a.total = B;
  for (int64_t b = 0; b < B; ++b) a.correct += !top[b].empty() && top[b][0].id == y.as<int64_t>()[b];
  return a;
}

std::string run_json(const ModelSummary& m, const Report& r, const RunOutcome& o) {
  nlohmann::json j;
  j["model"] = o.model;
  j["family"] = m.family;
  j["arch"] = m.arch;
  j["attention"] = to_string(m.attention);
  j["precision"] = to_string(m.precision);
  if (o.generated) {
    std::vector<int64_t> all(o.primary.as<int64_t>(), o.primary.as<int64_t>() + o.primary.numel());
    j["generated_ids"] = all;
    if (o.generated_text) j["generated_text"] = *o.generated_text;
  } else {
    j["output"] = m.primary_output;
    j["output_shape"] = o.primary.shape;
    if (m.num_labels > 0) {
      nlohmann::json rows = nlohmann::json::array();
      for (const auto& row : o.top) {
        nlohmann::json t = nlohmann::json::array();
        for (const TopLabel& l : row) t.push_back({{"id", l.id}, {"label", l.label}, {"logit", l.logit}});
        rows.push_back(t);
      }
      j["top"] = rows;
      if (o.accuracy) {
        j["accuracy"] = o.accuracy->fraction();
        j["correct"] = o.accuracy->correct;
      }
    }
  }
  const nlohmann::json rep = report_json_object(r);
  for (auto it = rep.begin(); it != rep.end(); ++it) j[it.key()] = it.value();
  return j.dump(2);
}

Inputs planning_input(const ModelSummary& m, int64_t batch, int64_t seq) {
  Inputs in;
  if (m.family == "vit") {
    in.pixel_values = HostArray(DType::F32, {batch, m.num_channels, m.image_size, m.image_size});
  } else {
    if (m.max_positions && seq > m.max_positions)
      ER_THROW(InputError, "--seq ", seq, " exceeds the model's ", m.max_positions, " positions");
    in.input_ids = HostArray(DType::I64, {batch, seq});
  }
  return in;
}

}  // namespace edgerun
