// Attention variants (DESIGN.md "Numerics"): every kernel and its reference against float64
// NumPy references of the formulas (scripts/make_attention_refs.py, tests/data/attention),
// shiftmax's pieces and its bound against exact softmax, padding semantics through whole
// models, bit-identical executors, and the errors for unknown or causal variants.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <unistd.h>

#include "core/error.h"
#include "edgerun/edgerun.h"
#include "edgerun/preprocess.h"
#include "io/file.h"
#include "kernels/cpu/kernels.h"
#include "models/model.h"
#include "test_util.h"

using namespace edgerun;
namespace fs = std::filesystem;

namespace {
const std::string kData = EDGERUN_TEST_DATA;

using Kernel = void (*)(const kernels::AttentionArgs&);
struct VariantKernels {
  AttnVariant v;
  Kernel fast, ref;
};
const VariantKernels kVariants[] = {
    {AttnVariant::Softmax, kernels::attention, kernels::attention_ref},
    {AttnVariant::Taylor, kernels::attention_taylor, kernels::attention_taylor_ref},
    {AttnVariant::Sima, kernels::attention_sima, kernels::attention_sima_ref},
    {AttnVariant::Shiftmax, kernels::attention_shiftmax, kernels::attention_shiftmax_ref},
};

// max |got - want| / (1 + |want|); infinite where an output was never written (NaN).
double max_rel(const std::vector<float>& got, const HostArray& want) {
  if (static_cast<int64_t>(got.size()) != want.numel()) return INFINITY;
  return edgerun::test::max_rel_err(got.data(), want.as<double>(), got.size());
}
}  // namespace

TEST(AttentionVariants, KernelsAndReferencesMatchNumpyFloat64) {
  const auto cases = nlohmann::json::parse(read_text_file(kData + "/attention/cases.json"));
  int checked = 0;
  for (const auto& c : cases["cases"]) {
    const std::string dir = kData + "/attention/" + c["name"].get<std::string>();
    HostArray q = read_npy(dir + "/q.npy"), k = read_npy(dir + "/k.npy"), v = read_npy(dir + "/v.npy");
    HostArray mask;
    if (c["mask"].get<bool>()) mask = read_npy(dir + "/mask.npy");
    kernels::AttentionArgs a;
    a.B = c["B"];
    a.T = c["T"];
    a.n_head = c["n_head"];
    a.head_dim = c["head_dim"];
    a.scale = c["scale"].get<float>();
    const int64_t D = a.n_head * a.head_dim;
    a.q = q.as<float>();
    a.k = k.as<float>();
    a.v = v.as<float>();
    a.q_stride = a.k_stride = a.v_stride = D;
    if (c["mask"].get<bool>()) a.key_mask = mask.as<int64_t>();
    for (const auto& vk : kVariants) {
      HostArray want = read_npy(dir + "/out_" + to_string(vk.v) + ".npy");
      ASSERT_EQ(want.dtype, DType::F64);
      ASSERT_EQ(want.numel(), a.B * a.T * D);
      std::vector<float> scratch(static_cast<size_t>(kernels::attention_scratch_floats(vk.v, a.T, a.T, a.head_dim)));
      std::vector<float> out(static_cast<size_t>(a.B * a.T * D), NAN), out_ref(out.size(), NAN);
      a.scratch = scratch.data();
      a.out = out.data();
      vk.fast(a);
      a.out = out_ref.data();
      vk.ref(a);
      const std::string what = c["name"].get<std::string>() + " " + to_string(vk.v);
      // fp32 products and sums against float64: a few ulp of the output scale.
      EXPECT_LT(max_rel(out, want), 2e-6) << what << " (optimized)";
      EXPECT_LT(max_rel(out_ref, want), 2e-6) << what << " (reference)";
      ++checked;
    }
  }
  EXPECT_EQ(checked, 16);
}

TEST(AttentionVariants, DispatchRunsTheVariantsKernel) {
  // The generic entry point must give exactly what each variant's own kernel gives.
  const int64_t B = 2, T = 7, H = 2, hd = 3, D = H * hd;
  std::mt19937 g(3);
  std::normal_distribution<float> nd;
  std::vector<float> q(B * T * D), k(q.size()), v(q.size());
  for (auto* x : {&q, &k, &v})
    for (float& e : *x) e = nd(g);
  for (const auto& vk : kVariants) {
    kernels::AttentionArgs a;
    a.B = B, a.T = T, a.n_head = H, a.head_dim = hd, a.scale = 0.7f;
    a.q = q.data(), a.k = k.data(), a.v = v.data();
    a.q_stride = a.k_stride = a.v_stride = D;
    std::vector<float> s(static_cast<size_t>(kernels::attention_scratch_floats(vk.v, T, T, hd)));
    std::vector<float> o1(B * T * D), o2(o1.size());
    a.scratch = s.data();
    a.out = o1.data();
    kernels::attention(vk.v, a);
    a.out = o2.data();
    vk.fast(a);
    EXPECT_EQ(o1, o2) << to_string(vk.v);
  }
}

