// The CLI's exit-code contract (README, `edgerun --help`), as one table: every bad input, option
// and folder a user has been seen to give, with its exit code (0 success; 1 the model or I/O;
// 3 the input, options or config file; 4 the budget; 70 internal), a part of its one-line
// "edgerun: ..." message, and the outputs that must not exist afterwards. New features add rows.
// Beside it: options that are accepted must do what they say (warnings, global options after
// the subcommand, plain temperature sampling, stdin).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "edgerun/edgerun.h"
#include "edgerun/preprocess.h"
#include "io/file.h"
#include "test_util.h"

using namespace edgerun;
using edgerun::test::cli_failed;
using edgerun::test::cli_ok;
using edgerun::test::run_edgerun;
using edgerun::test::TempDir;
namespace fs = std::filesystem;

namespace {
const std::string kGolden = std::string(EDGERUN_TEST_DATA) + "/golden";
const std::string kImages = std::string(EDGERUN_TEST_DATA) + "/images";

struct BadCase {
  std::string args;
  int code;
  std::string needle;
  std::vector<std::string> absent;
};

// A copy of a golden folder whose config.json `edit` changes.
std::string edited_copy(const TempDir& t, const std::string& fixture, const std::string& name,
                        const std::function<void(nlohmann::json&)>& edit) {
  const fs::path dir = t / name;
  fs::copy(kGolden + "/" + fixture, dir, fs::copy_options::recursive);
  auto cfg = nlohmann::json::parse(read_text_file((dir / "config.json").string()));
  edit(cfg);
  std::ofstream((dir / "config.json").string()) << cfg.dump();
  return dir.string();
}

std::string truncated_copy(const TempDir& t, const std::string& image, size_t keep) {
  const std::string bytes = edgerun::test::read_bytes(kImages + "/" + image);
  return t.write("cut_" + image, bytes.substr(0, keep));
}
}  // namespace

