// q16 (DESIGN.md "Numerics", docs/q16.md): the rounding rule, every int16 GEMM implementation
// bit for bit against the plain reference on odd shapes and extreme values, q16 Linear within
// its analytic error bound, q16 attention within asserted bounds of fp32 and bit-exact across
// GEMM implementations, calibration, the sidecar's strict reading, whole models against fp32,
// `convert` (q16 and bf16 models equal to the precision flags on the fp32 model, half the
// streamed bytes), and the errors.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "core/error.h"
#include "edgerun/edgerun.h"
#include "edgerun/preprocess.h"
#include "io/file.h"
#include "kernels/cpu/kernels.h"
#include "kernels/cpu/q16.h"
#include "models/model.h"
#include "models/quantize.h"
#include "runtime/convert.h"
#include "test_util.h"

using namespace edgerun;
namespace fs = std::filesystem;

namespace {
const std::string kData = EDGERUN_TEST_DATA;

std::vector<q16::GemmImpl> available_impls() {
  std::vector<q16::GemmImpl> v;
  for (auto g : {q16::GemmImpl::Plain, q16::GemmImpl::Avx2, q16::GemmImpl::Avx512Vnni})
    if (q16::gemm_impl_available(g)) v.push_back(g);
  return v;
}

// Restores automatic GEMM dispatch when a test that forces one ends.
struct ImplGuard {
  ~ImplGuard() { q16::set_gemm_impl(q16::GemmImpl::Auto); }
};

std::vector<int16_t> rnd_i16(size_t n, uint32_t seed, int32_t lim) {
  std::mt19937 g(seed);
  std::uniform_int_distribution<int32_t> d(-lim, lim);
  std::vector<int16_t> v(n);
  for (auto& x : v) x = static_cast<int16_t>(d(g));
  return v;
}
std::vector<float> rnd_f(size_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 g(seed);
  std::normal_distribution<float> d(0.0f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = d(g);
  return v;
}
}  // namespace

TEST(Q16, RoundingRuleIsHalfAwayFromZeroThenSaturate) {
  EXPECT_EQ(q16::shift_round(3, 1), 2);    // 1.5
  EXPECT_EQ(q16::shift_round(-3, 1), -2);  // -1.5
  EXPECT_EQ(q16::shift_round(5, 2), 1);    // 1.25
  EXPECT_EQ(q16::shift_round(6, 2), 2);    // 1.5
  EXPECT_EQ(q16::shift_round(-6, 2), -2);
  EXPECT_EQ(q16::shift_round(-5, 2), -1);
  EXPECT_EQ(q16::shift_round(7, -3), 56);  // exact left shift
  EXPECT_EQ(q16::shift_round(1, 127), 0);
  EXPECT_EQ(q16::requant(int64_t{1} << 40, 0), 32767);
  EXPECT_EQ(q16::requant(-(int64_t{1} << 40), 0), -32767);  // never -32768
  EXPECT_EQ(q16::requant(65533, 1), 32767);                  // 32766.5 -> 32767
  EXPECT_EQ(q16::quantize(1.5f, 0), 2);
  EXPECT_EQ(q16::quantize(-2.5f, 0), -3);
  EXPECT_EQ(q16::quantize(0.375f, -3), 3);
  EXPECT_EQ(q16::quantize(1e30f, -4), 32767);
  EXPECT_EQ(q16::quantize(-INFINITY, -4), -32767);
  EXPECT_EQ(q16::quantize(NAN, -4), 0);
  EXPECT_EQ(q16::div_round(7, 2), 4);
  EXPECT_EQ(q16::div_round(-7, 2), -4);
  EXPECT_EQ(q16::div_round(5, 3), 2);
  EXPECT_EQ(q16::div_round(-5, 3), -2);
  EXPECT_EQ(q16::div_round(4, 3), 1);
  EXPECT_EQ(q16::mul_shift_round(3, 3, 2), 2);  // 9 / 4 = 2.25
  EXPECT_EQ(q16::exponent_for(1.0), -14);       // 2^14 <= 32767 < 2^15
  EXPECT_EQ(q16::exponent_for(32767.0), 0);
  EXPECT_EQ(q16::exponent_for(32767.5), 1);
  EXPECT_EQ(q16::exponent_for(0.0), -15);
  for (double c : {1.0, 0.5, 0.3535533845424652, 1e-5, 123.456}) {
    int64_t m = 0;
    int s = 0;
    q16::fixed_multiplier(c, &m, &s);
    EXPECT_GE(m, int64_t{1} << 30);
    EXPECT_LT(m, int64_t{1} << 31);
    EXPECT_NEAR(std::ldexp(static_cast<double>(m), -s) / c, 1.0, 1e-9) << c;
  }
}

TEST(Q16, EveryGemmImplementationMatchesThePlainReferenceBitForBit) {
  const auto impls = available_impls();
  std::printf("q16 GEMM implementations on this CPU:");
  for (auto g : impls) std::printf(" %s", q16::gemm_impl_name(g));
  std::printf(" (auto: %s)\n", q16::gemm_impl_name(q16::gemm_impl_active()));
  struct Shape3 {
    int64_t M, N, K, pad;
  };
  const Shape3 shapes[] = {{1, 1, 1, 0},   {3, 5, 7, 0},   {17, 33, 31, 3}, {5, 4, 65, 1},  {2, 3, 100, 0},
                           {17, 17, 8, 0}, {1, 7, 511, 5}, {9, 1, 33, 0},   {4, 6, 16, 0},  {6, 9, 32, 2},
                           {3, 3, 0, 0},   {13, 11, 1000, 7}};
  int compared = 0;
  for (const auto& s : shapes)
    for (int32_t lim : {1, 181, 32767}) {  // 32767 everywhere: the int32 lanes widen every step
      const int64_t lda = s.K + s.pad, ldb = s.K + 2 * s.pad;
      auto A = rnd_i16(static_cast<size_t>(s.M * lda), static_cast<uint32_t>(s.M * 7 + lim), lim);
      auto B = rnd_i16(static_cast<size_t>(s.N * ldb), static_cast<uint32_t>(s.N * 13 + lim), lim);
      if (lim == 32767 && s.K > 0) {  // worst case: every product +-32767^2 with one sign
        for (int64_t i = 0; i < s.M; ++i) A[i * lda] = 32767, A[i * lda + s.K - 1] = -32767;
        for (int64_t j = 0; j < s.N; ++j) B[j * ldb] = 32767, B[j * ldb + s.K - 1] = -32767;
      }
      std::vector<int64_t> want(static_cast<size_t>(s.M * s.N)), got(want.size());
      q16::gemm_ref(A.data(), lda, B.data(), ldb, s.M, s.N, s.K, want.data(), s.N);
      // The reference itself against a direct sum in long double.
      for (int64_t i = 0; i < s.M; ++i)
        for (int64_t j = 0; j < s.N; ++j) {
          long double acc = 0;
          for (int64_t k = 0; k < s.K; ++k) acc += static_cast<long double>(A[i * lda + k]) * B[j * ldb + k];
          ASSERT_EQ(static_cast<long double>(want[i * s.N + j]), acc);
        }
      for (auto g : impls) {
        std::fill(got.begin(), got.end(), int64_t{-1});
        q16::gemm_with(g, A.data(), lda, B.data(), ldb, s.M, s.N, s.K, got.data(), s.N);
        ASSERT_EQ(got, want) << q16::gemm_impl_name(g) << " " << s.M << "x" << s.N << "x" << s.K << " lim " << lim;
        ++compared;
      }
    }
  EXPECT_GE(compared, 36);
  // All 32767: a sum of K = 4096 products reaches 2^42, far past int32.
  const int64_t K = 4096;
  std::vector<int16_t> A(K, 32767), B(K, -32767);
  for (auto g : impls) {
    int64_t c = 0;
    q16::gemm_with(g, A.data(), K, B.data(), K, 1, 1, K, &c, 1);
    EXPECT_EQ(c, -K * 32767LL * 32767LL) << q16::gemm_impl_name(g);
  }
}

TEST(Q16, LinearWithinItsAnalyticBoundOfFp32) {
  // |y_q - y| <= 2^(e_w-1) sum|x| + 2^(e_x-1) sum|w| + K 2^(e_x+e_w-2) + 2^(e_x+e_w-1) + 2^(e_y-1)
  // (input, weight, cross and bias rounding, then the final requant), per element.
  for (auto [M, K, N] : {std::tuple{1, 1, 1}, {7, 13, 5}, {17, 32, 31}, {3, 64, 129}}) {
    auto x = rnd_f(M * K, 1, 2.0f), w = rnd_f(N * K, 2, 0.1f), b = rnd_f(N, 3, 0.5f);
    std::vector<float> y(M * N), yq(M * N);
    kernels::linear_ref(x.data(), M, K, w.data(), N, false, b.data(), y.data());
    q16::LinearExp e{q16::exponent_for(q16::max_abs(x.data(), M * K)),
                     q16::exponent_for(q16::max_abs(w.data(), N * K)),
                     q16::exponent_for(q16::max_abs(y.data(), M * N))};
    std::vector<char> scratch(q16::linear_scratch_bytes(M, K, N, false));
    q16::linear(x.data(), M, K, w.data(), nullptr, N, b.data(), e, yq.data(), scratch.data());
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) {
        double sx = 0, sw = 0;
        for (int64_t k = 0; k < K; ++k) sx += std::fabs(x[i * K + k]), sw += std::fabs(w[j * K + k]);
        const double bound = std::ldexp(sx, e.w - 1) + std::ldexp(sw, e.x - 1) + K * std::ldexp(1.0, e.x + e.w - 2) +
                             std::ldexp(1.0, e.x + e.w - 1) + std::ldexp(1.0, e.y - 1) + 1e-6 * std::fabs(y[i * N + j]);
        EXPECT_LE(edgerun::test::max_abs_err(&yq[i * N + j], &y[i * N + j], 1), bound) << M << "x" << K << "x" << N;
        // On the output grid exactly.
        EXPECT_EQ(std::ldexp(yq[i * N + j], -e.y), std::round(std::ldexp(yq[i * N + j], -e.y)));
      }
  }
}

