// `edgerun synth`: tiny folders of each family build and validate; the layout is byte-for-byte what
// transformers' save_pretrained wrote for the golden fixtures of the same config; the generator is
// deterministic and its values have the intended statistics; bad requests are refused cleanly.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/error.h"
#include "formats/safetensors.h"
#include "models/model.h"
#include "models/synth.h"
#include "test_util.h"

using namespace edgerun;
namespace fs = std::filesystem;

namespace {
const std::string kGolden = std::string(EDGERUN_TEST_DATA) + "/golden";

// A folder path that does not exist yet, inside a temporary folder removed with the test.
struct TempDir {
  edgerun::test::TempDir base;
  fs::path path;
  explicit TempDir(const std::string& name) : base("synth_" + name), path(base.path() / "model") {}
  std::string str() const { return path.string(); }
  std::string operator/(const std::string& f) const { return (path / f).string(); }
};

std::string read_all(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string header_bytes(const std::string& path) {
  const std::string raw = read_all(path);
  if (raw.size() < 8) return "";
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= static_cast<uint64_t>(static_cast<uint8_t>(raw[i])) << (8 * i);
  return raw.substr(0, 8 + n);
}

// transformers' JSON text without the "transformers_version" line synth leaves out.
std::string without_version(const std::string& text) {
  std::string out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (line.find("\"transformers_version\"") == std::string::npos) out += line + "\n";
  // When the version was the last key, the line before it loses its comma.
  if (out.size() >= 4 && out.compare(out.size() - 4, 4, ",\n}\n") == 0)
    out.erase(out.size() - 4, 1);
  return out;
}

// The float32 values of tensor `name` in a synth'd F32 file.
std::vector<float> read_f32(const std::string& file, const std::string& name) {
  SafetensorsFile sf = SafetensorsFile::open(file);
  const SafetensorsEntry* e = sf.find(name);
  EXPECT_NE(e, nullptr) << name;
  if (!e) return {};
  const std::string raw = read_all(file);
  std::vector<float> v(e->nbytes() / 4);
  std::memcpy(v.data(), raw.data() + e->begin, e->nbytes());
  return v;
}

SynthOptions opts(uint64_t seed = 0) {
  SynthOptions o;
  o.seed = seed;
  return o;
}
}  // namespace

TEST(Synth, TinyModelsBuildAndValidate) {
  struct Case {
    const char* name;
    Family family;
    const char* arch;
    const char* output;
  };
  for (const Case& c : {Case{"vit-tiny", Family::Vit, "ViTForImageClassification", "logits"},
                        Case{"bert-tiny", Family::Bert, "BertModel", "last_hidden_state"},
                        Case{"gpt2-tiny", Family::Gpt2, "GPT2LMHeadModel", "logits"}}) {
    SCOPED_TRACE(c.name);
    TempDir dir(c.name);
    const SynthSpec& spec = find_synth_spec(c.name);
    SynthResult r = synth_model(spec, dir.str(), opts());
    EXPECT_EQ(r.n_params, synth_param_count(spec));
    EXPECT_EQ(fs::file_size(dir / "model.safetensors"), r.weight_bytes);
    EXPECT_TRUE(fs::exists(dir / "config.json"));
    EXPECT_TRUE(fs::exists(dir / "README.md"));
    EXPECT_EQ(fs::exists(dir / "preprocessor_config.json"), c.family == Family::Vit);
    EXPECT_EQ(fs::exists(dir / "generation_config.json"), c.family == Family::Gpt2);
    for (const auto& f : fs::directory_iterator(dir.path))
      EXPECT_NE(f.path().extension(), ".tmp") << "left-over " << f.path();

    // Header validates, tensors in the listed order with the listed shapes.
    SafetensorsFile sf = SafetensorsFile::open(dir / "model.safetensors");
    EXPECT_EQ(sf.metadata().at("format"), "pt");
    const std::vector<SynthTensor> want = synth_tensors(spec);
    ASSERT_EQ(sf.entries().size(), want.size());
    for (size_t i = 0; i < want.size(); ++i) {
      EXPECT_EQ(sf.entries()[i].name, want[i].name);
      EXPECT_EQ(sf.entries()[i].shape, want[i].shape) << want[i].name;
      EXPECT_EQ(sf.entries()[i].dtype, DType::F32);
    }
    EXPECT_EQ(sf.file_size(), r.weight_bytes);

    // The model builder accepts the folder as the named architecture.
    ModelGraph mg = build_model(dir.str());
    EXPECT_EQ(mg.info.family, c.family);
    EXPECT_EQ(mg.info.arch, c.arch);
    EXPECT_EQ(mg.info.hidden, spec.hidden);
    EXPECT_EQ(mg.info.n_layer, spec.n_layer);
    EXPECT_EQ(mg.info.n_head, spec.n_head);
    EXPECT_EQ(mg.info.primary_output, c.output);
    if (c.family == Family::Vit) {
      EXPECT_EQ(mg.info.num_labels, spec.num_labels);
    }
  }
}

// The golden fixtures were written by transformers' save_pretrained: synth with the same config
// must give the same safetensors header bytes and the same JSON text (less the version line).
TEST(Synth, LayoutMatchesTransformersSavePretrained) {
  struct Case {
    const char* golden;
    DType dtype;
  };
  for (const Case& c : {Case{"vit_cls", DType::F32}, Case{"bert_base_relu", DType::F32},
                        Case{"gpt2_lm", DType::F32}, Case{"gpt2_lm_bf16", DType::BF16}}) {
    SCOPED_TRACE(c.golden);
    const std::string g = kGolden + "/" + c.golden;
    const nlohmann::json cfg = nlohmann::json::parse(read_all(g + "/config.json"));
    SynthSpec s;
    s.name = c.golden;
    s.source = "golden";
    s.arch = cfg["architectures"][0];
    if (cfg["model_type"] == "gpt2") {
      s.family = Family::Gpt2;
      s.hidden = cfg["n_embd"], s.n_layer = cfg["n_layer"], s.n_head = cfg["n_head"];
      s.vocab_size = cfg["vocab_size"], s.max_positions = cfg["n_positions"];
      s.activation = cfg["activation_function"];
      s.bos_token_id = cfg["bos_token_id"], s.eos_token_id = cfg["eos_token_id"];
    } else {
      s.family = cfg["model_type"] == "vit" ? Family::Vit : Family::Bert;
      s.hidden = cfg["hidden_size"], s.n_layer = cfg["num_hidden_layers"];
      s.n_head = cfg["num_attention_heads"], s.intermediate = cfg["intermediate_size"];
      s.activation = cfg["hidden_act"];
      if (s.family == Family::Vit) {
        s.image_size = cfg["image_size"], s.patch_size = cfg["patch_size"];
        s.num_channels = cfg["num_channels"];
        for (const auto& [k, v] : cfg["id2label"].items()) s.labels.push_back(v);
        s.num_labels = static_cast<int64_t>(s.labels.size());
      } else {
        s.vocab_size = cfg["vocab_size"], s.max_positions = cfg["max_position_embeddings"];
        s.type_vocab_size = cfg["type_vocab_size"], s.pad_token_id = cfg["pad_token_id"];
      }
    }
    TempDir dir(c.golden);
    SynthOptions o;
    o.dtype = c.dtype;
    synth_model(s, dir.str(), o);
    EXPECT_EQ(header_bytes(dir / "model.safetensors"), header_bytes(g + "/model.safetensors"));
    EXPECT_EQ(read_all(dir / "config.json"), without_version(read_all(g + "/config.json")));
    if (s.family == Family::Gpt2) {
      EXPECT_EQ(read_all(dir / "generation_config.json"),
                without_version(read_all(g + "/generation_config.json")));
    }
  }
}

TEST(Synth, SameSeedSameBytesWhateverTheThreads) {
  TempDir a("seed_a"), b("seed_b"), c("seed_c");
  SynthOptions o = opts(7);
  o.threads = 1;
  synth_model(find_synth_spec("gpt2-tiny"), a.str(), o);
  o.threads = 3;
  synth_model(find_synth_spec("gpt2-tiny"), b.str(), o);
  synth_model(find_synth_spec("gpt2-tiny"), c.str(), opts(8));
  EXPECT_EQ(read_all(a / "model.safetensors"), read_all(b / "model.safetensors"));
  EXPECT_NE(read_all(a / "model.safetensors"), read_all(c / "model.safetensors"));
  EXPECT_EQ(read_all(a / "config.json"), read_all(c / "config.json"));

  // Values depend only on (seed, name, index): any chunking gives the same numbers.
  SynthTensor t{"x.weight", {1000, 7}, 0.02f, 0.0f, -1};
  std::vector<float> whole(7000), parts(7000);
  synth_fill(t, 5, 0, 7000, whole.data());
  synth_fill(t, 5, 0, 1234, parts.data());
  synth_fill(t, 5, 1234, 7000 - 1234, parts.data() + 1234);
  EXPECT_EQ(whole, parts);
  // Pinned values: the generator uses integer arithmetic and one rounding only, so these bits
  // hold on every machine and build; a change here changes every synth'd model.
  auto bits = [](float x) {
    uint32_t b;
    std::memcpy(&b, &x, 4);
    return b;
  };
  float v[4];
  synth_fill(SynthTensor{"transformer.wte.weight", {4}, 1.0f, 0.0f, -1}, 0, 0, 4, v);
  EXPECT_EQ(bits(v[0]), 0xbe0fc400u);  // -0.140396118
  EXPECT_EQ(bits(v[1]), 0x3f348100u);  //  0.705093384
  EXPECT_EQ(bits(v[2]), 0x3fccc200u);  //  1.59967041
  EXPECT_EQ(bits(v[3]), 0x3e137800u);  //  0.144012451
  synth_fill(SynthTensor{"transformer.wte.weight", {4}, 0.02f, 0.0f, -1}, 42, 1000000, 2, v);
  EXPECT_EQ(bits(v[0]), 0x3abee147u);  //  0.00145629875
  EXPECT_EQ(bits(v[1]), 0x3c2e4b85u);  //  0.0106381224
}

TEST(Synth, InitialisationStatistics) {
  TempDir dir("stats");
  SynthSpec s = find_synth_spec("gpt2-tiny");
  synth_model(s, dir.str(), opts(3));
  const std::string f = dir / "model.safetensors";
  for (const char* n : {"transformer.h.0.ln_1.weight", "transformer.ln_f.weight"})
    for (float v : read_f32(f, n)) ASSERT_EQ(v, 1.0f) << n;
  for (const char* n : {"transformer.h.0.ln_1.bias", "transformer.h.1.attn.c_attn.bias",
                        "transformer.h.1.mlp.c_proj.bias"})
    for (float v : read_f32(f, n)) ASSERT_EQ(v, 0.0f) << n;
  auto stats = [](const std::vector<float>& v, double* mean, double* sd, double* max_abs) {
    double s1 = 0, s2 = 0, m = 0;
    for (float x : v) s1 += x, s2 += double(x) * x, m = std::max(m, std::fabs(double(x)));
    *mean = s1 / v.size();
    *sd = std::sqrt(s2 / v.size() - *mean * *mean);
    *max_abs = m;
  };
  double mean, sd, mx;
  const std::vector<float> wte = read_f32(f, "transformer.wte.weight");  // 64000 values
  stats(wte, &mean, &sd, &mx);
  EXPECT_NEAR(mean, 0.0, 3 * 0.02 / std::sqrt(64000.0));
  EXPECT_NEAR(sd, 0.02, 0.02 * 0.02);
  EXPECT_LT(mx, 6 * 0.02);
  EXPECT_GT(mx, 3.5 * 0.02);  // tails are there, not a uniform
  // Fraction within one sigma: 68.3% for a normal, 57.7% for a uniform of the same variance.
  int64_t inside = 0;
  for (float x : wte) inside += std::fabs(x) < 0.02f;
  EXPECT_NEAR(static_cast<double>(inside) / wte.size(), 0.683, 0.01);
  // GPT-2's residual projections: std 0.02 / sqrt(2 * n_layer).
  stats(read_f32(f, "transformer.h.0.mlp.c_proj.weight"), &mean, &sd, &mx);
  EXPECT_NEAR(sd, 0.02 / std::sqrt(2.0 * s.n_layer), 0.0006);

  // BERT's padding row (pad_token_id 0) stays zero; the next row does not.
  TempDir bdir("stats_bert");
  synth_model(find_synth_spec("bert-tiny"), bdir.str(), opts(3));
  const std::vector<float> word =
      read_f32(bdir / "model.safetensors", "embeddings.word_embeddings.weight");
  const int64_t d = find_synth_spec("bert-tiny").hidden;
  for (int64_t i = 0; i < d; ++i) ASSERT_EQ(word[i], 0.0f);
  int64_t nonzero = 0;
  for (int64_t i = d; i < 2 * d; ++i) nonzero += word[i] != 0.0f;
  EXPECT_EQ(nonzero, d);
}

TEST(Synth, LayerOverrideKeepsSurvivingTensors) {
  TempDir full("layers_full"), one("layers_one");
  synth_model(find_synth_spec("vit-tiny"), full.str(), opts(1));
  SynthOptions o = opts(1);
  o.n_layer = 1;
  SynthResult r = synth_model(find_synth_spec("vit-tiny"), one.str(), o);
  EXPECT_EQ(r.spec.n_layer, 1);
  ModelGraph mg = build_model(one.str());
  EXPECT_EQ(mg.info.n_layer, 1);
  EXPECT_EQ(nlohmann::json::parse(read_all(one / "config.json"))["num_hidden_layers"], 1);
  const std::string n = "vit.encoder.layer.0.intermediate.dense.weight";
  EXPECT_EQ(read_f32(one / "model.safetensors", n), read_f32(full / "model.safetensors", n));
  EXPECT_EQ(SafetensorsFile::open(one / "model.safetensors")
                .find("vit.encoder.layer.1.output.dense.weight"),
            nullptr);
}

TEST(Synth, Bf16IsTheRoundedF32) {
  TempDir f32("bf16_a"), bf16("bf16_b");
  synth_model(find_synth_spec("gpt2-tiny"), f32.str(), opts(2));
  SynthOptions o = opts(2);
  o.dtype = DType::BF16;
  SynthResult r = synth_model(find_synth_spec("gpt2-tiny"), bf16.str(), o);
  EXPECT_EQ(nlohmann::json::parse(read_all(bf16 / "config.json"))["dtype"], "bfloat16");
  SafetensorsFile sf = SafetensorsFile::open(bf16 / "model.safetensors");
  for (const auto& e : sf.entries()) EXPECT_EQ(e.dtype, DType::BF16) << e.name;
  EXPECT_EQ(r.n_params * 2 + sf.data_offset(), r.weight_bytes);
  const std::string name = "transformer.h.1.attn.c_attn.weight";
  const std::vector<float> ref = read_f32(f32 / "model.safetensors", name);
  const std::string raw = read_all(bf16 / "model.safetensors");
  const SafetensorsEntry* e = sf.find(name);
  ASSERT_NE(e, nullptr);
  for (size_t i = 0; i < ref.size(); ++i) {
    uint16_t h;
    std::memcpy(&h, raw.data() + e->begin + 2 * i, 2);
    ASSERT_EQ(h, f32_to_bf16(ref[i])) << i;
  }
  EXPECT_EQ(build_model(bf16.str()).info.arch, "GPT2LMHeadModel");
}

TEST(Synth, PublishedConfigs) {
  // Parameter counts of the transformers classes built from the published configs.
  const std::pair<const char*, uint64_t> want[] = {
      {"vit-base", 86567656},    {"vit-large", 304326632}, {"bert-base", 109482240},
      {"bert-large", 335141888}, {"gpt2", 124439808},      {"gpt2-medium", 354823168},
      {"gpt2-large", 774030080}, {"gpt2-xl", 1557611200}};
  for (const auto& [name, n] : want) EXPECT_EQ(synth_param_count(find_synth_spec(name)), n) << name;
  const nlohmann::json g =
      nlohmann::json::parse(synth_config_json(find_synth_spec("gpt2-xl"), DType::F32));
  EXPECT_EQ(g["n_embd"], 1600);
  EXPECT_EQ(g["n_ctx"], 1024);
  EXPECT_EQ(g["eos_token_id"], 50256);
  EXPECT_TRUE(g["n_inner"].is_null());
  const nlohmann::json v =
      nlohmann::json::parse(synth_config_json(find_synth_spec("vit-large"), DType::F32));
  EXPECT_EQ(v["id2label"].size(), 1000u);
  EXPECT_EQ(v["id2label"]["999"], "LABEL_999");
  EXPECT_EQ(v["label2id"]["LABEL_7"], 7);
  // As transformers writes them: id2label in numeric key order (Python int keys), label2id as text.
  const std::string vt = synth_config_json(find_synth_spec("vit-base"), DType::F32);
  EXPECT_LT(vt.find("\"9\": \"LABEL_9\""), vt.find("\"10\": \"LABEL_10\""));
  EXPECT_LT(vt.find("\"LABEL_10\": 10"), vt.find("\"LABEL_9\": 9"));
  EXPECT_LT(vt.find("\"hidden_size\""), vt.find("\"id2label\""));
  EXPECT_LT(vt.find("\"id2label\""), vt.find("\"image_size\""));
  const nlohmann::json p =
      nlohmann::json::parse(synth_preprocessor_config_json(find_synth_spec("vit-base")));
  EXPECT_EQ(p["size"]["height"], 224);
  const nlohmann::json b =
      nlohmann::json::parse(synth_config_json(find_synth_spec("bert-large"), DType::BF16));
  EXPECT_EQ(b["position_embedding_type"], "absolute");
  EXPECT_EQ(b["dtype"], "bfloat16");
  EXPECT_EQ(b["num_hidden_layers"], 24);
}

TEST(Synth, RefusesBadRequests) {
  try {
    find_synth_spec("gpt3");
    FAIL() << "no error";
  } catch (const InputError& e) {
    const std::string m = e.what();
    for (const char* n : {"gpt3", "vit-base", "vit-large", "bert-base", "bert-large", "gpt2-medium",
                          "gpt2-xl", "gpt2-tiny"})
      EXPECT_NE(m.find(n), std::string::npos) << n << " in " << m;
  }
  TempDir dir("refuse");
  fs::create_directories(dir.path);
  std::ofstream(dir / "notes.txt") << "mine";
  try {
    synth_model(find_synth_spec("bert-tiny"), dir.str(), opts());
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("--force"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(dir / "config.json"));
  SynthOptions o = opts();
  o.force = true;
  synth_model(find_synth_spec("bert-tiny"), dir.str(), o);
  EXPECT_EQ(read_all(dir / "notes.txt"), "mine");  // --force replaces synth's files only
  EXPECT_NO_THROW(build_model(dir.str()));

  std::ofstream(dir / "model.safetensors.index.json") << "{}";
  EXPECT_THROW(synth_model(find_synth_spec("bert-tiny"), dir.str(), o), InputError);
  EXPECT_THROW(synth_model(find_synth_spec("bert-tiny"), dir / "notes.txt", o), InputError);
  o.dtype = DType::F16;
  TempDir other("refuse_dtype");
  EXPECT_THROW(synth_model(find_synth_spec("bert-tiny"), other.str(), o), InputError);
  EXPECT_FALSE(fs::exists(other.path));
  SynthSpec bad = find_synth_spec("vit-tiny");
  bad.n_head = 5;  // 64 is not a multiple of 5
  EXPECT_THROW(synth_tensors(bad), InputError);
}

TEST(Synth, CommandLine) {
  using edgerun::test::cli_failed;
  using edgerun::test::cli_ok;
  using edgerun::test::run_edgerun;
  TempDir dir("cli");
  auto r = run_edgerun("synth gpt2-tiny --out " + dir.str() + " --seed 4 --layers 1");
  ASSERT_TRUE(cli_ok(r));
  EXPECT_NE((r.out + r.err).find("wrote"), std::string::npos) << r.describe();
  EXPECT_EQ(build_model(dir.str()).info.n_layer, 1);
  EXPECT_TRUE(cli_failed(run_edgerun("synth gpt2-tiny --out " + dir.str()), 3, "not empty"));
  EXPECT_TRUE(cli_ok(run_edgerun("synth gpt2-tiny --out " + dir.str() + " --force --dtype bf16")));
  EXPECT_EQ(SafetensorsFile::open(dir / "model.safetensors").entries()[0].dtype, DType::BF16);
  const std::string fresh = dir.base.file("fresh");
  EXPECT_TRUE(cli_failed(run_edgerun("synth nope --out " + fresh), 3, "gpt2-xl", {fresh}));
  EXPECT_TRUE(cli_failed(run_edgerun("synth gpt2-tiny --out " + fresh + " --dtype f16"), 3, "f16", {fresh}));
  r = run_edgerun("synth --list");
  ASSERT_TRUE(cli_ok(r));
  EXPECT_NE(r.out.find("1557611200"), std::string::npos) << r.out;
}