TEST(Shiftmax, Pow2AndMitchellAreExactAtPowersOfTwoAndContinuous) {
  EXPECT_EQ(kernels::pow2_shift(0.0f), 1.0f);
  EXPECT_EQ(kernels::pow2_shift(-3.0f), 0.125f);
  EXPECT_EQ(kernels::pow2_shift(-0.5f), 0.75f);     // (1 + 0.5) 2^-1
  EXPECT_EQ(kernels::pow2_shift(-2.25f), 0.21875f);  // (1 + 0.75) 2^-3
  EXPECT_EQ(kernels::pow2_shift(-200.0f), 0.0f);
  EXPECT_EQ(kernels::pow2_shift(-INFINITY), 0.0f);
  EXPECT_EQ(kernels::log2_mitchell(1.0f), 0.0f);
  EXPECT_EQ(kernels::log2_mitchell(8.0f), 3.0f);
  EXPECT_EQ(kernels::log2_mitchell(12.0f), 3.5f);  // 2^3 (1 + 0.5)
  EXPECT_EQ(kernels::log2_mitchell(0.75f), -0.5f);
  // Continuous across the integer boundaries (piecewise linear, no jumps).
  for (float x = -10.0f; x <= 0.0f; x += 1.0f) {
    EXPECT_NEAR(kernels::pow2_shift(x - 1e-4f), kernels::pow2_shift(x), 1e-4f) << x;
    const float p = std::ldexp(1.0f, static_cast<int>(x) + 12);
    EXPECT_NEAR(kernels::log2_mitchell(p * (1 - 1e-6f)), kernels::log2_mitchell(p), 1e-5f) << x;
  }
}

TEST(Shiftmax, ProbabilitiesWithinTheAnalyticBoundOfExactSoftmax) {
  // With V = I the attention output is the probability matrix itself. 2^u as (1 + f) 2^floor(u)
  // overestimates by at most r = 1.06135 (f = 1/ln 2 - 1) and Mitchell's log2 underestimates by
  // at most g = 0.08607, so y / p lies in [1 / r, r 2^g] = [0.94220, 1.12662] for every entry.
  const double lo = 1.0 / 1.06135, hi = 1.06135 * std::exp2(0.08607);
  for (float spread : {0.1f, 1.0f, 4.0f, 12.0f}) {
    const int64_t T = 29, hd = 29, D = hd;
    std::mt19937 g(static_cast<uint32_t>(spread * 10));
    std::normal_distribution<float> nd(0.0f, spread);
    std::vector<float> q(T * D), k(T * D), v(T * D, 0.0f);
    for (float& x : q) x = nd(g);
    for (float& x : k) x = nd(g) / spread;
    for (int64_t i = 0; i < T; ++i) v[i * D + i] = 1.0f;
    kernels::AttentionArgs a;
    a.B = 1, a.T = T, a.n_head = 1, a.head_dim = hd, a.scale = 0.2f;
    a.q = q.data(), a.k = k.data(), a.v = v.data();
    a.q_stride = a.k_stride = a.v_stride = D;
    std::vector<float> s(T * T), ps(T * T), pe(T * T);
    a.scratch = s.data();
    a.out = ps.data();
    kernels::attention_shiftmax(a);
    a.out = pe.data();
    kernels::attention_ref(a);  // exact softmax, double inside
    double worst_lo = 1, worst_hi = 1, max_abs = 0;
    for (int64_t i = 0; i < T; ++i) {
      double row = 0;
      for (int64_t j = 0; j < T; ++j) {
        const double y = ps[i * T + j], p = pe[i * T + j];
        row += y;
        max_abs = std::isnan(y) ? INFINITY : std::max(max_abs, std::fabs(y - p));
        if (p < 1e-30) continue;
        worst_lo = std::min(worst_lo, y / p);
        worst_hi = std::max(worst_hi, y / p);
      }
      EXPECT_GE(row, lo - 1e-5);
      EXPECT_LE(row, hi + 1e-5);
    }
    EXPECT_GE(worst_lo, lo - 1e-5) << "spread " << spread;
    EXPECT_LE(worst_hi, hi + 1e-5) << "spread " << spread;
    EXPECT_LE(max_abs, hi - 1) << "spread " << spread;  // |y - p| <= 0.127 p <= 0.127
  }
}

// ---- whole models ----

namespace {
HostArray run_model(const std::string& dir, const std::string& attention, const Inputs& in,
                    const std::string& executor = "resident", const std::string& budget_pct = "") {
  SessionOptions so;
  so.threads = 1;
  so.attention = parse_attn_variant(attention);
  so.executor = parse_executor(executor);
  if (!budget_pct.empty()) so.budget_fraction = std::stod(budget_pct) / 100.0;
  auto s = Session::open(dir, so);
  EXPECT_EQ(std::string(to_string(s->summary().attention)), attention);
  return s->run(in);
}

Inputs golden_inputs(const std::string& dir, bool text) {
  Inputs in;
  HostArray x = read_npy(dir + "/input.npy");
  if (text) {
    in.input_ids = x;
    if (fs::exists(dir + "/attention_mask.npy")) in.attention_mask = read_npy(dir + "/attention_mask.npy");
  } else {
    in.pixel_values = x;
  }
  return in;
}
}  // namespace