namespace {
struct AttnCase {
  int64_t B, T, H, hd;
  bool mask;
};

// Runs q16 attention for variant v with exponents calibrated on the inputs themselves; returns
// the max error against the fp32 kernel relative to the fp32 output's max |.|.
double q16_attention_error(AttnVariant v, const AttnCase& c, q16::GemmImpl impl, std::vector<float>* out_q) {
  const int64_t D = c.H * c.hd;
  auto q = rnd_f(c.B * c.T * D, 11, 1.5f), k = rnd_f(c.B * c.T * D, 12), vv = rnd_f(c.B * c.T * D, 13);
  std::vector<int64_t> mask(c.B * c.T, 1);
  if (c.mask)
    for (int64_t b = 0; b < c.B; ++b)
      for (int64_t t = c.T - b; t < c.T; ++t) mask[b * c.T + t] = 0;
  kernels::AttentionArgs a;
  a.B = c.B, a.T = c.T, a.n_head = c.H, a.head_dim = c.hd, a.scale = 1.0f / std::sqrt(float(c.hd));
  a.q = q.data(), a.k = k.data(), a.v = vv.data(), a.q_stride = a.k_stride = a.v_stride = D;
  if (c.mask) a.key_mask = mask.data();
  std::vector<float> fs(static_cast<size_t>(kernels::attention_scratch_floats(v, c.T, c.T, c.hd)));
  std::vector<float> out(c.B * c.T * D);
  a.scratch = fs.data();
  a.out = out.data();
  kernels::attention(v, a);
  q16::AttentionExp e;
  e.q = q16::exponent_for(q16::max_abs(q.data(), q.size()));
  e.k = q16::exponent_for(q16::max_abs(k.data(), k.size()));
  e.v = q16::exponent_for(q16::max_abs(vv.data(), vv.size()));
  e.mid = q16::exponent_for(q16::attention_mid_amax(v, a));
  e.out = q16::exponent_for(q16::max_abs(out.data(), out.size()));
  std::vector<char> qs(q16::attention_scratch_bytes(v, c.T, c.hd));
  out_q->assign(out.size(), NAN);
  a.out = out_q->data();
  q16::set_gemm_impl(impl);
  q16::attention(v, a, e, qs.data());
  return edgerun::test::max_abs_err(out_q->data(), out.data(), out.size()) / q16::max_abs(out.data(), out.size());
}
}  // namespace

