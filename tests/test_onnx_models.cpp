// ONNX models end to end (tests/data/onnx, made by scripts/make_onnx_models.py and, for the
// small YOLOv3, FCN and MobileNetV3, scripts/onnx_zoo.py; the *_onnx ones are the golden ViT,
// BERT and GPT-2 exported from transformers): edgerun's
// outputs equal onnxruntime's within 1e-4 of each output's largest magnitude; the same model
// streamed under a budget (swap, pipeload) gives the resident run's bits; embedded, external
// and Constant-node weights all load; a symbolic batch binds from the input.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "edgerun/edgerun.h"
#include "edgerun/errors.h"
#include "test_util.h"

using namespace edgerun;

namespace {

std::string onnx_dir(const std::string& name) { return std::string(EDGERUN_TEST_DATA) + "/onnx/" + name; }

// The fixture's input as its graph names it: the transformers exports keep transformers' names.
Inputs inputs_of(const std::string& name) {
  Inputs in;
  const std::string key = name == "vit_cls_onnx" ? "pixel_values" : name.ends_with("_onnx") ? "input_ids" : "x";
  in.named.emplace_back(key, read_npy(onnx_dir(name) + "/x.npy"));
  return in;
}

// max |a - b| over max |b|, both float32 of the same shape.
double relative_error(const HostArray& a, const HostArray& b) {
  EXPECT_EQ(a.shape, b.shape);
  EXPECT_EQ(a.dtype, DType::F32);
  if (a.shape != b.shape || a.dtype != DType::F32) return 1e30;
  double err = 0, mag = 0;
  for (int64_t i = 0; i < a.numel(); ++i) {
    const double x = a.as<float>()[i], y = b.as<float>()[i];
    if (!std::isfinite(x)) return 1e30;
    err = std::max(err, std::fabs(x - y));
    mag = std::max(mag, std::fabs(y));
  }
  return err / std::max(mag, 1e-30);
}

bool same_bits(const HostArray& a, const HostArray& b) {
  return a.dtype == b.dtype && a.shape == b.shape && a.bytes == b.bytes;
}

class OnnxModels : public ::testing::TestWithParam<std::string> {};

TEST_P(OnnxModels, MatchOnnxRuntime) {
  const std::string name = GetParam();
  SessionOptions o;
  o.direct_io = false;
  auto s = Session::open(onnx_dir(name) + "/model.onnx", o);
  const auto outs = s->run_outputs(inputs_of(name));
  ASSERT_EQ(outs.size(), s->summary().outputs.size());
  for (const auto& [out_name, arr] : outs) {
    const HostArray ref = read_npy(onnx_dir(name) + "/" + out_name + ".npy");
    EXPECT_LT(relative_error(arr, ref), 1e-4) << name << " output " << out_name;
  }
}

TEST_P(OnnxModels, StreamedRunsGiveTheResidentBits) {
  const std::string name = GetParam();
  SessionOptions o;
  o.direct_io = false;
  o.threads = 1;
  auto rs = Session::open(onnx_dir(name) + "/model.onnx", o);
  const uint64_t min_budget = rs->plan(inputs_of(name)).min_budget_bytes;
  auto resident = rs->run_outputs(inputs_of(name));
  for (Executor e : {Executor::Swap, Executor::Pipeload}) {
    SessionOptions so = o;
    so.executor = e;
    so.budget_bytes = min_budget;  // the least these models stream in: one layer at a time
    auto s = Session::open(onnx_dir(name) + "/model.onnx", so);
    auto outs = s->run_outputs(inputs_of(name));
    ASSERT_EQ(outs.size(), resident.size());
    for (size_t i = 0; i < outs.size(); ++i)
      EXPECT_TRUE(same_bits(outs[i].second, resident[i].second)) << name << " " << to_string(e) << " " << outs[i].first;
    EXPECT_LE(s->report().budget_high_water_bytes, s->report().budget_bytes);
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, OnnxModels,
                         ::testing::Values("cnn_bn", "cnn_external", "cnn_constants", "mobile_block",
                                           "encoder_decoder", "yolov3_tiny", "fcn_tiny", "mobilenet_v3_tiny",
                                           "bert_cls_onnx", "vit_cls_onnx", "gpt2_lm_onnx"));

TEST(OnnxModel, AFolderHoldingModelOnnxOpensAsTheFile) {
  SessionOptions o;
  o.direct_io = false;
  auto a = Session::open(onnx_dir("cnn_external"), o)->run(inputs_of("cnn_external"));
  auto b = Session::open(onnx_dir("cnn_external") + "/model.onnx", o)->run(inputs_of("cnn_external"));
  EXPECT_TRUE(same_bits(a, b));
}

TEST(OnnxModel, SymbolicBatchBindsFromTheInput) {
  SessionOptions o;
  o.direct_io = false;
  auto s = Session::open(onnx_dir("cnn_bn") + "/model.onnx", o);
  ASSERT_EQ(s->summary().inputs.size(), 1u);
  EXPECT_EQ(s->summary().inputs[0].dims[0], -1);
  EXPECT_EQ(s->summary().inputs[0].dim_params[0], "batch");
  const HostArray x2 = read_npy(onnx_dir("cnn_bn") + "/x.npy");
  const HostArray ref = read_npy(onnx_dir("cnn_bn") + "/logits.npy");
  // One image of the two: the first row of the reference.
  HostArray x1(DType::F32, {1, x2.shape[1], x2.shape[2], x2.shape[3]});
  std::memcpy(x1.bytes.data(), x2.bytes.data(), x1.bytes.size());
  Inputs in;
  in.named.emplace_back("x", x1);
  const HostArray y1 = s->run(in);
  ASSERT_EQ(y1.shape, (Shape{1, ref.shape[1]}));
  HostArray ref1(DType::F32, {1, ref.shape[1]});
  std::memcpy(ref1.bytes.data(), ref.bytes.data(), ref1.bytes.size());
  EXPECT_LT(relative_error(y1, ref1), 1e-4);
  // And back to two: the graph binds again.
  EXPECT_LT(relative_error(s->run(inputs_of("cnn_bn")), ref), 1e-4);
}

TEST(OnnxModel, WrongInputsAreNamed) {
  SessionOptions o;
  o.direct_io = false;
  auto s = Session::open(onnx_dir("mobile_block") + "/model.onnx", o);
  Inputs none;
  EXPECT_TRUE(test::contains(test::error_of<InputError>([&] { s->run(none); }), "input 'x' is not given"));
  Inputs wrong;
  wrong.named.emplace_back("x", HostArray(DType::F32, {1, 3, 20, 24}));
  EXPECT_TRUE(test::contains(test::error_of<InputError>([&] { s->run(wrong); }), "dimension 2 must be 24"));
  Inputs extra = inputs_of("mobile_block");
  extra.named.emplace_back("y", HostArray(DType::F32, {1}));
  EXPECT_TRUE(test::contains(test::error_of<InputError>([&] { s->run(extra); }), "no input named 'y'"));
  Inputs ints;
  ints.named.emplace_back("x", HostArray(DType::I64, {1, 3, 24, 24}));
  EXPECT_TRUE(test::contains(test::error_of<InputError>([&] { s->run(ints); }), "must be F32"));
}

}  // namespace

namespace {

#ifdef EDGERUN_BINARY  // the CLI (not in the ThreadSanitizer build, which runs the rest)
TEST(OnnxCli, RunWritesEveryOutputAndInfoNamesThem) {
  test::TempDir t("onnx_cli");
  const std::string m = onnx_dir("encoder_decoder");
  const auto r = test::run_edgerun("run " + m + " --input " + m + "/x.npy --output-dir " + t.file("out") +
                                   " --output-npy aux=" + t.file("aux.npy"));
  ASSERT_TRUE(test::cli_ok(r)) << r.err;
  EXPECT_TRUE(test::contains(r.out, "seg: F32 (1, 4, 12, 12)")) << r.out;
  for (const char* name : {"seg", "aux"}) {
    const HostArray got = read_npy(t.file("out") + "/" + name + ".npy");
    EXPECT_LT(relative_error(got, read_npy(m + "/" + name + ".npy")), 1e-4) << name;
  }
  EXPECT_EQ(read_npy(t.file("aux.npy")).bytes, read_npy(t.file("out") + "/aux.npy").bytes);
  const auto info = test::run_edgerun("info " + m + " --json");
  ASSERT_TRUE(test::cli_ok(info)) << info.err;
  EXPECT_TRUE(test::contains(info.out, "\"dim_params\"")) << info.out;
  EXPECT_TRUE(test::contains(info.out, "\"outputs\": [\n    \"seg\",\n    \"aux\"")) << info.out;
}
#endif

}  // namespace
