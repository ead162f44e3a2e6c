// ARAP (docs/ARAP.md; the ISA and assembler are tested in test_sim_arap_isa.cpp): the
// simulator's semantics, cycle model and fault/race/deadlock checks on small programs, the
// bundled encoder-layer program (cycles, utilization, 4-vs-1 speedup), and the bit-exact check:
// digits-ViT layers on the ARAP against edgerun's q16 kernels composed as the engine runs them,
// and whole-model logits against the engine itself.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>

#include "core/error.h"
#include "edgerun/edgerun.h"
#include "io/file.h"
#include "kernels/cpu/kernels.h"
#include "kernels/cpu/q16.h"
#include "models/model.h"
#include "sim/arap_q16.h"
#include "sim/arap_vit.h"
#include "test_util.h"

using namespace edgerun;
using namespace edgerun::sim::arap;
namespace arapq = edgerun::sim::arapq;
namespace fs = std::filesystem;

using edgerun::test::error_of;

namespace {

const std::string kData = EDGERUN_TEST_DATA;
const std::string kRoot = kData + "/../..";
const std::string kModel = kRoot + "/models/vit-digits-softmax";


// ---------------------------------------------------------------------------------------------
// The simulator's own q16 arithmetic against the contract and against the kernels' functions

TEST(ArapQ16, AgreesWithTheContractAndTheKernels) {
  EXPECT_EQ(static_cast<int64_t>(arapq::round_shift(5, 1)), 3);    // 2.5 -> 3
  EXPECT_EQ(static_cast<int64_t>(arapq::round_shift(-5, 1)), -3);  // half away from zero
  EXPECT_EQ(static_cast<int64_t>(arapq::round_shift(-7, 2)), -2);
  EXPECT_EQ(static_cast<int64_t>(arapq::round_shift(3, -4)), 48);
  EXPECT_EQ(arapq::requant16(int64_t{1} << 40, 10), 32767);
  EXPECT_EQ(arapq::requant16(-(int64_t{1} << 40), 10), -32767);
  EXPECT_EQ(arapq::pow2_q15(0), 32768);
  EXPECT_EQ(arapq::pow2_q15(-32768), 16384);
  EXPECT_EQ(arapq::pow2_q15(-16384), 24576);  // (1 + 1/2) / 2
  EXPECT_EQ(arapq::pow2_q15(-40 * 32768), 0);
  EXPECT_EQ(arapq::log2_q15(32768), 0);
  EXPECT_EQ(arapq::log2_q15(49152), 16384);  // Mitchell: log2 1.5 ~ 0.5
  EXPECT_EQ(arapq::log2_q15(3 * 65536), 2 * 32768 + 16384);  // log2 6 ~ 2.5
  std::mt19937_64 rng(3);
  for (int i = 0; i < 20000; ++i) {
    const int64_t x = static_cast<int64_t>(rng() % (uint64_t{1} << 50)) - (int64_t{1} << 49);
    const int s = static_cast<int>(rng() % 70) - 8;
    ASSERT_EQ(static_cast<int64_t>(arapq::round_shift(x, s)), static_cast<int64_t>(q16::shift_round(x, s))) << x << " " << s;
    const double c = std::ldexp(1.0 + static_cast<double>(rng() % 1000000) / 1e6, static_cast<int>(rng() % 40) - 20);
    int64_t m = 0;
    int sh = 0;
    q16::fixed_multiplier(c, &m, &sh);
    const arapq::FixedMult f = arapq::fixed_mult(c);
    ASSERT_EQ(f.mult, m) << c;
    ASSERT_EQ(f.shift, sh) << c;
    const float v = static_cast<float>(static_cast<double>(static_cast<int64_t>(rng() % 2000001) - 1000000) / 997.0);
    const int e = static_cast<int>(rng() % 20) - 15;
    ASSERT_EQ(arapq::quantize16(v, e), q16::quantize(v, e)) << v << " " << e;
    ASSERT_EQ(arapq::exponent_for(std::fabs(v)), q16::exponent_for(std::fabs(v)));
  }
  for (float v : {0.5f, -0.5f, 1.5f, -2.5f, 40000.0f, -1e30f, NAN}) EXPECT_EQ(arapq::quantize16(v, 0), q16::quantize(v, 0));
}

// ---------------------------------------------------------------------------------------------
// Simulator semantics and faults on small programs

std::vector<int64_t> rnd(size_t n, int64_t lim, uint32_t seed) {
  std::mt19937 g(seed);
  std::uniform_int_distribution<int64_t> d(-lim, lim);
  std::vector<int64_t> v(n);
  for (auto& x : v) x = d(g);
  return v;
}

TEST(ArapSim, GemmSmaxVecComputeTheContract) {
  // C = A B^T + bias on i16, the same with B read transposed and a multiplier into i32, then
  // shiftmax of that and an elementwise add; all against plain loops of the contract.
  const int M = 5, N = 3, K = 7;
  const std::string text =
      ".tensor a i16 5 7\n.tensor b i16 3 7\n.tensor bt i16 7 3\n.tensor bias i64 1 3\n"
      ".tensor c i16 5 3\n.tensor u i32 5 3\n.tensor p i16 5 3\n.tensor s i16 5 3\n"
      "@0 SETA a, 7, 1\n@0 SETB b, 7, 1\n@0 SETD bias, 0, 1\n@0 SETC c, 3, 1\n@0 DIMS 5, 3, 7\n@0 SHIFT 9\n"
      "@0 GEMM i16, bias\n"
      "@0 SETB bt, 1, 3\n@0 SETC u, 3, 1\n@0 MULT 1518500250\n@0 SHIFT 33\n@0 GEMM i32, mul\n"
      "@0 SETA u, 3, 1\n@0 SETC p, 3, 1\n@0 DIMS 5, 3\n@0 SMAX\n"
      "@0 SETA c, 3, 1\n@0 SETD p, 3, 1\n@0 SETC s, 3, 1\n@0 SHIFT 2, 1, 0\n@0 VEC add\n";
  const Program prog = assemble(text, "sem.s");
  ArapMachine m(prog);
  const auto a = rnd(M * K, 32767, 1), b = rnd(N * K, 32767, 2), bias = rnd(N, int64_t{1} << 40, 3);
  std::vector<int64_t> bt(K * N);
  for (int n = 0; n < N; ++n)
    for (int k = 0; k < K; ++k) bt[k * N + n] = b[n * K + k];
  m.write_tensor("a", a);
  m.write_tensor("b", b);
  m.write_tensor("bt", bt);
  m.write_tensor("bias", bias);
  const ArapResult r = m.run();
  const auto c = m.read_tensor("c"), u = m.read_tensor("u"), p = m.read_tensor("p"), s = m.read_tensor("s");
  for (int i = 0; i < M; ++i) {
    int64_t mx = INT64_MIN, sum = 0;
    for (int j = 0; j < N; ++j) {
      int64_t acc = 0;
      for (int k = 0; k < K; ++k) acc += a[i * K + k] * b[j * K + k];
      EXPECT_EQ(c[i * N + j], q16::requant(static_cast<q16::int128>(acc) + bias[j], 9));
      EXPECT_EQ(u[i * N + j], static_cast<int64_t>(q16::mul_shift_round(acc, 1518500250, 33)));
      mx = std::max(mx, u[i * N + j]);
    }
    for (int j = 0; j < N; ++j) sum += arapq::pow2_q15(u[i * N + j] - mx);
    for (int j = 0; j < N; ++j) {
      EXPECT_EQ(p[i * N + j], arapq::sat16(arapq::pow2_q15(u[i * N + j] - mx - arapq::log2_q15(sum))));
      EXPECT_EQ(s[i * N + j], q16::requant(2 * c[i * N + j] + p[i * N + j], 2));
    }
  }
  // Cycles: one issue slot per instruction; runs as the cycle model says (docs/ARAP.md).
  EXPECT_EQ(r.runs.size(), 4u);
  EXPECT_EQ(r.runs[0].start, 7);  // instruction 6, issued at cycle 6, acts from cycle 7
  EXPECT_EQ(r.runs[0].end, 7 + kReconfigCycles + gemm_cycles(5, 3, 7));
  EXPECT_EQ(gemm_cycles(5, 3, 7), 3 * 2 * 9 + 2);
  EXPECT_EQ(r.runs[1].reconfig, 0);  // GEMM after GEMM on the same group: no reconfiguration
  EXPECT_EQ(r.runs[1].end - r.runs[1].start, gemm_cycles(5, 3, 7));
  EXPECT_EQ(r.runs[2].end - r.runs[2].start, kReconfigCycles + smax_cycles(5, 3));
  EXPECT_EQ(smax_cycles(5, 3), 2 * (9 + 2));
  EXPECT_EQ(r.runs[3].end - r.runs[3].start, kReconfigCycles + vec_cycles(5, 3));
  EXPECT_EQ(r.cycles, r.runs[3].end);
  EXPECT_EQ(r.macs, 2 * M * N * K);
}

TEST(ArapSim, RacesDeadlocksAndFaultsAreErrorsWithLines) {
  // 2 x 64 tensors: a VEC over one takes 34 cycles, long enough for another group to collide.
  const std::string decl = ".tensor a i16 2 64\n.tensor b i16 2 64\n.tensor c i16 2 64\n.tensor w i32 2 2\n";
  auto vec = [](int g, const char* from, const char* to) {
    const std::string p = "@" + std::to_string(g) + " ";
    return p + "SETA " + from + ", 64, 1\n" + p + "SETC " + to + ", 64, 1\n" + p + "DIMS 2, 64\n" + p + "VEC req\n";
  };
  std::vector<int64_t> a(128), b(128, 7);
  for (int i = 0; i < 128; ++i) a[static_cast<size_t>(i)] = i - 64;
  auto run = [&](const std::string& text, bool fill = true) {
    const Program p = assemble(text, "t.s");
    ArapMachine m(p);
    if (fill) m.write_tensor("a", a), m.write_tensor("b", b);
    return error_of<InputError>([&] { m.run(); });
  };
  // Group 1 reads c while group 0 is still writing it: a race naming both lines.
  std::string e = run(decl + vec(0, "a", "c") + vec(1, "c", "b"));
  EXPECT_NE(e.find("t.s:12: PEG1 VEC: operand A reads c[0, 0] at cycle"), std::string::npos) << e;
  EXPECT_NE(e.find("its write by t.s:8 (PEG0) ends at cycle"), std::string::npos) << e;
  EXPECT_NE(e.find("missing handshake"), std::string::npos) << e;
  // With the handshake it runs, and the data went through both groups.
  {
    const Program p = assemble(decl + vec(0, "a", "c") + "@0 SIG 5\n@1 WAIT 5, 1\n" + vec(1, "c", "b"), "t.s");
    ArapMachine m(p);
    m.write_tensor("a", a);
    const ArapResult r = m.run();
    EXPECT_EQ(m.read_tensor("b"), a);
    EXPECT_GT(r.streams[1].wait_cycles, 0);
    // SIG at the producer's end, WAIT one cycle later (handshake latency), then three
    // configuration instructions before the consumer's run.
    EXPECT_EQ(r.runs[1].start, r.runs[0].end + 1 + 1 + 3);
  }
  // Group 1 overwrites b while group 0 still reads it; group 1 writes c while group 0 does.
  e = run(decl + vec(0, "b", "c") + vec(1, "a", "b"));
  EXPECT_NE(e.find("t.s:12: PEG1 VEC: overwrites b[0, 0] at cycle"), std::string::npos) << e;
  EXPECT_NE(e.find("while PEG0 may read it until cycle"), std::string::npos) << e;
  e = run(decl + vec(0, "b", "c") + vec(1, "a", "c"));
  EXPECT_NE(e.find("t.s:12: PEG1 VEC: writes c[0, 0] at cycle"), std::string::npos) << e;
  EXPECT_NE(e.find("while t.s:8 (PEG0) writes it until cycle"), std::string::npos) << e;
  // Deadlock: a WAIT nobody answers.
  e = run(decl + "@1 WAIT 3, 2\n@0 SIG 3\n");
  EXPECT_NE(e.find("deadlock"), std::string::npos) << e;
  EXPECT_NE(e.find("PEG1 at t.s:5 (WAIT 3, 2: flag has 1 events)"), std::string::npos) << e;
  // Machine faults.
  EXPECT_NE(run(decl + vec(0, "a", "c"), false).find("t.s:8: PEG0 VEC: operand A reads a[0, 0], which nothing has written"),
            std::string::npos);
  const std::string ww = "@0 SETA a, 64, 1\n@0 SETB a, 64, 1\n@0 SETC w, 2, 1\n@0 DIMS 2, 2, 64\n";
  EXPECT_NE(run(decl + ww + "@0 GEMM i16\n").find("writes i16 results into w[0, 0] (i32)"), std::string::npos);
  EXPECT_NE(run(decl + ww + "@0 SETA w, 2, 1\n@0 GEMM i32\n").find("reads w[0, 0] (i32) but needs i16 words"),
            std::string::npos);
  EXPECT_NE(run(decl + ww + "@0 MULT 2147483647\n@0 SHIFT -20\n@0 GEMM i32, mul\n").find(
                "result overflows the i32 word w[0, 0]"),
            std::string::npos);
  EXPECT_NE(run(decl + "@0 SETA 65000, 1000, 1\n@0 SETC c, 64, 1\n@0 DIMS 2, 2\n@0 VEC req\n").find("past the end"),
            std::string::npos);
  EXPECT_NE(run(decl + "@0 SETA a, 64, 1\n@0 SETC c, 64, 1\n@0 VEC req\n").find("runs before any DIMS"), std::string::npos);
  EXPECT_NE(run(decl + "@0 SETC c, 64, 1\n@0 DIMS 2, 2\n@0 VEC req\n").find("operand A was never set"), std::string::npos);
  // Untrusted programs cannot make the simulator run long or allocate much.
  EXPECT_NE(run(decl + "@0 SETA a, 0, 0\n@0 SETB a, 0, 0\n@0 SETC c, 0, 0\n@0 DIMS 4095, 4095, 4095\n@0 GEMM i16\n")
                .find("t.s:9: PEG0 GEMM: a 4095 x 4095 x 4095 run touches more elements than the 65536-word"),
            std::string::npos);
  {
    const Program p = assemble(vit_layer_program({}), "gen.s");
    ArapMachine m(p, {4, 100000});
    m.zero_fill();
    EXPECT_NE(error_of<InputError>([&] { m.run(); }).find("does more than 100000 operations"), std::string::npos);
  }
  EXPECT_NE(run(decl + "@0 SETA w, 2, 1\n@0 SETC c, 64, 1\n@0 DIMS 2, 2\n@0 VEC req\n").find("nothing has written"),
            std::string::npos);  // i32 is a VEC operand type
  EXPECT_NE(run(decl + ".tensor z i64 2 2\n@0 SETA z, 2, 1\n@0 SETC c, 64, 1\n@0 DIMS 2, 2\n@0 VEC req\n")
                .find("reads z[0, 0] (i64) but needs i16 or i32 words"),
            std::string::npos);
  EXPECT_NE(run(decl + "@0 SETA 1000, 2, 1\n@0 SETC c, 64, 1\n@0 DIMS 2, 2\n@0 VEC req\n").find("which no .tensor declares"),
            std::string::npos);
  EXPECT_NE(run(decl + "@0 SETA a, 64, 1\n@0 SETC c, 64, 1\n@0 DIMS 2, 2\n@0 SMAX\n").find("reads a[0, 0] (i16) but needs i32 words"),
            std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// The bundled program

TEST(ArapProgram, BundledFileIsTheGeneratorsText) {
  const std::string file = read_text_file(kRoot + "/programs/arap/vit_digits_layer.s");
  EXPECT_EQ(file, vit_layer_program({17, 32, 4, 64})) << "regenerate: edgerun sim arap --emit-program";
  EXPECT_NE(error_of<UnsupportedError>([] { vit_layer_program({17, 32, 3, 64}); }).find("this layer has 3 heads"),
            std::string::npos);
  EXPECT_NE(error_of<UnsupportedError>([] { vit_layer_program({17, 30, 4, 64}); }).find("multiples of 4"),
            std::string::npos);
  EXPECT_NE(error_of<FormatError>([] { assemble(vit_layer_program({197, 256, 4, 1020}), "big.s"); })
                .find("words but only"),
            std::string::npos);  // 4 x 256^2 weight words alone pass the 64 Ki-word data memory
  EXPECT_NE(error_of<UnsupportedError>([] { vit_layer_program({197, 768, 4, 3072}); }).find("10-bit fields"),
            std::string::npos);
}

TEST(ArapProgram, CyclesUtilizationAndSpeedupOfTheDigitsLayer) {
  const Program prog = assemble_file(kRoot + "/programs/arap/vit_digits_layer.s");
  EXPECT_EQ(prog.code.size(), 252u);
  ArapResult r[2];
  for (int i = 0; i < 2; ++i) {
    ArapMachine m(prog, {i == 0 ? 4 : 1});
    m.zero_fill();
    r[i] = m.run();
  }
  // Pinned by the cycle model of docs/ARAP.md (a change of the model or the program moves them).
  EXPECT_EQ(r[0].cycles, 12371);
  EXPECT_EQ(r[1].cycles, 48688);
  EXPECT_EQ(r[0].macs, 17 * 32 * 32 * 4 + 4 * 17 * 17 * 8 * 2 + 17 * 64 * 32 * 2);
  EXPECT_EQ(r[0].macs, r[1].macs);
  EXPECT_EQ(r[0].busy_pe_cycles, r[1].busy_pe_cycles);
  EXPECT_NEAR(static_cast<double>(r[1].cycles) / static_cast<double>(r[0].cycles), 3.936, 0.001);
  EXPECT_NEAR(r[0].pe_util, 0.861, 0.001);
  EXPECT_NEAR(r[1].active_pe_util, 0.875, 0.001);
  for (int g = 0; g < 4; ++g) EXPECT_EQ(r[0].pegs[g].runs, 18);
  EXPECT_EQ(r[1].pegs.size(), 1u);
  EXPECT_EQ(r[1].pegs[0].runs, 72);
  // During attention (the first GEMM through the P V GEMM) the four groups overlap.
  int overlapping = 0;
  for (const RunRecord& a : r[0].runs)
    for (const RunRecord& b : r[0].runs)
      if (a.stream == 0 && b.stream == 3 && a.kind == RunKind::Smax && b.kind == RunKind::Smax)
        overlapping += a.start < b.end && b.start < a.end;
  EXPECT_EQ(overlapping, 1);
}

// ---------------------------------------------------------------------------------------------
// Bit-exact: the ARAP layer against edgerun's q16 kernels composed as the engine runs a layer

struct KernelLayer {  // run_op's sequence for one pre-LN ViT layer, every value kept
  std::vector<float> h1, q, k, v, ctx, o, x1, h2, f1, g, f2, y;
};

KernelLayer kernel_layer(const ModelGraph& mg, int64_t layer, const std::vector<float>& x0) {
  const std::string p = "encoder.layer." + std::to_string(layer);
  auto op = [&](const std::string& n) -> const Op& {
    for (const Op& o : mg.graph.ops)
      if (o.name == p + n) return o;
    throw std::runtime_error("no op " + p + n);
  };
  auto w = [&](const std::string& n) { return read_model_tensor(mg.info.dir, p + n); };
  const int64_t T = 17, D = mg.info.hidden;
  auto linear = [&](const std::string& name, const std::vector<float>& x, int64_t K, int64_t N) {
    const Op& o = op(name);
    EXPECT_TRUE(o.p.q16);
    const std::vector<float> wt = w(name + ".weight"), b = w(name + ".bias");
    std::vector<float> y(static_cast<size_t>(T * N));
    std::vector<char> scratch(q16::linear_scratch_bytes(T, K, N, false) + 64);
    q16::linear(x.data(), T, K, wt.data(), nullptr, N, b.data(), {o.p.q_x[0], o.p.q_w, o.p.q_out}, y.data(),
                scratch.data());
    return y;
  };
  auto ln = [&](const std::string& name, const std::vector<float>& x) {
    std::vector<float> y(x.size());
    kernels::layernorm(x.data(), T, D, w(name + ".weight").data(), w(name + ".bias").data(), op(name).p.eps, y.data());
    return y;
  };
  KernelLayer r;
  r.h1 = ln(".layernorm_before", x0);
  r.q = linear(".attention.attention.query", r.h1, D, D);
  r.k = linear(".attention.attention.key", r.h1, D, D);
  r.v = linear(".attention.attention.value", r.h1, D, D);
  const Op& att = op(".attention.attention.attention");
  EXPECT_EQ(att.p.attn, AttnVariant::Shiftmax);
  kernels::AttentionArgs a;
  a.B = 1, a.T = T, a.n_head = att.p.n_head, a.head_dim = att.p.head_dim;
  a.q = r.q.data(), a.k = r.k.data(), a.v = r.v.data();
  a.q_stride = a.k_stride = a.v_stride = D;
  r.ctx.resize(static_cast<size_t>(T * D));
  a.out = r.ctx.data();
  a.scale = att.p.scale;
  std::vector<char> scratch(q16::attention_scratch_bytes(AttnVariant::Shiftmax, T, a.head_dim) + 64);
  q16::attention(AttnVariant::Shiftmax, a, {att.p.q_x[0], att.p.q_x[1], att.p.q_x[2], att.p.q_mid, att.p.q_out},
                 scratch.data());
  r.o = linear(".attention.output.dense", r.ctx, D, D);
  r.x1.resize(r.o.size());
  kernels::add(r.o.data(), x0.data(), T * D, r.x1.data());
  r.h2 = ln(".layernorm_after", r.x1);
  const int64_t F = mg.graph.values[op(".intermediate.dense").output].cols;
  r.f1 = linear(".intermediate.dense", r.h2, D, F);
  r.g.resize(r.f1.size());
  kernels::activation(r.f1.data(), T * F, op(".intermediate.act").p.act, r.g.data());
  r.f2 = linear(".output.dense", r.g, F, D);
  r.y.resize(r.f2.size());
  kernels::add(r.f2.data(), r.x1.data(), T * D, r.y.data());
  return r;
}

// The int16 values of fp32 values on 2^e (exact, or the test fails).
std::vector<int64_t> ints(const std::vector<float>& x, int e) {
  std::vector<int64_t> k(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const double v = std::ldexp(static_cast<double>(x[i]), -e);
    EXPECT_EQ(v, std::round(v));
    k[i] = static_cast<int64_t>(v);
  }
  return k;
}
std::vector<int64_t> quantized(const std::vector<float>& x, int e) {
  std::vector<int64_t> k(x.size());
  for (size_t i = 0; i < x.size(); ++i) k[i] = q16::quantize(x[i], e);
  return k;
}
bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * 4) == 0;
}

Fp32Ops kernel_fp32(ActKind act) {
  Fp32Ops o;
  o.layernorm = [](const float* x, int64_t r, int64_t d, const float* g, const float* b, float eps, float* y) {
    kernels::layernorm(x, r, d, g, b, eps, y);
  };
  o.activation = [act](const float* x, int64_t n, float* y) { kernels::activation(x, n, act, y); };
  return o;
}

std::vector<float> embed(const std::string& dir, const HostArray& px, int64_t image) {
  const std::vector<float> w = read_model_tensor(dir, "embeddings.patch_embeddings.projection.weight"),
                           b = read_model_tensor(dir, "embeddings.patch_embeddings.projection.bias"),
                           cls = read_model_tensor(dir, "embeddings.cls_token"),
                           pos = read_model_tensor(dir, "embeddings.position_embeddings");
  std::vector<float> x(17 * 32), scratch(16 * 4);
  kernels::patch_embed(px.as<float>() + image * 64, 1, 1, 8, 8, 2, w.data(), b.data(), cls.data(), pos.data(), 32,
                       scratch.data(), x.data());
  return x;
}

TEST(ArapVit, LayersAreBitIdenticalToTheQ16Kernels) {
  BuildOptions bo;
  bo.attention = AttnVariant::Shiftmax;
  bo.precision = Precision::Q16;
  const ModelGraph mg = build_model(kModel, bo);
  const HostArray px = read_npy(kModel + "/samples/one_of_each.npy");
  for (int64_t image : {0, 3, 8}) {
    std::vector<float> x = embed(kModel, px, image);
    for (int64_t layer = 0; layer < mg.info.n_layer; ++layer) {
      const VitLayer l = load_vit_layer(kModel, layer);
      const KernelLayer ref = kernel_layer(mg, layer, x);
      const Program prog = assemble(read_text_file(kRoot + "/programs/arap/vit_digits_layer.s"), "vit_digits_layer.s",
                                    vit_layer_params(l), true);
      for (int pegs : {4, 1}) {
        ArapMachine m(prog, {pegs});
        m.set_fp32_ops(kernel_fp32(l.act));
        load_vit_layer_data(m, l, x);
        m.run();
        const VitLayerResult r = read_vit_layer_result(m);
        SCOPED_TRACE("image " + std::to_string(image) + " layer " + std::to_string(layer) + " groups " + std::to_string(pegs));
        EXPECT_EQ(r.xq, quantized(ref.h1, l.e_x1));
        EXPECT_EQ(r.q, ints(ref.q, l.e_q));
        EXPECT_EQ(r.k, ints(ref.k, l.e_k));
        EXPECT_EQ(r.v, ints(ref.v, l.e_v));
        EXPECT_EQ(r.ctx, ints(ref.ctx, l.e_ctx));
        EXPECT_EQ(r.o, ints(ref.o, l.e_o));
        EXPECT_EQ(r.x2q, quantized(ref.h2, l.e_x2));
        EXPECT_EQ(r.f1, ints(ref.f1, l.e_f1));
        EXPECT_EQ(r.x3q, quantized(ref.g, l.e_x3));
        EXPECT_EQ(r.f2, ints(ref.f2, l.e_f2));
        EXPECT_TRUE(same_bits(r.y, ref.y)) << "layer output differs";
        // Probabilities are real: each row of each head sums to about 1.0 (2^15).
        for (int64_t row = 0; row < 4 * 17; ++row) {
          int64_t s = 0;
          for (int64_t j = 0; j < 17; ++j) s += r.p[row * 17 + j];
          EXPECT_NEAR(static_cast<double>(s) / 32768.0, 1.0, 0.13);
        }
      }
      x = ref.y;
    }
  }
}

TEST(ArapVit, TheComparisonCanFail) {
  // One shift off by one, or the plain (non-engine) fp32 functions, and the output differs.
  BuildOptions bo;
  bo.attention = AttnVariant::Shiftmax;
  bo.precision = Precision::Q16;
  const ModelGraph mg = build_model(kModel, bo);
  const HostArray px = read_npy(kModel + "/samples/one_of_each.npy");
  const std::vector<float> x = embed(kModel, px, 0);
  const VitLayer l = load_vit_layer(kModel, 0);
  const KernelLayer ref = kernel_layer(mg, 0, x);
  auto params = vit_layer_params(l);
  params["SH_PV"] += 1;
  const Program prog = assemble(vit_layer_program(l.shape), "gen.s", params, true);
  ArapMachine m(prog);
  m.set_fp32_ops(kernel_fp32(l.act));
  load_vit_layer_data(m, l, x);
  m.run();
  EXPECT_FALSE(same_bits(read_vit_layer_result(m).y, ref.y));
  EXPECT_NE(read_vit_layer_result(m).ctx, ints(ref.ctx, l.e_ctx));
}

class ArapCli : public edgerun::test::TempDirTest {};

TEST_F(ArapCli, WholeModelLogitsEqualTheEngineAndErrorsAreClear) {
  using edgerun::test::cli_failed;
  using edgerun::test::cli_ok;
  using edgerun::test::run_edgerun;
  // The CLI runs every layer on the ARAP and does the host's part with the kernels; its logits
  // must equal, bit for bit, what the engine's q16 shiftmax run computes here for that image.
  const HostArray all = read_npy(kModel + "/samples/one_of_each.npy");
  SessionOptions so;
  so.threads = 1;
  so.precision = Precision::Q16;
  so.attention = AttnVariant::Shiftmax;
  auto engine = Session::open(kModel, so);
  const int64_t per = all.numel() / all.shape[0];
  for (int image : {0, 5, 9}) {
    const auto r = run_edgerun("sim arap --model " + kModel + " --image " + std::to_string(image) + " --json");
    ASSERT_TRUE(cli_ok(r));
    const nlohmann::json j = nlohmann::json::parse(r.out);
    Inputs in;
    in.pixel_values = HostArray(DType::F32, {1, all.shape[1], all.shape[2], all.shape[3]});
    std::memcpy(in.pixel_values->bytes.data(), all.bytes.data() + image * per * 4, static_cast<size_t>(per) * 4);
    const HostArray want = engine->run(in);
    const std::vector<float> got = j["model"]["logits"].get<std::vector<float>>();
    ASSERT_EQ(static_cast<int64_t>(got.size()), want.numel());
    EXPECT_EQ(std::memcmp(got.data(), want.bytes.data(), want.bytes.size()), 0) << "image " << image;
    EXPECT_TRUE(j["model"]["one_group_equals_four_groups"].get<bool>());
    EXPECT_EQ(j["model"]["predicted"].get<int>(), image);  // one_of_each.npy holds digit d at index d
    EXPECT_EQ(j["four_groups"]["cycles"].get<int64_t>(), 12371);
    EXPECT_EQ(j["one_group"]["cycles"].get<int64_t>(), 48688);
    EXPECT_EQ(j["model"]["layers"].size(), 2u);
  }
  auto r = run_edgerun("sim arap");
  ASSERT_TRUE(cli_ok(r));
  EXPECT_NE(r.out.find("speedup of four groups over one: 3.936x"), std::string::npos) << r.out;
  r = run_edgerun("sim arap --isa");
  ASSERT_TRUE(cli_ok(r));
  EXPECT_EQ(r.out, isa_markdown());
  EXPECT_TRUE(cli_failed(run_edgerun("sim arap --program " + write_file("bad.s", "@0 NOP\n\n@0 SETA 1, 2, 3000\n")), 1,
                         "bad.s:3: SETA: cs = 3000 outside [0, 1023]"));
  EXPECT_TRUE(cli_failed(run_edgerun("sim arap --program " + write_file("race.s", ".tensor a i16 1 64\n.tensor b i16 1 64\n"
                                                                          "@0 SETA a, 64, 1\n@0 SETC b, 64, 1\n@0 DIMS 1, 64\n@0 VEC req\n"
                                                                          "@1 SETA b, 64, 1\n@1 SETC a, 64, 1\n@1 DIMS 1, 64\n@1 VEC req\n")),
                         3, "race.s:10: PEG1 VEC"));
  // A program without the layer interface cannot take a model's data.
  EXPECT_TRUE(cli_failed(run_edgerun("sim arap --model " + kModel + " --program " +
                                     write_file("small.s", ".tensor a i16 1 4\n@0 NOP\n")),
                         1, "declares no .param"));
  EXPECT_TRUE(cli_failed(run_edgerun("sim arap --model " + kModel + " --image 10"), 3, "--image 10 outside [0, 10)"));
  EXPECT_TRUE(cli_failed(run_edgerun("sim arap --model " + kData + "/sim/vit_digits_shape"), 3,  // no calibration sidecar
                         "edgerun_q16.json"));
}

}  // namespace