TEST(Q16, AttentionWithinBoundsOfFp32AndBitExactAcrossGemms) {
  ImplGuard guard;
  // Bounds on max |q16 - fp32| / max |fp32|: 16-bit operands carry ~4.5 significant digits; the
  // probabilities sit on 2^-15 and every stage rounds once.
  // Measured: 0.8e-4 to 3e-4 on these shapes.
  const std::pair<AttnVariant, double> bounds[] = {{AttnVariant::Softmax, 1e-3},
                                                   {AttnVariant::Shiftmax, 1e-3},
                                                   {AttnVariant::Taylor, 1e-3},
                                                   {AttnVariant::Sima, 1e-3}};
  for (const AttnCase& c : {AttnCase{2, 17, 4, 8, false}, AttnCase{3, 9, 2, 5, true}, AttnCase{1, 31, 3, 13, false}}) {
    for (auto [v, bound] : bounds) {
      std::vector<float> first, again;
      const double err = q16_attention_error(v, c, q16::GemmImpl::Plain, &first);
      EXPECT_LE(err, bound) << to_string(v) << " T=" << c.T;
      for (auto g : available_impls()) {
        q16_attention_error(v, c, g, &again);
        ASSERT_EQ(std::memcmp(first.data(), again.data(), first.size() * 4), 0)
            << to_string(v) << " with " << q16::gemm_impl_name(g);
      }
    }
  }
}

