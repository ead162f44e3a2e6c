// The op harness (in the spirit of llama.cpp's test-backend-ops): every row of cases() is one op
// on one odd shape and precision; each registered backend that claims it (graph/backend.h)
// runs it through its OpCall, and the result is held against the op's plain reference (the
// kernels' *_ref functions, or the definition written out in op_fixture.cpp for ops that are
// copies and sums). One line per case: op, backend, precision, shape, error and the op's
// threshold. Error: max |got - want| / max |want| (0 when both are 0; NaN where the reference
// has none fails). EDGERUN_OPS_PERF=1 also prints each case's GFLOP/s (op_flops over the median
// of a few runs); nothing asserts on time.
// Adding a case: a row in cases(). Adding an op kind: a build_* and a branch of reference() in
// op_fixture.cpp, and its rows (OpsTable.EveryOpKindHasARow fails until it has them). The N-D
// kinds (ONNX graphs) are in test_nd_ops.cpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "graph/backend.h"
#include "graph/op_schema.h"
#include "op_fixture.h"
#include "runtime/backends.h"
#include "test_util.h"

using namespace edgerun;
using namespace edgerun::op_test;

namespace {

// The error an op may show against its reference. fp32 and bf16 (the same arithmetic on rounded
// weights) allow float rounding, none where the op only copies or adds once; q16 is held against
// the fp32 reference, so its bound is the format's (15-bit mantissas, one rounding per rescale).
double threshold(OpKind k, Precision p) {
  if (p == Precision::Q16) return k == OpKind::Attention ? 2e-3 : 1e-3;
  switch (k) {
    case OpKind::Embeddings:
    case OpKind::Add:
    case OpKind::SelectFirst:
    case OpKind::SelectLast:
    case OpKind::SelectLastNonPad: return 0;
    case OpKind::Activation: return 1e-6;
    case OpKind::Attention: return 2e-5;
    default: return 1e-5;
  }
}

// ---- running a case on a backend ----

OpCall call_for(Fixture& f, float* out, void* scratch, std::vector<float>& kc, std::vector<float>& vc) {
  OpCall c;
  c.g = &f.g;
  c.op = &f.op();
  c.shape = f.shape;
  const Op& op = f.op();
  for (size_t i = 0; i < op.inputs.size(); ++i) {
    if (f.g.values[op.inputs[i]].dtype != DType::F32) continue;
    c.in[i] = f.value_data[op.inputs[i]].data();
    c.in_rows[i] = op_input_rows(f.g, op, i, f.shape);
  }
  c.out = out;
  c.rows = op_rows(f.g, op, f.shape);
  c.ids = f.ids.empty() ? nullptr : f.ids.data();
  c.tt = f.d.bias && !f.tt.empty() ? f.tt.data() : nullptr;
  c.mask = f.mask.empty() ? nullptr : f.mask.data();
  c.pixels = f.pixels.empty() ? nullptr : f.pixels.data();
  if (!kc.empty()) {
    c.k_cache = kc.data();
    c.v_cache = vc.data();
    c.cache_cap = f.cache_cap;
  }
  c.scratch = scratch;
  c.gather = &f;
  return c;
}

double rel_to_max(const std::vector<float>& got, const std::vector<float>& want) {
  const double m = amax(want.data(), want.size());
  const double e = edgerun::test::max_abs_err(got.data(), want.data(), want.size());
  return m > 0 ? e / m : e;
}

std::string describe(const Case& c) {
  const Dims& d = c.d;
  std::string s = "B" + std::to_string(d.B) + " T" + std::to_string(d.T);
  auto add = [&](const char* k, int64_t v) { s += std::string(" ") + k + std::to_string(v); };
  if (d.past) add("past", d.past);
  switch (c.kind) {
    case OpKind::Linear:
      add("K", d.K), add("N", d.N);
      s += d.chunk ? " chunk" : d.in_out ? " (K,N)" : "";
      s += d.bias ? "" : " nobias";
      s += d.last_only ? " last" : "";
      break;
    case OpKind::Attention:
      add("H", d.H), add("hd", d.hd);
      s += std::string(" ") + to_string(d.attn) + (d.fused ? " fused" : "") + (d.causal ? " causal" : "") +
           (d.mask ? " mask" : "");
      break;
    case OpKind::PatchEmbed: add("C", d.C), add("S", d.S), add("P", d.P), add("D", d.N); break;
    case OpKind::Activation: {
      const char* names[] = {"gelu", "gelu_tanh", "relu", "tanh", "quick_gelu", "silu"};
      add("N", d.N);
      s += std::string(" ") + names[static_cast<int>(d.act)];
      break;
    }
    case OpKind::Embeddings: add("D", d.N); s += d.bias ? " types" : ""; break;
    case OpKind::SelectLastNonPad: add("N", d.N); s += d.pad >= 0 ? " pad" + std::to_string(d.pad) : " nopad"; break;
    default: add("N", d.N); s += d.last_only ? " last" : "";
  }
  return s;
}

Dims lin(int64_t B, int64_t T, int64_t K, int64_t N) {
  Dims d;
  d.B = B, d.T = T, d.K = K, d.N = N;
  return d;
}
Dims cols(int64_t B, int64_t T, int64_t N) {
  Dims d;
  d.B = B, d.T = T, d.N = N;
  return d;
}
Dims attn(int64_t B, int64_t T, int64_t H, int64_t hd, AttnVariant v = AttnVariant::Softmax) {
  Dims d;
  d.B = B, d.T = T, d.H = H, d.hd = hd, d.attn = v;
  return d;
}
template <typename F>
Dims with(Dims d, F f) {
  f(d);
  return d;
}

constexpr Precision F32 = Precision::Fp32, BF16 = Precision::Bf16, Q16 = Precision::Q16;
constexpr AttnVariant kTaylor = AttnVariant::Taylor, kSima = AttnVariant::Sima, kShift = AttnVariant::Shiftmax;

// The table: the shapes are odd on purpose (1, primes, not multiples of the SIMD width, a
// sequence of padding only, past > 0).
const std::vector<Case>& cases() {
  static const std::vector<Case> t = {
      {OpKind::Embeddings, F32, cols(1, 1, 1)},
      {OpKind::Embeddings, F32, with(cols(2, 3, 17), [](Dims& d) { d.bias = false; d.past = 4; })},
      {OpKind::Embeddings, F32, cols(3, 5, 33)},
      {OpKind::PatchEmbed, F32, with(cols(1, 5, 7), [](Dims& d) { d.C = 3, d.S = 8, d.P = 4; })},
      {OpKind::PatchEmbed, F32, with(cols(2, 10, 17), [](Dims& d) { d.C = 1, d.S = 9, d.P = 3; })},
      {OpKind::PatchEmbed, BF16, with(cols(1, 5, 7), [](Dims& d) { d.C = 3, d.S = 8, d.P = 4; })},
      {OpKind::LayerNorm, F32, cols(1, 1, 1)},
      {OpKind::LayerNorm, F32, cols(1, 3, 17)},
      {OpKind::LayerNorm, F32, cols(2, 17, 769)},
      {OpKind::LayerNorm, BF16, cols(1, 3, 17)},
      {OpKind::Linear, F32, lin(1, 1, 1, 1)},
      {OpKind::Linear, F32, lin(1, 3, 65, 33)},
      {OpKind::Linear, F32, lin(1, 17, 33, 31)},
      {OpKind::Linear, F32, with(lin(1, 17, 33, 31), [](Dims& d) { d.in_out = true; })},
      {OpKind::Linear, F32, with(lin(2, 3, 64, 129), [](Dims& d) { d.bias = false; })},
      {OpKind::Linear, F32, with(lin(1, 4, 9, 5), [](Dims& d) { d.chunk = true; })},
      {OpKind::Linear, F32, with(lin(2, 3, 9, 5), [](Dims& d) { d.chunk = true, d.last_only = true; })},
      {OpKind::Linear, BF16, lin(1, 17, 33, 31)},
      {OpKind::Linear, BF16, with(lin(1, 3, 33, 19), [](Dims& d) { d.in_out = true; })},
      {OpKind::Linear, Q16, lin(1, 1, 1, 1)},
      {OpKind::Linear, Q16, lin(1, 17, 33, 31)},
      {OpKind::Linear, Q16, with(lin(2, 3, 64, 129), [](Dims& d) { d.bias = false; })},
      {OpKind::Activation, F32, with(cols(1, 3, 17), [](Dims& d) { d.act = ActKind::GeluErf; })},
      {OpKind::Activation, F32, with(cols(1, 3, 17), [](Dims& d) { d.act = ActKind::GeluTanh; })},
      {OpKind::Activation, F32, with(cols(2, 17, 31), [](Dims& d) { d.act = ActKind::Relu; })},
      {OpKind::Activation, F32, with(cols(1, 17, 31), [](Dims& d) { d.act = ActKind::Tanh; })},
      {OpKind::Activation, F32, with(cols(1, 1, 1001), [](Dims& d) { d.act = ActKind::QuickGelu; })},
      {OpKind::Activation, F32, with(cols(1, 1, 1001), [](Dims& d) { d.act = ActKind::Silu; })},
      {OpKind::Add, F32, cols(1, 1, 1)},
      {OpKind::Add, F32, cols(3, 17, 33)},
      {OpKind::Attention, F32, attn(1, 1, 1, 1)},
      {OpKind::Attention, F32, with(attn(2, 7, 3, 5), [](Dims& d) { d.mask = true; })},
      {OpKind::Attention, F32, with(attn(2, 9, 3, 16), [](Dims& d) { d.fused = d.causal = true; })},
      {OpKind::Attention, F32, with(attn(2, 1, 3, 5), [](Dims& d) { d.fused = d.causal = true, d.past = 6; })},
      {OpKind::Attention, F32, with(attn(1, 3, 4, 3), [](Dims& d) { d.fused = d.causal = true, d.past = 4; })},
      {OpKind::Attention, F32, with(attn(2, 2, 2, 5), [](Dims& d) { d.mask = true; })},
      {OpKind::Attention, F32, with(attn(2, 2, 2, 5), [](Dims& d) { d.fused = d.causal = d.mask = true, d.past = 3; })},
      {OpKind::Attention, F32, with(attn(2, 2, 3, 5, kTaylor), [](Dims& d) { d.mask = true; })},
      {OpKind::Attention, F32, with(attn(2, 2, 3, 5, kSima), [](Dims& d) { d.mask = true; })},
      {OpKind::Attention, F32, with(attn(1, 17, 2, 7, kTaylor), [](Dims& d) { d.mask = true; })},
      {OpKind::Attention, F32, with(attn(2, 3, 3, 5, kTaylor), [](Dims& d) { d.fused = true; })},
      {OpKind::Attention, F32, with(attn(1, 17, 2, 7, kSima), [](Dims& d) { d.mask = true; })},
      {OpKind::Attention, F32, with(attn(2, 3, 3, 5, kSima), [](Dims& d) { d.fused = true; })},
      {OpKind::Attention, F32, with(attn(1, 17, 2, 7, kShift), [](Dims& d) { d.mask = true; })},
      {OpKind::Attention, F32, attn(2, 1, 3, 5, kShift)},
      {OpKind::Attention, Q16, with(attn(2, 7, 3, 5), [](Dims& d) { d.mask = true; })},
      {OpKind::Attention, Q16, with(attn(1, 17, 2, 16), [](Dims& d) { d.fused = true; })},
      {OpKind::Attention, Q16, with(attn(1, 17, 2, 7, kTaylor), [](Dims& d) { d.mask = true; })},
      {OpKind::Attention, Q16, with(attn(1, 17, 2, 7, kSima), [](Dims& d) { d.mask = true; })},
      {OpKind::Attention, Q16, with(attn(2, 2, 3, 5, kTaylor), [](Dims& d) { d.mask = true; })},
      {OpKind::Attention, Q16, with(attn(2, 3, 3, 5, kShift), [](Dims& d) { d.mask = true; })},
      {OpKind::SelectFirst, F32, cols(1, 1, 1)},
      {OpKind::SelectFirst, F32, cols(3, 17, 33)},
      {OpKind::SelectLast, F32, cols(3, 17, 33)},
      {OpKind::SelectLast, F32, with(cols(3, 17, 33), [](Dims& d) { d.last_only = true; })},
      {OpKind::SelectLastNonPad, F32, with(cols(5, 7, 33), [](Dims& d) { d.pad = 0; })},
      {OpKind::SelectLastNonPad, F32, with(cols(1, 1, 3), [](Dims& d) { d.pad = 0; })},
      {OpKind::SelectLastNonPad, F32, cols(1, 5, 17)},
  };
  return t;
}

// The median wall time of a few runs of f, in seconds.
template <typename F>
double median_seconds(F&& f) {
  std::vector<double> s;
  for (int i = 0; i < 7; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    f();
    s.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(s.begin(), s.end());
  return s[s.size() / 2];
}

}  // namespace

TEST(OpsTable, EveryOpKindHasARow) {
  // The N-D kinds have their own harness (test_nd_ops.cpp), with the same rule.
  std::vector<bool> seen(kOpKindCount, false);
  for (const Case& c : cases()) seen[static_cast<size_t>(c.kind)] = true;
  for (int k = 0; k < kOpKindCount; ++k)
    if (!op_schema(static_cast<OpKind>(k)).nd)
      EXPECT_TRUE(seen[static_cast<size_t>(k)]) << op_kind_name(static_cast<OpKind>(k)) << " has no row";
}

TEST(Ops, EveryCaseOnEveryBackendMatchesItsReference) {
  register_builtin_backends();
  const bool perf = std::getenv("EDGERUN_OPS_PERF") && std::string(std::getenv("EDGERUN_OPS_PERF")) == "1";
  int ran = 0;
  for (const Case& c : cases()) {
    Fixture f;
    f.d = c.d;
    f.shape = {c.d.B, c.d.T, c.d.past, c.d.last_only};
    build(f, c.kind);
    if (c.precision == BF16) round_weights(f);
    f.bind();
    const Expected expected = reference(f);
    const std::vector<float>& want = expected.out;
    if (c.precision == Q16) calibrate_q16(f, want);
    ASSERT_EQ(op_precision(f.g, f.op()), c.precision) << describe(c);
    bool claimed = false;
    for (Backend* b : backends()) {
      const Support s = b->supports(f.g, f.op());
      if (!s.ok) {
        std::printf("%-16s %-5s %-5s %-40s skipped: %s\n", op_kind_name(c.kind), b->name(), to_string(c.precision),
                    describe(c).c_str(), s.reason.c_str());
        continue;
      }
      claimed = true;
      std::vector<float> got(f.out_size(), NAN);
      if (c.kind == OpKind::Linear && c.d.chunk)  // in place: the running output is the output buffer
        std::copy(f.value_data[f.op().inputs[1]].begin(), f.value_data[f.op().inputs[1]].end(), got.begin());
      std::vector<char> scratch(std::max<uint64_t>(1, b->scratch_bytes(f.g, f.op(), f.shape, f)));
      std::vector<float> kc = f.k_cache, vc = f.v_cache;
      OpCall call = call_for(f, got.data(), scratch.data(), kc, vc);
      if (c.kind == OpKind::Linear && c.d.chunk) call.in[1] = got.data();
      b->run(call);
      const double err = rel_to_max(got, want), limit = threshold(c.kind, c.precision);
      const bool ok = err <= limit;
      std::printf("%-16s %-5s %-5s %-40s err %.2e <= %.0e %s", op_kind_name(c.kind), b->name(), to_string(c.precision),
                  describe(c).c_str(), err, limit, ok ? "ok" : "FAIL");
      if (perf) {
        const double sec = median_seconds([&] {
          std::vector<float> k2 = f.k_cache, v2 = f.v_cache;
          OpCall p = call_for(f, got.data(), scratch.data(), k2, v2);
          if (c.kind == OpKind::Linear && c.d.chunk) p.in[1] = got.data();
          b->run(p);
        });
        std::printf("  %.3f GFLOP/s", op_flops(f.g, f.op(), f.shape) / sec / 1e9);
      }
      std::printf("\n");
      // A KV cache is data, not arithmetic: the new keys and values land exactly where the
      // reference puts them (positions [past, past + T) of each (sequence, head)).
      EXPECT_TRUE(kc == expected.k_cache && vc == expected.v_cache) << describe(c) << ": KV cache differs";
      EXPECT_LE(err, limit) << op_kind_name(c.kind) << " on " << b->name() << ", " << to_string(c.precision)
                                  << ", " << describe(c);
      ++ran;
    }
    EXPECT_TRUE(claimed) << op_kind_name(c.kind) << " " << describe(c) << ": no backend claims this case";
  }
  EXPECT_GT(ran, 0);
}
