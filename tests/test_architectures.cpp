// Which architecture a folder runs: config.json's "architectures"[0] when edgerun has it, the
// family's base model (with a note) when the config names none, an UnsupportedError naming it and
// the family's list otherwise; the tensors of the files the architecture leaves unused; and the
// GPT-2 classifier's refusals (a batch without a pad token, generation).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "edgerun/edgerun.h"
#include "edgerun/models.h"
#include "io/file.h"
#include "models/model.h"
#include "test_models.h"
#include "test_util.h"

using namespace edgerun;
using edgerun::test::contains;
using edgerun::test::TempDir;
namespace fs = std::filesystem;

namespace {
const std::string kGolden = std::string(EDGERUN_TEST_DATA) + "/golden";

nlohmann::json manifest() { return nlohmann::json::parse(read_text_file(kGolden + "/manifest.json")); }

// A copy of golden fixture `name` in t, its config.json changed by `edit`.
template <typename F>
std::string copy_with_config(const TempDir& t, const std::string& name, F edit) {
  const std::string dir = t.file(name);
  fs::copy(kGolden + "/" + name, dir, fs::copy_options::recursive);
  auto cfg = nlohmann::json::parse(read_text_file(dir + "/config.json"));
  edit(cfg);
  std::ofstream(dir + "/config.json") << cfg.dump(2) << "\n";
  return dir;
}

std::string unsupported_message(const std::string& dir) {
  try {
    build_model(dir);
  } catch (const UnsupportedError& e) {
    return e.what();
  }
  return "(no UnsupportedError)";
}
}  // namespace

TEST(Architectures, AnUnknownOneIsRefusedNamingItAndTheFamilysList) {
  TempDir t("arch");
  struct Case {
    const char* fixture;
    const char* arch;
    std::vector<const char*> known;
  };
  const Case cases[] = {
      {"vit_cls", "ViTForMaskedImageModeling", {"ViTModel", "ViTForImageClassification"}},
      {"bert_cls",
       "BertForPreTraining",
       {"BertModel", "BertForSequenceClassification", "BertForMaskedLM", "BertForTokenClassification",
        "BertForQuestionAnswering"}},
      {"bert_cls", "BertForNextSentencePrediction", {"BertForMaskedLM"}},
      {"gpt2_lm", "GPT2DoubleHeadsModel", {"GPT2Model", "GPT2LMHeadModel", "GPT2ForSequenceClassification"}},
  };
  for (const Case& c : cases) {
    const std::string dir =
        copy_with_config(t, c.fixture, [&](nlohmann::json& j) { j["architectures"] = {c.arch}; });
    const std::string msg = unsupported_message(dir);
    EXPECT_TRUE(contains(msg, std::string("\"") + c.arch + "\" is not supported")) << msg;
    for (const char* k : c.known) EXPECT_TRUE(contains(msg, k)) << msg;
    SessionOptions so;
    EXPECT_THROW(Session::open(dir, so), UnsupportedError) << c.arch;
    fs::remove_all(dir);
  }
}

TEST(Architectures, NoneNamedRunsTheBaseModelAndSaysSo) {
  TempDir t("arch");
  for (bool empty_list : {false, true}) {
    const std::string dir = copy_with_config(t, "bert_cls", [&](nlohmann::json& j) {
      if (empty_list) j["architectures"] = nlohmann::json::array();
      else j.erase("architectures");
    });
    const ModelGraph mg = build_model(dir);
    EXPECT_EQ(mg.info.arch, "BertModel");
    EXPECT_EQ(mg.info.head, Head::Base);
    EXPECT_EQ(mg.info.primary_output, "last_hidden_state");
    EXPECT_EQ(mg.info.architecture_note, "config.json has no \"architectures\"; running the base model BertModel");
    // The classifier's weights are then unused, and said to be; its pooler is the base model's.
    EXPECT_EQ(mg.info.unused_tensors, (std::vector<std::string>{"classifier.bias", "classifier.weight"}));
    const ModelDescription d = describe_model(dir);
    EXPECT_EQ(d.arch, "BertModel");
    EXPECT_EQ(d.architecture_note, mg.info.architecture_note);
    EXPECT_EQ(d.unused_tensors, mg.info.unused_tensors);
    fs::remove_all(dir);
  }
  EXPECT_EQ(build_model(kGolden + "/bert_cls").info.architecture_note, "");
}

// `edgerun info` reports the head that runs, and every golden fixture's files hold only weights
// of its architecture (their old buffers and base-model poolers are not listed as unused).
TEST(Architectures, EveryGoldenFixtureRunsItsArchitectureAndUsesEveryWeight) {
  for (const auto& f : manifest()) {
    const std::string dir = kGolden + "/" + f["name"].get<std::string>();
    const ModelDescription d = describe_model(dir);
    EXPECT_EQ(d.arch, f["arch"].get<std::string>()) << dir;
    EXPECT_EQ(d.architecture_note, "") << dir;
    EXPECT_TRUE(d.unused_tensors.empty()) << dir << ": " << d.unused_tensors.front();
  }
}