// ---- whole models, calibration, sidecar, convert ----

namespace {
using edgerun::test::TempDir;

Inputs model_inputs(const std::string& dir, bool text) {
  Inputs in;
  HostArray x = read_npy(dir + "/input.npy");
  if (!text) {
    in.pixel_values = x;
    return in;
  }
  in.input_ids = x;
  in.attention_mask = read_npy(dir + "/attention_mask.npy");
  return in;
}

HostArray run(const std::string& dir, const std::string& attention, const std::string& precision, const Inputs& in,
              const std::string& executor = "resident") {
  SessionOptions so;
  so.threads = 1;
  so.attention = parse_attn_variant(attention);
  if (!precision.empty()) so.precision = parse_precision(precision);  // empty: what the folder holds
  so.executor = parse_executor(executor);
  if (executor != "resident") so.budget_fraction = 2.0;
  auto s = Session::open(dir, so);
  if (!precision.empty()) EXPECT_EQ(std::string(to_string(s->summary().precision)), precision);
  return s->run(in);
}

// A copy of a golden model calibrated on its own test input.
std::string calibrated_copy(const TempDir& t, const std::string& golden, bool text) {
  const std::string dir = t.file("model");
  fs::copy(kData + "/golden/" + golden, dir);
  HostArray x = read_npy(dir + "/input.npy"), m;
  if (text) m = read_npy(dir + "/attention_mask.npy");
  const Q16Sidecar sc = calibrate_q16(dir, x, text ? &m : nullptr, 1, "input.npy");
  write_text_file_atomic(dir + "/" + kQ16SidecarName, sc.to_json());
  return dir;
}

double max_diff(const HostArray& a, const HostArray& b) {
  double m = 0;
  m = a.numel() == b.numel() ? edgerun::test::max_abs_err(a.as<float>(), b.as<float>(), a.numel()) : INFINITY;
  return m;
}
}  // namespace

