// Random-weight Hugging Face folders (`edgerun synth`): the published config table, the tensor
// list and JSON files transformers 5 writes for each family, a counter-based normal generator and
// a streaming safetensors writer (synth_writer.cpp).
// Leaves out: tokenizers, sharded output (transformers 5 shards only past 50 GB), other heads.
#include "models/synth.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "core/error.h"

namespace edgerun {

using json = nlohmann::json;

// ---------------------------------------------------------------------------------------------
// Published configs. Sizes and extra keys copied from the Hub's config.json of each `source`;
// the "-tiny" configs are edgerun's own, small enough for unit tests (about 0.1-0.5 M params).

namespace {

SynthSpec vit(std::string name, std::string source, int64_t d, int64_t l, int64_t h, int64_t f,
              int64_t image, int64_t patch, int64_t labels) {
  SynthSpec s;
  s.name = std::move(name);
  s.source = std::move(source);
  s.family = Family::Vit;
  s.arch = "ViTForImageClassification";
  s.hidden = d, s.n_layer = l, s.n_head = h, s.intermediate = f;
  s.image_size = image, s.patch_size = patch, s.num_labels = labels;
  s.activation = "gelu";
  return s;
}

SynthSpec bert(std::string name, std::string source, int64_t d, int64_t l, int64_t h, int64_t f,
               int64_t vocab, int64_t positions) {
  SynthSpec s;
  s.name = std::move(name);
  s.source = std::move(source);
  s.family = Family::Bert;
  s.arch = "BertModel";  // the pure encoder (the published checkpoints are BertForPreTraining)
  s.hidden = d, s.n_layer = l, s.n_head = h, s.intermediate = f;
  s.vocab_size = vocab, s.max_positions = positions, s.type_vocab_size = 2;
  s.activation = "gelu";
  s.pad_token_id = 0;
  s.extra = {{"position_embedding_type", "absolute"}};
  return s;
}

SynthSpec gpt2(std::string name, std::string source, int64_t d, int64_t l, int64_t h, int64_t vocab,
               int64_t positions, bool published) {
  SynthSpec s;
  s.name = std::move(name);
  s.source = std::move(source);
  s.family = Family::Gpt2;
  s.arch = "GPT2LMHeadModel";
  s.hidden = d, s.n_layer = l, s.n_head = h, s.intermediate = 0;
  s.vocab_size = vocab, s.max_positions = positions;
  s.activation = "gelu_new";
  s.bos_token_id = s.eos_token_id = vocab - 1;  // <|endoftext|> is the last token
  if (published)
    s.extra = {
        {"n_ctx", positions},
        {"task_specific_params", {{"text-generation", {{"do_sample", true}, {"max_length", 50}}}}}};
  return s;
}

}  // namespace

const std::vector<SynthSpec>& synth_specs() {
  static const std::vector<SynthSpec> specs = {
      vit("vit-tiny", "edgerun test config (32x32 images, patch 8, 10 labels)", 64, 2, 4, 256, 32,
          8, 10),
      vit("vit-base", "google/vit-base-patch16-224", 768, 12, 12, 3072, 224, 16, 1000),
      vit("vit-large", "google/vit-large-patch16-224", 1024, 24, 16, 4096, 224, 16, 1000),
      bert("bert-tiny", "edgerun test config (vocabulary 1000, 128 positions)", 64, 2, 4, 256, 1000,
           128),
      bert("bert-base", "google-bert/bert-base-uncased", 768, 12, 12, 3072, 30522, 512),
      bert("bert-large", "google-bert/bert-large-uncased", 1024, 24, 16, 4096, 30522, 512),
      gpt2("gpt2-tiny", "edgerun test config (vocabulary 1000, 128 positions)", 64, 2, 4, 1000, 128,
           false),
      gpt2("gpt2", "openai-community/gpt2", 768, 12, 12, 50257, 1024, true),
      gpt2("gpt2-medium", "openai-community/gpt2-medium", 1024, 24, 16, 50257, 1024, true),
      gpt2("gpt2-large", "openai-community/gpt2-large", 1280, 36, 20, 50257, 1024, true),
      gpt2("gpt2-xl", "openai-community/gpt2-xl", 1600, 48, 25, 50257, 1024, true),
  };
  return specs;
}

const SynthSpec& find_synth_spec(std::string_view name) {
  std::string known;
  for (const SynthSpec& s : synth_specs()) {
    if (s.name == name) return s;
    known += (known.empty() ? "" : ", ") + s.name;
  }
  ER_THROW(InputError, "unknown model \"", name, "\" for synth; known: ", known);
}

// ---------------------------------------------------------------------------------------------
// Tensor lists.

namespace {

void check_spec(const SynthSpec& s) {
  auto positive = [&](const char* what, int64_t v, int64_t max) {
    if (v < 1 || v > max)
      ER_THROW(InputError, "synth ", s.name, ": ", what, " is ", v, ", expected 1..", max);
  };
  positive("hidden size", s.hidden, 1 << 16);
  positive("number of layers", s.n_layer, 4096);
  positive("number of heads", s.n_head, 4096);
  if (s.hidden % s.n_head != 0)
    ER_THROW(InputError, "synth ", s.name, ": hidden size ", s.hidden,
             " is not a multiple of the number of heads ", s.n_head);
  if (s.family != Family::Gpt2 || s.intermediate != 0)
    positive("intermediate size", s.intermediate, 1 << 20);
  const char* want = s.family == Family::Vit    ? "ViTForImageClassification"
                     : s.family == Family::Bert ? "BertModel"
                                                : "GPT2LMHeadModel";
  if (s.arch != want)
    ER_THROW(UnsupportedError, "synth ", s.name, ": architecture ", s.arch,
             " is not written by synth (", family_name(s.family), ": ", want, ")");
  if (s.family == Family::Vit) {
    positive("image size", s.image_size, 1 << 14);
    positive("patch size", s.patch_size, s.image_size);
    positive("number of channels", s.num_channels, 64);
    positive("number of labels", s.num_labels, 1 << 20);
    if (s.image_size % s.patch_size != 0)
      ER_THROW(InputError, "synth ", s.name, ": image size ", s.image_size,
               " is not a multiple of the patch size ", s.patch_size);
    if (!s.labels.empty() && static_cast<int64_t>(s.labels.size()) != s.num_labels)
      ER_THROW(InputError, "synth ", s.name, ": ", s.labels.size(), " label names for ",
               s.num_labels, " labels");
  } else {
    positive("vocabulary size", s.vocab_size, int64_t{1} << 24);
    positive("number of positions", s.max_positions, 1 << 20);
    if (s.family == Family::Bert) positive("token type vocabulary", s.type_vocab_size, 1 << 16);
  }
}

struct TensorList {
  std::vector<SynthTensor> v;
  void weight(std::string name, Shape shape, float std = 0.02f, int64_t zero_row = -1) {
    v.push_back({std::move(name), std::move(shape), std, 0.0f, zero_row});
  }
  void constant(std::string name, Shape shape, float fill) {
    v.push_back({std::move(name), std::move(shape), 0.0f, fill, -1});
  }
  void linear(const std::string& p, int64_t out, int64_t in) {  // torch Linear: (out, in)
    weight(p + ".weight", {out, in});
    constant(p + ".bias", {out}, 0.0f);
  }
  void norm(const std::string& p, int64_t d) {
    constant(p + ".weight", {d}, 1.0f);
    constant(p + ".bias", {d}, 0.0f);
  }
};

}  // namespace

std::vector<SynthTensor> synth_tensors(const SynthSpec& s) {
  check_spec(s);
  TensorList t;
  const int64_t D = s.hidden, F = s.intermediate ? s.intermediate : 4 * s.hidden;
  if (s.family == Family::Vit) {
    const int64_t P = s.patch_size, n_patch = (s.image_size / P) * (s.image_size / P);
    t.linear("classifier", s.num_labels, D);
    t.weight("vit.embeddings.cls_token", {1, 1, D});
    t.weight("vit.embeddings.patch_embeddings.projection.weight", {D, s.num_channels, P, P});
    t.constant("vit.embeddings.patch_embeddings.projection.bias", {D}, 0.0f);
    t.weight("vit.embeddings.position_embeddings", {1, n_patch + 1, D});
    for (int64_t i = 0; i < s.n_layer; ++i) {
      const std::string p = "vit.encoder.layer." + std::to_string(i);
      for (const char* qkv : {"query", "key", "value"})
        t.linear(p + ".attention.attention." + qkv, D, D);
      t.linear(p + ".attention.output.dense", D, D);
      t.linear(p + ".intermediate.dense", F, D);
      t.linear(p + ".output.dense", D, F);
      t.norm(p + ".layernorm_before", D);
      t.norm(p + ".layernorm_after", D);
    }
    t.norm("vit.layernorm", D);
  } else if (s.family == Family::Bert) {
    t.norm("embeddings.LayerNorm", D);
    t.weight("embeddings.position_embeddings.weight", {s.max_positions, D});
    t.weight("embeddings.token_type_embeddings.weight", {s.type_vocab_size, D});
    t.weight("embeddings.word_embeddings.weight", {s.vocab_size, D}, 0.02f,
             s.pad_token_id >= 0 && s.pad_token_id < s.vocab_size ? s.pad_token_id : -1);
    for (int64_t i = 0; i < s.n_layer; ++i) {
      const std::string p = "encoder.layer." + std::to_string(i);
      for (const char* qkv : {"query", "key", "value"})
        t.linear(p + ".attention.self." + qkv, D, D);
      t.linear(p + ".attention.output.dense", D, D);
      t.norm(p + ".attention.output.LayerNorm", D);
      t.linear(p + ".intermediate.dense", F, D);
      t.linear(p + ".output.dense", D, F);
      t.norm(p + ".output.LayerNorm", D);
    }
    t.linear("pooler.dense", D, D);
  } else {
    // Conv1D weights are stored (in, out). Residual projections get GPT-2's depth-scaled std.
    const float proj_std = 0.02f / std::sqrt(2.0f * static_cast<float>(s.n_layer));
    for (int64_t i = 0; i < s.n_layer; ++i) {
      const std::string p = "transformer.h." + std::to_string(i);
      t.weight(p + ".attn.c_attn.weight", {D, 3 * D});
      t.constant(p + ".attn.c_attn.bias", {3 * D}, 0.0f);
      t.weight(p + ".attn.c_proj.weight", {D, D}, proj_std);
      t.constant(p + ".attn.c_proj.bias", {D}, 0.0f);
      t.norm(p + ".ln_1", D);
      t.norm(p + ".ln_2", D);
      t.weight(p + ".mlp.c_fc.weight", {D, F});
      t.constant(p + ".mlp.c_fc.bias", {F}, 0.0f);
      t.weight(p + ".mlp.c_proj.weight", {F, D}, proj_std);
      t.constant(p + ".mlp.c_proj.bias", {D}, 0.0f);
    }
    t.norm("transformer.ln_f", D);
    t.weight("transformer.wpe.weight", {s.max_positions, D});
    t.weight("transformer.wte.weight", {s.vocab_size, D});  // tied: no lm_head.weight
  }
  // The safetensors writer orders tensors by dtype (all equal here), then name, bytewise.
  std::sort(t.v.begin(), t.v.end(),
            [](const SynthTensor& a, const SynthTensor& b) { return a.name < b.name; });
  return t.v;
}

uint64_t synth_param_count(const SynthSpec& spec) {
  uint64_t n = 0;
  for (const SynthTensor& t : synth_tensors(spec)) n += static_cast<uint64_t>(shape_numel(t.shape));
  return n;
}

// ---------------------------------------------------------------------------------------------
// JSON files. nlohmann::json objects keep keys sorted and dump(2) spaces them as Python's
// json.dumps(indent=2, sort_keys=True) does, which is how transformers writes them.

namespace {

json id_or_null(int64_t id) { return id >= 0 ? json(id) : json(nullptr); }

std::string dump(const json& j) { return j.dump(2) + "\n"; }

}  // namespace

std::string synth_config_json(const SynthSpec& s, DType dtype) {
  check_spec(s);
  if (dtype != DType::F32 && dtype != DType::BF16)
    ER_THROW(InputError, "synth writes f32 or bf16 weights, not ", dtype_name(dtype));
  json j = s.extra.is_object() ? s.extra : json::object();
  j["architectures"] = json::array({s.arch});
  j["dtype"] = dtype == DType::F32 ? "float32" : "bfloat16";
  j["initializer_range"] = 0.02;
  if (s.family == Family::Gpt2) {
    j["model_type"] = "gpt2";
    j["activation_function"] = s.activation;
    j["add_cross_attention"] = false;
    j["attn_pdrop"] = j["embd_pdrop"] = j["resid_pdrop"] = 0.1;
    j["bos_token_id"] = id_or_null(s.bos_token_id);
    j["eos_token_id"] = id_or_null(s.eos_token_id);
    j["layer_norm_epsilon"] = 1e-5;
    j["n_embd"] = s.hidden;
    j["n_head"] = s.n_head;
    j["n_inner"] = s.intermediate ? json(s.intermediate) : json(nullptr);
    j["n_layer"] = s.n_layer;
    j["n_positions"] = s.max_positions;
    j["pad_token_id"] = nullptr;
    j["reorder_and_upcast_attn"] = false;
    j["scale_attn_by_inverse_layer_idx"] = false;
    j["scale_attn_weights"] = true;
    j["summary_activation"] = nullptr;
    j["summary_first_dropout"] = 0.1;
    j["summary_proj_to_labels"] = true;
    j["summary_type"] = "cls_index";
    j["summary_use_proj"] = true;
    j["tie_word_embeddings"] = true;
    j["use_cache"] = true;
    j["vocab_size"] = s.vocab_size;
    return dump(j);
  }
  j["hidden_act"] = s.activation;
  j["hidden_size"] = s.hidden;
  j["intermediate_size"] = s.intermediate;
  j["layer_norm_eps"] = 1e-12;
  j["num_attention_heads"] = s.n_head;
  j["num_hidden_layers"] = s.n_layer;
  if (s.family == Family::Bert) {
    j["model_type"] = "bert";
    j["add_cross_attention"] = false;
    j["attention_probs_dropout_prob"] = j["hidden_dropout_prob"] = 0.1;
    j["bos_token_id"] = j["eos_token_id"] = nullptr;
    j["classifier_dropout"] = nullptr;
    j["is_decoder"] = false;
    j["max_position_embeddings"] = s.max_positions;
    j["pad_token_id"] = id_or_null(s.pad_token_id);
    j["tie_word_embeddings"] = true;
    j["type_vocab_size"] = s.type_vocab_size;
    j["use_cache"] = true;
    j["vocab_size"] = s.vocab_size;
    return dump(j);
  }
  j["model_type"] = "vit";
  j["attention_probs_dropout_prob"] = j["hidden_dropout_prob"] = 0.0;
  j["encoder_stride"] = 16;
  j["image_size"] = s.image_size;
  j["num_channels"] = s.num_channels;
  j["patch_size"] = s.patch_size;
  j["pooler_act"] = "tanh";
  j["pooler_output_size"] = s.hidden;
  j["qkv_bias"] = true;
  // transformers leaves out the label maps when they equal its default (LABEL_0, LABEL_1).
  // id2label has integer keys in Python, so json.dumps(sort_keys=True) orders them numerically
  // ("9" before "10"); label2id's string keys sort as text.
  nlohmann::ordered_json id2label = nlohmann::ordered_json::object();
  json label2id = json::object();
  bool is_default = s.num_labels == 2;
  for (int64_t i = 0; i < s.num_labels; ++i) {
    const std::string def = "LABEL_" + std::to_string(i);
    const std::string& name = s.labels.empty() ? def : s.labels[static_cast<size_t>(i)];
    is_default = is_default && name == def;
    id2label[std::to_string(i)] = name;
    label2id[name] = i;
  }
  if (is_default) return dump(j);
  j["id2label"] = nullptr;  // placeholder holding the sorted position
  j["label2id"] = label2id;
  auto o = nlohmann::ordered_json::parse(j.dump());  // keeps the sorted key order
  o["id2label"] = id2label;
  return o.dump(2) + "\n";
}

std::string synth_generation_config_json(const SynthSpec& s) {
  if (s.family != Family::Gpt2) return "";
  json j = {{"_from_model_config", true},
            {"bos_token_id", id_or_null(s.bos_token_id)},
            {"eos_token_id", id_or_null(s.eos_token_id)},
            {"output_attentions", false},
            {"output_hidden_states", false},
            {"use_cache", true}};
  return dump(j);
}

std::string synth_preprocessor_config_json(const SynthSpec& s) {
  if (s.family != Family::Vit) return "";
  const json half = json::array({0.5, 0.5, 0.5});
  json j = {{"do_normalize", true},
            {"do_rescale", true},
            {"do_resize", true},
            {"image_mean", half},
            {"image_processor_type", "ViTImageProcessor"},
            {"image_std", half},
            {"resample", 2},
            {"rescale_factor", 1.0 / 255.0},
            {"size", {{"height", s.image_size}, {"width", s.image_size}}}};
  return dump(j);
}

// ---------------------------------------------------------------------------------------------
// Generator. Counter-based (splitmix64's finalizer over seed, name and index), so chunks can be
// filled in any order by any number of threads with the same result. A normal value is the
// Irwin-Hall sum of twelve 16-bit uniforms (three hashes) minus its mean: variance 2^32 - 1 in
// integer units, so dividing by 2^16 gives unit variance; tails stop at 6 sigma, harmless for
// random weights. Integer sums and one rounding make the bytes the same on every machine.

namespace {

constexpr uint64_t kGolden = 0x9E3779B97F4A7C15ull;

inline uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

uint64_t tensor_key(uint64_t seed, std::string_view name) {
  uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a: the name picks the stream, so `--layers` keeps
  for (char c : name) {                // the surviving tensors' values
    h ^= static_cast<uint8_t>(c);
    h *= 0x100000001b3ull;
  }
  return mix64(mix64(seed + kGolden) ^ h);
}

}  // namespace

void synth_fill(const SynthTensor& t, uint64_t seed, uint64_t first, int64_t count, float* out) {
  if (t.std > 0.0f) {
    const uint64_t key = tensor_key(seed, t.name);
    const double scale = static_cast<double>(t.std) / 65536.0;
    for (int64_t i = 0; i < count; ++i) {
      const uint64_t c = (first + static_cast<uint64_t>(i)) * 3;
      uint64_t sum = 0;
      for (uint64_t k = 0; k < 3; ++k) {
        const uint64_t h = mix64(key + (c + k + 1) * kGolden);
        sum += (h & 0xFFFF) + ((h >> 16) & 0xFFFF) + ((h >> 32) & 0xFFFF) + (h >> 48);
      }
      out[i] = static_cast<float>((static_cast<double>(sum) - 393210.0) * scale);
    }
  } else {
    std::fill(out, out + count, t.fill);
  }
  if (t.zero_row >= 0 && t.shape.size() == 2) {
    const uint64_t row = static_cast<uint64_t>(t.shape[1]);
    const uint64_t lo = std::max(first, static_cast<uint64_t>(t.zero_row) * row);
    const uint64_t hi =
        std::min(first + static_cast<uint64_t>(count), static_cast<uint64_t>(t.zero_row + 1) * row);
    for (uint64_t e = lo; e < hi; ++e) out[e - first] = 0.0f;
  }
}

}  // namespace edgerun