TEST(Architectures, TensorsTheArchitectureDoesNotUseAreListed) {
  TempDir t("arch");
  const std::string dir = t.file("bert_token_cls");
  fs::copy(kGolden + "/bert_token_cls", dir, fs::copy_options::recursive);
  const std::string file = dir + "/model.safetensors";
  test::Tensors w = test::read_all_tensors(file);
  // A pretraining checkpoint's pooler and NSP head (BertForTokenClassification has neither, and
  // transformers reports both as unexpected), and a buffer, which is not a weight.
  const std::vector<std::pair<std::string, Shape>> extra = {
      {"bert.pooler.dense.weight", {16, 16}}, {"cls.seq_relationship.weight", {2, 16}},
      {"bert.embeddings.position_ids", {1, 16}}};
  for (const auto& [name, shape] : extra) {
    SafetensorsEntry e;
    e.name = name;
    e.dtype = DType::F32;
    e.shape = shape;
    w.entries.push_back(e);
    w.bytes.emplace_back(static_cast<size_t>(shape_numel(shape)) * 4, 0);
  }
  test::write_all_tensors(file, w);
  const ModelGraph mg = build_model(dir);
  EXPECT_EQ(mg.info.unused_tensors,
            (std::vector<std::string>{"bert.pooler.dense.weight", "cls.seq_relationship.weight"}));
  // Still runs, and as before: the extra tensors change nothing.
  SessionOptions so;
  so.threads = 1;
  Inputs in;
  in.input_ids = read_npy(dir + "/input.npy");
  in.attention_mask = read_npy(dir + "/attention_mask.npy");
  in.token_type_ids = read_npy(dir + "/token_type_ids.npy");
  const HostArray got = Session::open(dir, so)->run(in), want = read_npy(dir + "/expected.npy");
  ASSERT_EQ(got.shape, want.shape);
  EXPECT_LE(test::max_abs_err(got.as<float>(), want.as<float>(), want.numel()), 1e-4);
}

TEST(Architectures, QuestionAnsweringNeedsTwoLabels) {
  TempDir t("arch");
  const std::string dir = copy_with_config(t, "bert_qa", [](nlohmann::json& j) {
    j["num_labels"] = 3;
    j.erase("id2label");
    j.erase("label2id");
  });
  EXPECT_THROW(build_model(dir), FormatError);
}

TEST(Gpt2SequenceClassification, WithoutAPadTokenABatchIsRefused) {
  const std::string dir = kGolden + "/gpt2_seq_cls_nopad";
  SessionOptions so;
  so.threads = 1;
  auto s = Session::open(dir, so);
  HostArray one = read_npy(dir + "/input.npy");
  HostArray two(DType::I64, {2, one.shape[1]});
  for (int64_t i = 0; i < two.numel(); ++i) two.as<int64_t>()[i] = one.as<int64_t>()[i % one.numel()];
  Inputs in;
  in.input_ids = two;
  try {
    s->run(in);
    ADD_FAILURE() << "a batch of 2 without pad_token_id ran";
  } catch (const InputError& e) {
    EXPECT_TRUE(contains(e.what(), "pad_token_id")) << e.what();
    EXPECT_TRUE(contains(e.what(), "Cannot handle batch sizes > 1 if no padding token is defined")) << e.what();
  }
  in.input_ids = one;  // and the session still runs one sequence
  EXPECT_EQ(s->run(in).shape, (Shape{1, 3}));
}

TEST(Gpt2SequenceClassification, IsNotAGenerator) {
  SessionOptions so;
  so.threads = 1;
  auto s = Session::open(kGolden + "/gpt2_seq_cls", so);
  EXPECT_EQ(s->summary().primary_output, "logits");
  GenerateParams gp;
  gp.new_tokens = 2;
  EXPECT_THROW(s->generate(read_npy(kGolden + "/gpt2_seq_cls/input.npy"), gp), InputError);
}

// The new heads stream as the rest of the model does: at the smallest budget the planner allows,
// swap and pipeload give the resident run's bytes (the MLM decoder's chunks read their bias rows).
TEST(Architectures, HeadsGiveTheSameBytesWhenStreamed) {
  for (const char* name : {"bert_mlm", "bert_mlm_untied", "bert_qa", "gpt2_seq_cls"}) {
    const std::string dir = kGolden + "/" + name;
    Inputs in;
    in.input_ids = read_npy(dir + "/input.npy");
    if (fs::exists(dir + "/attention_mask.npy")) in.attention_mask = read_npy(dir + "/attention_mask.npy");
    SessionOptions so;
    so.threads = 1;
    auto resident = Session::open(dir, so);
    const HostArray want = resident->run(in);
    const uint64_t min_budget = resident->plan(in).min_budget_bytes;
    for (Executor e : {Executor::Swap, Executor::Pipeload}) {
      SessionOptions o = so;
      o.executor = e;
      o.budget_bytes = min_budget;
      const HostArray got = Session::open(dir, o)->run(in);
      EXPECT_EQ(got.bytes, want.bytes) << name << " " << to_string(e);
    }
  }
}