TEST(Q16, WholeModelsCloseToFp32AndIdenticalAcrossExecutorsAndConversion) {
  for (auto [golden, text] : {std::pair{"vit_cls", false}, {"bert_cls", true}}) {
    TempDir t(golden);
    const std::string dir = calibrated_copy(t, golden, text);
    const Inputs in = model_inputs(dir, text);
    const std::string conv = t.file("q16");
    const ConvertReport cr = convert_model(dir, conv, "q16");
    EXPECT_GT(cr.tensors_converted, 0);
    EXPECT_LT(static_cast<double>(cr.streamed_bytes_out), 0.65 * static_cast<double>(cr.streamed_bytes_in)) << golden;
    for (const char* v : {"softmax", "taylor", "sima", "shiftmax"}) {
      const HostArray f = run(dir, v, "fp32", in), q = run(dir, v, "q16", in);
      double scale = 0;
      for (int64_t i = 0; i < f.numel(); ++i) scale = std::max(scale, std::fabs(double(f.as<float>()[i])));
      EXPECT_LE(max_diff(f, q), 0.005 * scale) << golden << " " << v;  // within 0.5% of the range
      EXPECT_NE(f.bytes, q.bytes) << golden << " " << v;             // and really computed in q16
      for (const char* ex : {"swap", "pipeload"}) EXPECT_EQ(run(dir, v, "q16", in, ex).bytes, q.bytes) << ex;
      // The converted model (int16 weights bound in place) computes exactly the same numbers.
      EXPECT_EQ(run(conv, v, "q16", in).bytes, q.bytes) << golden << " " << v;
    }
    EXPECT_THROW(run(conv, "softmax", "fp32", in), InputError);  // int16 weights need q16
    // The converted folder says it holds q16: with no --precision it runs q16.
    EXPECT_EQ(run(conv, "softmax", "", in).bytes, run(conv, "softmax", "q16", in).bytes) << golden;
  }
}

TEST(Q16, Bf16ConversionEqualsThePrecisionFlag) {
  TempDir t("bf16");
  const std::string dir = kData + "/golden/bert_cls";
  const Inputs in = model_inputs(dir, true);
  const ConvertReport cr = convert_model(dir, t.file("bf16"), "bf16");
  EXPECT_EQ(cr.bytes_out * 2, cr.bytes_in);  // every tensor of this model is F32
  EXPECT_LE(cr.streamed_bytes_out * 2, cr.streamed_bytes_in + 64);
  const HostArray flag = run(dir, "softmax", "bf16", in), file = run(t.file("bf16"), "softmax", "fp32", in);
  EXPECT_EQ(flag.bytes, file.bytes);
  EXPECT_EQ(run(dir, "softmax", "bf16", in, "swap").bytes, flag.bytes);
  EXPECT_NE(flag.bytes, run(dir, "softmax", "fp32", in).bytes);
  EXPECT_LT(max_diff(flag, run(dir, "softmax", "fp32", in)), 0.05);
}

