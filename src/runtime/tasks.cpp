// The tasks of `edgerun run` over a Session (edgerun/tasks.h): input encoding, top-k labels,
// accuracy, the run's JSON report.
#include "edgerun/tasks.h"

#include <algorithm>
#include <map>
#include <cctype>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
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

// "1,2,3" (spaces around the commas allowed): every field one integer, none empty.
std::vector<int64_t> parse_ids(const std::string& s) {
  if (s.find_first_not_of(" \t") == std::string::npos) ER_THROW(InputError, "--ids is empty; give token ids, e.g. --ids 101,2023,102");
  std::vector<int64_t> out;
  size_t i = 0;
  for (int64_t field = 1;; ++field) {
    size_t j = s.find(',', i);
    if (j == std::string::npos) j = s.size();
    std::string tok = s.substr(i, j - i);
    tok.erase(0, tok.find_first_not_of(" \t"));
    tok.erase(tok.find_last_not_of(" \t") + 1);
    if (tok.empty()) ER_THROW(InputError, "--ids \"", s, "\": id ", field, " is empty");
    try {
      size_t used = 0;
      out.push_back(std::stoll(tok, &used));
      if (used != tok.size()) throw std::invalid_argument("x");
    } catch (const std::exception&) {
      ER_THROW(InputError, "--ids: \"", tok, "\" is not an integer token id");
    }
    if (j == s.size()) break;
    i = j + 1;
  }
  return out;
}

// Input files are the user's: a missing or malformed one is bad input (exit 3), not a broken model.
template <typename F>
auto user_file(const std::string& what, const std::string& path, F&& read) {
  if (path == "-" && what != "--input") ER_THROW(InputError, what, ": standard input (-) is only taken by --input");
  try {
    return read(path);
  } catch (const FormatError& e) {
    ER_THROW(InputError, what, " ", e.what());
  } catch (const IoError& e) {
    ER_THROW(InputError, what, " ", e.what());
  } catch (const UnsupportedError& e) {
    ER_THROW(InputError, what, " ", e.what());
  }
}

// `--input -`: standard input, up to kMaxStdin bytes, told apart by its content: an .npy file by
// its magic, else an image for ViT and text for the text models.
constexpr size_t kMaxStdin = size_t{1} << 30;
std::string read_stdin() {
  std::string data;
  char buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, stdin)) > 0) {
    data.append(buf, n);
    if (data.size() > kMaxStdin) ER_THROW(InputError, "--input -: standard input holds more than 1 GiB");
  }
  if (std::ferror(stdin)) ER_THROW(InputError, "--input -: cannot read standard input");
  if (data.empty()) ER_THROW(InputError, "--input -: standard input is empty");
  return data;
}