TEST(AttentionVariants, ExecutorsAreBitIdenticalForEveryVariant) {
  for (const char* model : {"vit_cls", "bert_cls"}) {
    const std::string dir = kData + "/golden/" + model;
    const Inputs in = golden_inputs(dir, std::string(model) == "bert_cls");
    for (const char* v : {"softmax", "taylor", "sima", "shiftmax"}) {
      HostArray r = run_model(dir, v, in);
      for (auto [ex, pct] : {std::pair{"swap", "130"}, {"pipeload", "130"}}) {
        HostArray o = run_model(dir, v, in, ex, pct);
        ASSERT_EQ(o.bytes, r.bytes) << model << " " << v << " " << ex;
      }
    }
  }
}

TEST(AttentionVariants, PaddedKeysDoNotCount) {
  // A BERT sequence padded with junk tokens under mask 0 gives, for every variant, what the
  // unpadded sequence alone gives: centring, sums, n and L1 norms run over valid tokens only.
  const std::string dir = kData + "/golden/bert_cls";
  const int64_t valid = 5, T = 8;
  HostArray ids(DType::I64, {1, T}), mask(DType::I64, {1, T}), short_ids(DType::I64, {1, valid});
  const int64_t toks[T] = {2, 17, 23, 5, 3, 40, 41, 42};
  for (int64_t t = 0; t < T; ++t) {
    ids.as<int64_t>()[t] = toks[t];
    mask.as<int64_t>()[t] = t < valid;
    if (t < valid) short_ids.as<int64_t>()[t] = toks[t];
  }
  for (const char* v : {"softmax", "taylor", "sima", "shiftmax"}) {
    Inputs padded, alone;
    padded.input_ids = ids;
    padded.attention_mask = mask;
    alone.input_ids = short_ids;
    HostArray a = run_model(dir, v, padded), b = run_model(dir, v, alone);
    ASSERT_EQ(a.numel(), b.numel());
    for (int64_t i = 0; i < a.numel(); ++i)
      EXPECT_NEAR(a.as<float>()[i], b.as<float>()[i], 2e-5) << v << " logit " << i;
  }
}

TEST(AttentionVariants, VariantsDifferAndSoftmaxIsTheDefault) {
  const std::string dir = kData + "/golden/vit_cls";
  const Inputs in = golden_inputs(dir, false);
  SessionOptions so;
  so.threads = 1;
  auto s = Session::open(dir, so);
  EXPECT_EQ(std::string(to_string(s->summary().attention)), "softmax");
  HostArray def = s->run(in), soft = run_model(dir, "softmax", in);
  EXPECT_EQ(def.bytes, soft.bytes);
  for (const char* v : {"taylor", "sima", "shiftmax"}) EXPECT_NE(run_model(dir, v, in).bytes, soft.bytes) << v;
}

TEST(AttentionVariants, ConfigNamesTheVariantAndTheOptionOverrides) {
  const edgerun::test::TempDir t("attn_cfg");
  const fs::path dir = t / "model";
  fs::copy(kData + "/golden/vit_cls", dir);
  auto cfg = nlohmann::json::parse(read_text_file((dir / "config.json").string()));
  cfg["edgerun_attention"] = "taylor";
  std::ofstream((dir / "config.json").string()) << cfg.dump();
  SessionOptions so;
  so.threads = 1;
  EXPECT_EQ(std::string(to_string(Session::open(dir.string(), so)->summary().attention)), "taylor");
  so.attention = AttnVariant::Shiftmax;
  EXPECT_EQ(std::string(to_string(Session::open(dir.string(), so)->summary().attention)), "shiftmax");
  // A config naming a variant edgerun does not have is refused, unless the option overrides it.
  cfg["edgerun_attention"] = "performer";
  std::ofstream((dir / "config.json").string()) << cfg.dump();
  so.attention.reset();
  try {
    Session::open(dir.string(), so);
    ADD_FAILURE() << "no error for an unknown variant in config.json";
  } catch (const UnsupportedError& e) {
    EXPECT_NE(std::string(e.what()).find("performer"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("config.json"), std::string::npos) << e.what();
  }
  so.attention = AttnVariant::Softmax;
  EXPECT_NO_THROW(Session::open(dir.string(), so));
}

TEST(AttentionVariants, ClearErrors) {
  SessionOptions so;
  EXPECT_THROW(parse_attn_variant("linformer"), InputError);
  // Linear variants are not causal: GPT-2 runs softmax only. Asked for by an option, it is the
  // caller's input (InputError); a config.json asking for it is the model's (UnsupportedError).
  for (const char* v : {"taylor", "sima", "shiftmax"}) {
    so.attention = parse_attn_variant(v);
    try {
      Session::open(kData + "/golden/gpt2_lm", so);
      ADD_FAILURE() << v << " accepted on a causal model";
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find("causal"), std::string::npos) << e.what();
    }
  }
  so.attention = AttnVariant::Softmax;
  EXPECT_NO_THROW(Session::open(kData + "/golden/gpt2_lm", so));
  so.attention.reset();
  EXPECT_THROW(parse_precision("int4"), InputError);
}