TEST(Q16, SidecarIsReadStrictly) {
  TempDir t("sidecar");
  const std::string dir = calibrated_copy(t, "vit_cls", false);
  const std::string path = dir + "/" + kQ16SidecarName;
  const Q16Sidecar good = Q16Sidecar::load(path);
  EXPECT_EQ(good.ops.size(), 4u);
  EXPECT_EQ(good.samples, 2);
  EXPECT_EQ(Q16Sidecar::load(path).to_json(), good.to_json());  // round trip
  const std::string text = read_text_file(path);
  auto write = [&](const std::string& s) { std::ofstream(path, std::ios::trunc) << s; };
  auto bad = [&](const std::string& s, const char* what) {
    write(s);
    try {
      Q16Sidecar::load(path);
      ADD_FAILURE() << "accepted: " << what;
    } catch (const FormatError& e) {
      EXPECT_NE(std::string(e.what()).find(kQ16SidecarName), std::string::npos) << e.what();
    }
  };
  bad("[]", "not an object");
  bad("{\"format\": \"edgerun-q16\", \"version\": 2, \"weights\": {}, \"ops\": {}}", "version");
  bad("{\"format\": \"x\", \"version\": 1, \"weights\": {}, \"ops\": {}}", "format");
  bad("{\"format\": \"edgerun-q16\", \"version\": 1, \"weights\": {\"w\": 99}, \"ops\": {}}", "exponent range");
  bad("{\"format\": \"edgerun-q16\", \"version\": 1, \"weights\": {\"w\": 1.5}, \"ops\": {}}", "fractional");
  bad("{\"format\": \"edgerun-q16\", \"version\": 1, \"weights\": {}, \"ops\": {\"fast\": {}}}", "variant");
  bad("{\"format\": \"edgerun-q16\", \"version\": 1, \"weights\": {}, \"ops\": {\"taylor\": {\"a\": {\"in\": 1}}}}",
      "missing mid/out");
  bad("{\"format\": \"edgerun-q16\", \"version\": 1, \"weights\": {}, \"weights\": {}, \"ops\": {}}", "duplicate");
  bad(text.substr(0, text.size() / 2), "truncated");
  // Well-formed but without this model's ops or a variant: a clear error at open.
  write("{\"format\": \"edgerun-q16\", \"version\": 1, \"weights\": {}, \"ops\": {\"taylor\": {}}}");
  SessionOptions so;
  so.precision = Precision::Q16;
  EXPECT_THROW(Session::open(dir, so), InputError);  // no softmax calibration
  so.attention = AttnVariant::Taylor;
  EXPECT_THROW(Session::open(dir, so), FormatError);  // no exponents for its ops
}

TEST(Q16, ClearErrors) {
  SessionOptions so;
  so.precision = Precision::Q16;
  try {
    Session::open(kData + "/golden/vit_cls", so);  // no sidecar
    ADD_FAILURE() << "q16 without a sidecar";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(kQ16SidecarName), std::string::npos) << e.what();
  }
  EXPECT_THROW(Session::open(kData + "/golden/gpt2_lm", so), InputError);  // family: the option's fault
  EXPECT_THROW(parse_precision("fp8"), InputError);
  TempDir t("errors");
  HostArray ids = read_npy(kData + "/golden/gpt2_lm/input.npy");
  EXPECT_THROW(calibrate_q16(kData + "/golden/gpt2_lm", ids, nullptr, 1, "x"), UnsupportedError);
  EXPECT_THROW(convert_model(kData + "/golden/vit_cls", t.file("out"), "q16"), InputError);  // no sidecar
  EXPECT_THROW(convert_model(kData + "/golden/vit_cls", t.file("out"), "int8"), InputError);
  fs::create_directories(t.file("full"));
  std::ofstream(t.file("full/x")) << "x";
  EXPECT_THROW(convert_model(kData + "/golden/vit_cls", t.file("full"), "bf16"), InputError);  // never overwrites
}

// ---- the command line ----

using edgerun::test::cli_failed;
using edgerun::test::cli_ok;
using edgerun::test::run_edgerun;

TEST(Q16Cli, CalibrateConvertAndRun) {
  TempDir t("cli");
  const std::string dir = t.file("model"), golden = kData + "/golden/vit_cls";
  fs::copy(golden, dir);
  auto r = run_edgerun("convert " + dir + " --sidecar-only --calib " + dir + "/input.npy");
  ASSERT_TRUE(cli_ok(r));
  EXPECT_TRUE(fs::exists(dir + "/" + kQ16SidecarName));
  r = run_edgerun("convert " + dir + " --dtype q16 --out " + t.file("q16") + " --json");
  ASSERT_TRUE(cli_ok(r));
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_LT(j["streamed_ratio"].get<double>(), 0.65);
  for (const std::string& m : {dir, t.file("q16")}) {
    r = run_edgerun("run " + m + " --attention shiftmax --precision q16 --input " + dir + "/input.npy --output-npy " +
                    t.file("y.npy") + " --json --threads 1");
    ASSERT_TRUE(cli_ok(r));
    const auto out = nlohmann::json::parse(r.out);
    EXPECT_EQ(out["precision"], "q16");
    EXPECT_EQ(out["attention"], "shiftmax");
  }
  r = run_edgerun("convert " + dir + " --dtype bf16 --out " + t.file("bf16"));
  EXPECT_TRUE(cli_ok(r));
  const std::string before = edgerun::test::read_bytes(t.file("bf16") + "/model.safetensors");
  r = run_edgerun("convert " + dir + " --dtype bf16 --out " + t.file("bf16"));  // exists now: refused
  EXPECT_TRUE(cli_failed(r, 3, "not empty"));
  EXPECT_EQ(edgerun::test::read_bytes(t.file("bf16") + "/model.safetensors"), before) << "a refused convert wrote";
}