TEST(CliErrors, EveryBadInputIsOneLineWithItsExitCodeAndNoOutput) {
  TempDir t("cli_errors");
  const std::string out = t.file("y.npy"), trace = t.file("trace.json"), prof = t.file("prof"),
                    conv = t.file("conv"), img = t.write("broken.png", "\x89PNG garbage"),
                    trunc = t.file("trunc"), dangling = t.file("dangling"), a_file = t.write("a_file", "x"), gone = t.file("gone"),
                    gpt2 = kGolden + "/gpt2_lm", bert = kGolden + "/bert_cls", vit = kGolden + "/vit_cls",
                    vit_x = " --input " + vit + "/input.npy";
  fs::copy(vit, trunc, fs::copy_options::recursive);
  fs::resize_file(trunc + "/model.safetensors", fs::file_size(trunc + "/model.safetensors") - 100);
  fs::copy(vit, dangling, fs::copy_options::recursive);
  fs::remove(dangling + "/model.safetensors");
  fs::create_symlink("/nonexistent/blob", dangling + "/model.safetensors");
  const std::string mim = edited_copy(t, "vit_cls", "mim", [](auto& c) { c["architectures"] = {"ViTForMaskedImageModeling"}; });
  const std::string pre = edited_copy(t, "bert_cls", "pre", [](auto& c) { c["architectures"] = {"BertForPreTraining"}; });
  const std::string gpt2_taylor = edited_copy(t, "gpt2_lm", "taylor", [](auto& c) { c["edgerun_attention"] = "taylor"; });
  const std::string png = truncated_copy(t, "rgb_37x23.png", 40), jpg = truncated_copy(t, "photo_40x40.jpg", 600);
  const std::vector<std::string> outputs{out, trace};
  const BadCase cases[] = {
      // the command line itself (CLI11's parse errors included): 3
      {"", 3, "subcommand", {}},
      {"foo", 3, "unknown subcommand \"foo\"", {}},
      {"run", 3, "model is required", {}},
      {"run " + gpt2 + " --frobnicate", 3, "--frobnicate", {}},
      {"run " + bert + " --ids 1,2 --threads 5000", 3, "--threads", {}},
      {"run " + bert + " --ids 1,2 --threads many", 3, "--threads", {}},
      {"run " + bert + " --ids 1,2 --executor warp", 3, "warp", {}},
      {"--blas-core Bogus run " + bert + " --ids 1,2", 3, "--blas-core Bogus is not an OpenBLAS kernel set", {}},
      {"run " + bert + " --ids 1,2 --blas-core Bogus", 3, "--blas-core Bogus", {}},
      {"sim warp", 3, "subcommand", {}},
      // run: the input
      {"run " + gpt2 + " --ids 1,2,99999 -o " + out + " --trace " + trace, 3, "outside the vocabulary", outputs},
      {"run " + bert + " --ids 1,x,3 -o " + out, 3, "\"x\"", outputs},
      {"run " + bert + " --ids 1,,2 -o " + out, 3, "id 2 is empty", outputs},
      {"run " + bert + " --ids \"\" -o " + out, 3, "--ids is empty", outputs},
      {"run " + bert + " --text \"\" -o " + out, 3, "--text is empty", outputs},
      {"run " + gpt2 + " --ids 1,2 --new-tokens 100000 --json -o " + out, 3, "positions", outputs},
      {"run " + vit + " --input " + img + " -o " + out, 3, "cannot decode image", outputs},
      {"run " + vit + " --input " + png + " -o " + out, 3, "the PNG file is truncated", outputs},
      {"run " + vit + " --input " + jpg + " -o " + out, 3, "the JPEG file is truncated", outputs},
      {"run " + vit + " --input " + t.file("missing.npy") + " -o " + out, 3, "missing.npy", outputs},
      {"run " + vit + " --input " + a_file + ".npy -o " + out, 3, "--input", outputs},
      {"run " + vit + " --text hello -o " + out, 3, "--text needs a text model", outputs},
      {"run " + bert + " --ids 1,2 --input " + vit + "/input.npy -o " + out, 3, "exactly one of", outputs},
      {"run " + vit + vit_x + " --attention-mask " + bert + "/attention_mask.npy", 3, "--attention-mask: only BERT", {}},
      {"run " + gpt2 + " --ids 1,2 --attention-mask " + bert + "/attention_mask.npy", 3, "--attention-mask: only BERT", {}},
      {"run " + gpt2 + " --ids 1,2 --token-type-ids " + bert + "/token_type_ids.npy", 3, "--token-type-ids", {}},
      {"run " + bert + " --ids 1,2 --attention-mask " + t.file("nomask.npy"), 3, "--attention-mask", {}},
      // run: options that do not apply are refused, not ignored
      {"run " + gpt2 + " --ids 1,2 --executor swap --budget 50% --agents 2", 3, "--agents", {}},
      {"run " + gpt2 + " --ids 1,2 --labels " + bert + "/input.npy", 3, "not a classifier", {}},
      {"run " + vit + vit_x + " --new-tokens 3", 3, "only GPT-2 models generate", {}},
      {"run " + gpt2 + " --ids 1,2 --temperature 0.5", 3, "applies to generation", {}},
      {"run " + gpt2 + " --ids 1,2 --new-tokens 2 --seed 3", 3, "--seed applies to sampling", {}},
      {"run " + gpt2 + " --ids 1,2 --new-tokens 2 --temperature 0", 3, "--temperature 0: must be > 0", {}},
      {"run " + gpt2 + " --ids 1,2 --top 3", 3, "--top", {}},
      {"run " + gpt2 + " --ids 1,2 --attention taylor -o " + out, 3, "--attention taylor: not causal", outputs},
      {"run " + gpt2 + " --ids 1,2 --precision q16", 3, "--precision q16", {}},
      {"run " + bert + " --ids 1,2 --io-chunk 1 --budget 50%", 3, "--io-chunk 1", {}},
      {"run " + bert + " --ids 1,2 --io-chunk 10G --budget 50%", 3, "--io-chunk 10G", {}},
      {"run " + bert + " --ids 1,2 --tile 1K", 3, "--tile 1K: must be 0 or from 4K to 4G", {}},
      {"plan " + bert + " --tile 10%", 3, "--tile", {}},
      {"run " + bert + " --ids 1,2 --budget \"\"", 3, "--budget is empty", {}},
      {"run " + bert + " --ids 1,2 --budget 0", 3, "a budget of 0 bytes holds no layer", {}},
      {"run " + bert + " --ids 1,2 --budget 12Q -o " + out, 3, "unknown size unit \"Q\"", outputs},
      {"run " + bert + " --ids 1,2 --budget 1e3", 3, "1e3", {}},
      // run: output paths, checked before the run
      {"run " + bert + " --ids 1,2 -o " + t.str(), 3, "is a folder", {}},
      {"run " + bert + " --ids 1,2 -o " + gone + "/y.npy", 3, "folder " + gone + " does not exist", {gone}},
      {"run " + bert + " --ids 1,2 --trace " + gone + "/t.json", 3, "--trace " + gone + "/t.json", {gone}},
      // run: the budget (exit 4 names the smallest budget that works, in bytes and percent)
      {"run " + bert + " --ids 1,2,3 --budget 4K --json -o " + out + " --trace " + trace, 4, "bytes) = ", outputs},
      {"run " + bert + " --ids 1,2,3 --budget 10%", 4, "% of the model's", {}},
      {"run " + gpt2 + " --ids 1,2,3 --new-tokens 8 --budget 8K -o " + out, 4, "minimum", outputs},
      // the model: 1
      {"run /nonexistent/model --ids 1 -o " + out, 1, "/nonexistent/model", outputs},
      {"run " + trunc + vit_x + " -o " + out, 1, "model.safetensors", outputs},
      {"run " + dangling + vit_x, 1, "a symbolic link to /nonexistent/blob, which does not exist", {}},
      {"run " + mim + vit_x, 1, "ViTForMaskedImageModeling", {}},
      {"info " + pre, 1, "BertForPreTraining", {}},
      {"run " + gpt2_taylor + " --ids 1,2", 1, "edgerun_attention", {}},
      // the other commands
      {"info /nonexistent", 1, "/nonexistent", {}},
      {"info " + trunc, 1, "model.safetensors", {}},
      {"plan " + bert + " --budget 4K --seq 8", 4, "fewer tokens", {}},
      {"plan " + bert + " --budget 4K", 4, "plan assumed --seq 64 --batch 1 (--seq's default)", {}},
      {"plan " + bert + " --seq 8 --budget 1Q", 3, "1Q", {}},
      {"plan " + vit + " --seq 5", 3, "--seq: a ViT's sequence is fixed", {}},
      {"plan " + bert + " --executor resident --agents 2", 3, "--agents", {}},
      {"plan " + kGolden + "/gpt2_seq_cls_nopad --seq 4 --new-tokens 2", 3, "generation needs a language-model head", {}},
      {"profile " + trunc + " --out " + prof, 1, "model.safetensors", {prof}},
      {"profile " + vit + " --out " + a_file, 3, "exists and is not a folder", {}},
      {"profile " + vit + " --out " + gone + "/prof", 3, "does not exist", {gone}},
      {"convert " + trunc + " --dtype bf16 --out " + conv, 1, "model.safetensors", {conv}},
      {"convert " + vit + " --dtype int3 --out " + conv, 3, "int3", {conv}},
      {"convert " + vit + " --dtype bf16 --out " + gone + "/conv", 3, "does not exist", {gone}},
      {"iobench " + t.file("missing.bin"), 1, "missing.bin", {}},
      {"sim samm --model " + bert, 3, "--seq", {}},
      {"sim samm --model " + vit + " --out " + a_file, 3, "exists and is not a folder", {}},
  };
  for (const BadCase& c : cases) {
    const auto r = run_edgerun(c.args);
    EXPECT_TRUE(cli_failed(r, c.code, c.needle, c.absent)) << "edgerun " << c.args;
  }
}