// A private temporary file holding `data`, removed with the object: the npy and image readers
// take paths.
class TempInput {
 public:
  TempInput(const std::string& data, const char* ext) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "edgerun-stdin-XXXXXX").string() + ext;
    const int fd = ::mkstemps(tmpl.data(), static_cast<int>(std::strlen(ext)));
    if (fd < 0) ER_THROW(IoError, tmpl, ": cannot create a temporary file for standard input");
    path_ = tmpl;
    const bool ok = ::write(fd, data.data(), data.size()) == static_cast<ssize_t>(data.size());
    ::close(fd);
    if (!ok) ER_THROW(IoError, path_, ": cannot write standard input to a temporary file");
  }
  ~TempInput() { ::unlink(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};
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

namespace {

// An ONNX graph's inputs from "NAME=PATH" (or one PATH) arguments.
Inputs encode_onnx_inputs(const ModelSummary& m, const InputSpec& spec) {
  if (!spec.text.empty() || !spec.ids.empty() || !spec.attention_mask_npy.empty() || !spec.token_type_ids_npy.empty())
    ER_THROW(InputError, "ONNX models take --input NAME=FILE per graph input (.npy or an image), not --text, --ids, "
             "--attention-mask or --token-type-ids");
  if (spec.files.empty()) {
    std::string names;
    for (const auto& i : m.inputs) names += (names.empty() ? "" : ", ") + i.name;
    ER_THROW(InputError, "give --input NAME=FILE for each of the model's inputs (", names, ")");
  }
  Inputs in;
  for (const std::string& arg : spec.files) {
    std::string name, path = arg;
    const size_t eq = arg.find('=');
    if (eq != std::string::npos && eq > 0) {
      name = arg.substr(0, eq);
      path = arg.substr(eq + 1);
    } else if (m.inputs.size() == 1 && spec.files.size() == 1) {
      name = m.inputs[0].name;
    } else {
      ER_THROW(InputError, "--input ", arg, ": the model has ", m.inputs.size(), " inputs; name each as NAME=FILE");
    }
    const ModelSummary::Input* decl = nullptr;
    for (const auto& i : m.inputs)
      if (i.name == name) decl = &i;
    if (!decl) {
      std::string names;
      for (const auto& i : m.inputs) names += (names.empty() ? "" : ", ") + i.name;
      ER_THROW(InputError, "--input ", arg, ": the model has no input named '", name, "' (", names, ")");
    }
    for (const auto& [n, a] : in.named)
      if (n == name) ER_THROW(InputError, "--input: '", name, "' is given twice");
    if (path.empty()) ER_THROW(InputError, "--input ", arg, ": no file");
    if (is_npy(path)) {
      in.named.emplace_back(name, user_file("--input", path, [](const std::string& p) { return read_npy(p); }));
      continue;
    }
    if (decl->dims.size() != 4)
      ER_THROW(InputError, "--input ", arg, ": input '", name, "' is ", decl->dims.size(), "-D; only (N, C, H, W) "
               "inputs take images (give a .npy)");
    ImagePreprocess pp;
    const int64_t channels = decl->dims[1] > 0 ? decl->dims[1] : 3;
    const int64_t size = spec.image_size > 0 ? spec.image_size : (decl->dims[2] > 0 ? decl->dims[2] : 224);
    pp.height = size;
    pp.width = spec.image_size > 0 || decl->dims[3] <= 0 ? size : decl->dims[3];
    pp.image_mean = spec.mean.empty() ? std::vector<float>{0.485f, 0.456f, 0.406f} : spec.mean;
    pp.image_std = spec.std.empty() ? std::vector<float>{0.229f, 0.224f, 0.225f} : spec.std;
    if (static_cast<int64_t>(pp.image_mean.size()) != channels || static_cast<int64_t>(pp.image_std.size()) != channels)
      ER_THROW(InputError, "--mean and --std need ", channels, " values (one per channel of '", name, "')");
    in.named.emplace_back(name, user_file("--input", path, [&](const std::string& p) { return load_image(p, pp, channels); }));
  }
  return in;
}

}  // namespace

EncodedInput encode_input(const std::string& model_dir, const ModelSummary& m, const InputSpec& spec) {
  EncodedInput out;
  if (m.family == "onnx") {
    out.inputs = encode_onnx_inputs(m, spec);
    return out;
  }
  if (spec.files.size() > 1) ER_THROW(InputError, "--input is given ", spec.files.size(), " times; this model takes one input");
  if (spec.image_size > 0 || !spec.mean.empty() || !spec.std.empty())
    ER_THROW(InputError, "--image-size, --mean and --std apply to ONNX models; a Hugging Face model's preprocessor_config.json says them");
  const bool text_model = m.family != "vit";
  auto tokenize = [&](const std::string& text) {
    if (!out.tokenizer_) {
      out.tokenizer_ = load_tokenizer(model_dir, m.family == "bert" ? "wordpiece" : "bpe");
      // Ids past the model's embeddings would fail in the middle of a run: refuse the pair here.
      if (out.tokenizer_->vocab_size() > m.vocab_size)
        ER_THROW(FormatError, model_dir, ": the tokenizer has ", out.tokenizer_->vocab_size(),
                 " tokens but config.json's vocab_size is ", m.vocab_size,
                 ": they do not belong together");
    }
    return ids_array(out.tokenizer_->encode(text).ids);
  };
  Inputs& in = out.inputs;
  const int given = !spec.file.empty() + !spec.text.empty() + !spec.ids.empty();
  if (given != 1) ER_THROW(InputError, "give exactly one of --input, --text, --ids");
  if (!spec.file.empty()) {
    std::string data;
    std::unique_ptr<TempInput> tmp;
    std::string file = spec.file;
    bool npy = is_npy(file);
    if (file == "-") {
      data = read_stdin();
      npy = data.rfind("\x93NUMPY", 0) == 0;
      if (npy || !text_model) {
        tmp = std::make_unique<TempInput>(data, npy ? ".npy" : ".img");
        file = tmp->path();
      }
    }
    const std::string what = "--input";
    if (npy) {
      HostArray x = user_file(what, file, [](const std::string& p) { return read_npy(p); });
      if (text_model) in.input_ids = std::move(x);
      else in.pixel_values = std::move(x);
    } else if (!text_model) {
      ImagePreprocess pp = load_image_preprocess(model_dir, m.num_channels, m.image_size);
      in.pixel_values = user_file(what, file, [&](const std::string& p) { return load_image(p, pp, m.num_channels); });
    } else {
      in.input_ids = tokenize(spec.file == "-" ? data : user_file(what, file, [](const std::string& p) {
        return read_text_file(p, 64ull << 20);
      }));
    }
  } else if (!spec.text.empty()) {
    if (!text_model) ER_THROW(InputError, "--text needs a text model; ", m.arch, " takes images");
    in.input_ids = tokenize(spec.text);
  } else {
    if (!text_model) ER_THROW(InputError, "--ids needs a text model; ", m.arch, " takes images");
    in.input_ids = ids_array(parse_ids(spec.ids));
  }
  const auto only_bert = [&](const std::string& opt, const std::string& path) {
    if (path.empty()) return;
    if (m.family != "bert")
      ER_THROW(InputError, opt, ": only BERT models take it; ", m.arch,
               m.family == "gpt2" ? " is causal and runs unpadded sequences" : " takes images");
  };
  only_bert("--attention-mask", spec.attention_mask_npy);
  only_bert("--token-type-ids", spec.token_type_ids_npy);
  auto npy = [](const std::string& p) { return read_npy(p); };
  if (!spec.attention_mask_npy.empty())
    in.attention_mask = user_file("--attention-mask", spec.attention_mask_npy, npy);
  if (!spec.token_type_ids_npy.empty())
    in.token_type_ids = user_file("--token-type-ids", spec.token_type_ids_npy, npy);
  if (in.input_ids && in.input_ids->numel() == 0) ER_THROW(InputError, "the input holds no tokens");
  return out;
}

int64_t EncodedInput::vocab_size() const { return tokenizer_ ? tokenizer_->vocab_size() : 0; }

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
  HostArray y = user_file("--labels", labels_npy, [](const std::string& p) { return read_npy(p); });
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

namespace {

Shape parse_dims(const std::string& s, const std::string& arg) {
  Shape d;
  size_t p = 0;
  while (p <= s.size()) {
    const size_t x = s.find('x', p);
    const std::string part = s.substr(p, x == std::string::npos ? std::string::npos : x - p);
    if (part.empty() || part.size() > 12 || part.find_first_not_of("0123456789") != std::string::npos)
      ER_THROW(InputError, "--input-shape ", arg, ": dimensions are whole numbers joined by 'x' (1x3x224x224)");
    d.push_back(std::stoll(part));
    if (x == std::string::npos) break;
    p = x + 1;
  }
  return d;
}

}  // namespace

Inputs planning_input(const ModelSummary& m, int64_t batch, int64_t seq, const std::vector<std::string>& input_shapes) {
  Inputs in;
  if (m.family != "onnx" && !input_shapes.empty())
    ER_THROW(InputError, "--input-shape applies to ONNX models; give --batch", m.family == "vit" ? "" : " and --seq");
  if (m.family == "onnx") {
    std::map<std::string, Shape> given;
    for (const std::string& arg : input_shapes) {
      const size_t eq = arg.find('=');
      std::string name = eq == std::string::npos ? (m.inputs.size() == 1 ? m.inputs[0].name : "") : arg.substr(0, eq);
      if (name.empty()) ER_THROW(InputError, "--input-shape ", arg, ": the model has ", m.inputs.size(), " inputs; give NAME=DIMS");
      bool known = false;
      for (const auto& i : m.inputs) known |= i.name == name;
      if (!known) ER_THROW(InputError, "--input-shape ", arg, ": the model has no input named '", name, "'");
      given[name] = parse_dims(eq == std::string::npos ? arg : arg.substr(eq + 1), arg);
    }
    for (const auto& i : m.inputs) {
      Shape d = i.dims;
      if (auto it = given.find(i.name); it != given.end()) {
        d = it->second;
      } else {
        for (size_t k = 0; k < d.size(); ++k) {
          if (d[k] >= 0) continue;
          if (k == 0) {
            d[k] = batch;
            continue;
          }
          ER_THROW(InputError, "input '", i.name, "' dimension ", k, i.dim_params[k].empty() ? "" : " ('" + i.dim_params[k] + "')",
                   " is symbolic: give its shape with --input-shape ", i.name, "=...");
        }
      }
      in.named.emplace_back(i.name, HostArray(i.dtype, d));
    }
    return in;
  }
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