TEST(Q16Cli, BadVariantsAndPrecisionsAreOneLineErrors) {
  TempDir t("cli_bad");
  const std::string vit = kData + "/golden/vit_cls", gpt2 = kData + "/golden/gpt2_lm", out = t.file("y.npy");
  const std::string x = " --input " + vit + "/input.npy -o " + out;
  EXPECT_TRUE(cli_failed(run_edgerun("run " + vit + x + " --attention performer"), 3,
                         "unknown attention variant \"performer\"", {out}));
  EXPECT_TRUE(cli_failed(run_edgerun("run " + vit + x + " --precision int8"), 3, "unknown precision \"int8\"", {out}));
  EXPECT_TRUE(cli_failed(run_edgerun("run " + vit + x + " --precision q16"), 3, kQ16SidecarName, {out}));
  EXPECT_TRUE(cli_failed(run_edgerun("run " + gpt2 + " --ids 1,2,3 --attention taylor -o " + out), 3, "causal", {out}));
  EXPECT_TRUE(cli_failed(run_edgerun("run " + gpt2 + " --ids 1,2,3 --precision q16 -o " + out), 3, "vit and bert", {out}));
  EXPECT_TRUE(cli_failed(run_edgerun("convert " + vit + " --dtype q16 --out " + t.file("q16")), 3, kQ16SidecarName,
                         {t.file("q16")}));
}

TEST(Q16, BundledDigitsModelsKeepTheirAccuracyInQ16) {
  // q16 must not cost the bundled models accuracy: within one test image (0.28 points) of fp32.
  // (Issue 4's goal, Taylor-trained q16 within one point of softmax fp32, is about training seeds
  // and is measured over five of them in docs/BENCHMARKS.md; the seed-0 pair alone differs by
  // four images, 96.67 vs 97.78.) Both folders ship their q16 sidecar.
  const std::string models = kData + "/../../models";
  if (!fs::exists(models + "/vit-digits-taylor/config.json")) GTEST_SKIP() << "no bundled models";
  auto accuracy = [&](const std::string& name, const std::string& precision) {
    const std::string dir = models + "/" + name;
    Inputs in;
    in.pixel_values = read_npy(dir + "/test_x.npy");
    const HostArray y = read_npy(dir + "/test_y.npy");
    SessionOptions so;
    so.threads = 2;
    so.precision = parse_precision(precision);
    auto s = Session::open(dir, so);  // each runs the variant its config names
    const HostArray logits = s->run(in);
    int64_t correct = 0;
    for (int64_t i = 0; i < y.numel(); ++i) {
      const float* r = logits.as<float>() + i * 10;
      correct += std::max_element(r, r + 10) - r == y.as<int64_t>()[i];
    }
    return 100.0 * static_cast<double>(correct) / static_cast<double>(y.numel());
  };
  const double soft_fp32 = accuracy("vit-digits-softmax", "fp32"), soft_q16 = accuracy("vit-digits-softmax", "q16");
  const double tay_fp32 = accuracy("vit-digits-taylor", "fp32"), tay_q16 = accuracy("vit-digits-taylor", "q16");
  EXPECT_NEAR(soft_fp32, 97.78, 0.3);  // metrics.json (PyTorch): 352 / 360, one image of slack
  EXPECT_NEAR(tay_fp32, 96.67, 0.3);   // 348 / 360
  EXPECT_NEAR(soft_q16, soft_fp32, 0.3);
  EXPECT_NEAR(tay_q16, tay_fp32, 0.3);
}