TEST(CliErrors, BadOnnxInputIsOneLineWithItsExitCodeAndNoOutput) {
  TempDir t("cli_onnx");
  const std::string onnx = std::string(EDGERUN_TEST_DATA) + "/onnx", cnn = onnx + "/cnn_bn/model.onnx",
                    x = onnx + "/cnn_bn/x.npy", out = t.file("y.npy"), dir = t.file("outs");
  const std::string bytes = edgerun::test::read_bytes(cnn);
  const std::string cut = t.write("cut.onnx", bytes.substr(0, bytes.size() / 2));
  fs::create_directory(t / "ext");
  fs::copy(onnx + "/cnn_external/model.onnx", t / "ext/model.onnx");  // its data file left behind
  const std::string enc = onnx + "/encoder_decoder/model.onnx";
  const std::vector<BadCase> cases = {
      {"run " + cut + " --input " + x + " -o " + out, 1, "malformed ONNX protobuf", {out}},
      {"run " + t.file("ext") + " --input " + x + " -o " + out, 1, "external data file", {out}},
      {"run " + cnn + " --input y=" + x + " -o " + out, 3, "no input named 'y'", {out}},
      {"run " + cnn + " --input " + onnx + "/mobile_block/x.npy -o " + out, 3, "dimension 2 must be 16", {out}},
      {"run " + cnn + " --input " + x + " --output-npy nope=" + out, 3, "no output named 'nope'", {out}},
      {"run " + enc + " --input " + x + " --output-npy a.npy --output-npy b.npy", 3, "name each as NAME=FILE", {}},
      {"run " + cnn + " --text hello -o " + out, 3, "ONNX models take --input NAME=FILE", {out}},
      {"run " + cnn + " --input " + x + " --precision bf16 -o " + out, 3, "not implemented for ONNX", {out}},
      {"run " + cnn + " --input " + x + " --budget 1K -o " + out, 4, "below the minimum", {out}},
      {"run " + cnn + " --input " + x + " --output-dir " + cnn, 3, "exists and is not a folder", {}},
      {"plan " + cnn + " --seq 8", 3, "--seq applies to transformers", {}},
      {"plan " + cnn + " --input-shape x=1x3xfoo", 3, "whole numbers", {}},
      {"run " + x + " --input " + x, 1, "not a directory", {}},
  };
  for (const BadCase& c : cases) {
    const auto r = run_edgerun(c.args);
    EXPECT_TRUE(cli_failed(r, c.code, c.needle, c.absent)) << "edgerun " << c.args;
  }
  EXPECT_FALSE(fs::exists(dir));
}

