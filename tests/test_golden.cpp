// Golden tests: tiny Hugging Face models written by transformers itself
// (scripts/make_golden_models.py) and their reference outputs computed by transformers in fp32.
// edgerun must match within each fixture's atol, agree on argmax, and reproduce greedy generation.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "edgerun/edgerun.h"
#include "edgerun/preprocess.h"
#include "io/file.h"
#include "test_util.h"

using namespace edgerun;

namespace {
const std::string kGolden = std::string(EDGERUN_TEST_DATA) + "/golden";

nlohmann::json manifest() {
  return nlohmann::json::parse(read_text_file(kGolden + "/manifest.json"));
}

std::vector<std::string> fixture_names() {
  std::vector<std::string> names;
  for (const auto& f : manifest()) names.push_back(f["name"].get<std::string>());
  return names;
}

nlohmann::json fixture(const std::string& name) {
  for (const auto& f : manifest())
    if (f["name"] == name) return f;
  throw std::runtime_error("no fixture " + name);
}

int64_t argmax(const float* p, int64_t n) { return std::max_element(p, p + n) - p; }
}  // namespace

class Golden : public ::testing::TestWithParam<std::string> {};

TEST_P(Golden, MatchesTransformers) {
  const nlohmann::json f = fixture(GetParam());
  const std::string dir = kGolden + "/" + GetParam();
  SessionOptions so;
  so.threads = 1;
  so.all_outputs = true;
  auto s = Session::open(dir, so);
  Inputs in;
  const auto& inputs = f["inputs"];
  HostArray x = read_npy(dir + "/" + inputs["input"].get<std::string>());
  if (f["family"] == "vit") in.pixel_values = x;
  else in.input_ids = x;
  if (inputs.contains("attention_mask") && !inputs["attention_mask"].is_null())
    in.attention_mask = read_npy(dir + "/" + inputs["attention_mask"].get<std::string>());
  if (inputs.contains("token_type_ids") && !inputs["token_type_ids"].is_null())
    in.token_type_ids = read_npy(dir + "/" + inputs["token_type_ids"].get<std::string>());
  const auto outputs = s->run_outputs(in);
  // Every output the fixture recorded is compared, the primary one first.
  std::vector<std::string> names{s->summary().primary_output};
  if (f.contains("extra_expected"))
    for (auto it = f["extra_expected"].begin(); it != f["extra_expected"].end(); ++it) names.push_back(it.key());
  ASSERT_EQ(s->summary().outputs, names) << GetParam();
  for (size_t k = 1; k < names.size(); ++k) {
    const HostArray& extra = outputs[k].second;
    HostArray want = read_npy(dir + "/" + f["extra_expected"][names[k]].get<std::string>());
    ASSERT_EQ(extra.shape, want.shape) << GetParam() << " " << names[k];
    EXPECT_LE(edgerun::test::max_abs_err(extra.as<float>(), want.as<float>(), want.numel()), f.value("atol", 1e-4))
        << GetParam() << " " << names[k];
  }
  const HostArray& got = outputs[0].second;
  HostArray want = read_npy(dir + "/" + f["expected"].get<std::string>());
  ASSERT_EQ(got.shape, want.shape);
  const double atol = f.value("atol", 1e-4);
  EXPECT_LE(edgerun::test::max_abs_err(got.as<float>(), want.as<float>(), want.numel()), atol) << GetParam();
  // argmax over the last axis agrees row by row
  const int64_t C = want.shape.back();
  for (int64_t r = 0; r < want.numel() / C; ++r)
    EXPECT_EQ(argmax(got.as<float>() + r * C, C), argmax(want.as<float>() + r * C, C))
        << GetParam() << " row " << r;

  if (f.contains("generate") && !f["generate"].is_null()) {
    const auto& gj = f["generate"];
    HostArray prompt = read_npy(dir + "/" + gj["prompt"].get<std::string>());
    HostArray expect = read_npy(dir + "/" + gj["expected"].get<std::string>());
    GenerateParams gp;
    gp.new_tokens = gj["new_tokens"].get<int64_t>();
    HostArray ids = s->generate(prompt, gp);
    ASSERT_EQ(ids.shape, expect.shape);
    for (int64_t i = 0; i < expect.numel(); ++i)
      EXPECT_EQ(ids.as<int64_t>()[i], expect.as<int64_t>()[i]) << GetParam() << " token " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, Golden, ::testing::ValuesIn(fixture_names()),
                         [](const auto& info) { return info.param; });