TEST(CliErrors, HelpStatesTheExitCodesAndTheSizeUnits) {
  const auto h = run_edgerun("--help");
  ASSERT_TRUE(cli_ok(h));
  for (const char* s : {"Exit codes: 0 success; 1 the model", "3 the input, options or config file", "4 the budget",
                        "70 internal error"})
    EXPECT_TRUE(edgerun::test::contains(h.out, s)) << s;
  const auto r = run_edgerun("run --help");
  ASSERT_TRUE(cli_ok(r));
  for (const char* s : {"KiB MiB GiB TiB (powers of 1024)", "KB MB GB TB (powers of 1000)", "0 = one per core",
                        "=auto", "(default 5)", "(default 0)", "default: greedy"})
    EXPECT_TRUE(edgerun::test::contains(r.out, s)) << s;
}

TEST(CliErrors, AcceptedOptionsDoWhatTheySay) {
  const std::string bert = kGolden + "/bert_cls", gpt2 = kGolden + "/gpt2_lm";
  // More threads than cores: it runs, with a warning.
  const auto th = run_edgerun("run " + bert + " --ids 1,2 --threads 1000");
  ASSERT_TRUE(cli_ok(th));
  EXPECT_TRUE(edgerun::test::contains(th.err, "edgerun: warning: --threads 1000 is more than")) << th.err;
  // Global options after the subcommand.
  const auto bc = run_edgerun("run " + bert + " --ids 1,2 --json --blas-core Haswell");
  ASSERT_TRUE(cli_ok(bc));
  EXPECT_EQ(nlohmann::json::parse(bc.out)["blas_core"], "Haswell");
  // --temperature alone samples from the whole vocabulary, as the library does with top_k = V.
  const auto s = run_edgerun("run " + gpt2 + " --ids 1,2 --new-tokens 6 --temperature 3 --seed 7 --json");
  ASSERT_TRUE(cli_ok(s));
  auto session = Session::open(gpt2, {});
  HostArray prompt(DType::I64, {1, 2});
  prompt.as<int64_t>()[0] = 1;
  prompt.as<int64_t>()[1] = 2;
  GenerateParams gp;
  gp.new_tokens = 6;
  gp.top_k = session->summary().vocab_size;
  gp.temperature = 3;
  gp.seed = 7;
  const HostArray want = session->generate(prompt, gp);
  EXPECT_EQ(nlohmann::json::parse(s.out)["generated_ids"].get<std::vector<int64_t>>(),
            std::vector<int64_t>(want.as<int64_t>(), want.as<int64_t>() + want.numel()));
  gp.top_k = 0;
  const HostArray greedy = session->generate(prompt, gp);
  EXPECT_NE(greedy.bytes, want.bytes) << "temperature 3 over the whole vocabulary picked the greedy tokens";
  // sim samm takes the BERT folders its help offers, with --seq.
  const auto samm = run_edgerun("sim samm --model " + bert + " --seq 8 --json");
  ASSERT_TRUE(cli_ok(samm));
  EXPECT_EQ(nlohmann::json::parse(samm.out)["shape"]["tokens"], 8) << samm.out;
  // A config.json naming no architecture runs the base model, and says so.
  TempDir t("cli_noarch");
  const std::string noarch = edited_copy(t, "bert_cls", "noarch", [](auto& c) { c.erase("architectures"); });
  const auto base = run_edgerun("run " + noarch + " --ids 1,2 --json");
  ASSERT_TRUE(cli_ok(base));
  EXPECT_EQ(nlohmann::json::parse(base.out)["arch"], "BertModel");
  EXPECT_TRUE(edgerun::test::contains(base.err, "edgerun: warning: config.json has no \"architectures\"")) << base.err;
}

TEST(CliErrors, InputFromStandardInput) {
  TempDir t("cli_stdin");
  const std::string vit = kGolden + "/vit_cls", out = t.file("y.npy");
  // The shell's redirection, through /bin/sh (run_process takes no stdin of its own).
  const auto r = edgerun::test::run_process(
      {"/bin/sh", "-c", std::string(EDGERUN_BINARY) + " run " + vit + " --input - -o " + out + " < " + vit + "/input.npy"});
  ASSERT_TRUE(cli_ok(r));
  const auto want = run_edgerun("run " + vit + " --input " + vit + "/input.npy -o " + t.file("want.npy"));
  ASSERT_TRUE(cli_ok(want));
  EXPECT_EQ(read_npy(out).bytes, read_npy(t.file("want.npy")).bytes);
  const auto empty = edgerun::test::run_process(
      {"/bin/sh", "-c", std::string(EDGERUN_BINARY) + " run " + vit + " --input - < /dev/null"});
  EXPECT_TRUE(cli_failed(empty, 3, "standard input is empty"));
}
