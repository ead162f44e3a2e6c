// Google Benchmark: attention cost against the token count n (17: the digits ViT, 65, 197:
// ViT-B/16 at 224, 577: at 384, 785, 1601, 3137: ViT-B/4 at 224), one head of 64 dims, batch 1,
// one BLAS thread, for every variant in fp32 and q16. softmax and shiftmax are O(n^2 d) (the
// n x n score matrix), taylor and sima O(n d^2); the fitted complexity (BigO row) shows it.
// Leaves out: the Q/K/V projections, which are O(n d^2) for every variant.
//   build/edgerun_bench --benchmark_filter=Attention
#include <benchmark/benchmark.h>

#include <cmath>
#include <random>
#include <vector>

#include "kernels/cpu/kernels.h"
#include "kernels/cpu/q16.h"

using namespace edgerun;

namespace {
constexpr int64_t kHeadDim = 64;

struct Inputs {
  std::vector<float> q, k, v, out;
  explicit Inputs(int64_t n) : q(n * kHeadDim), k(q.size()), v(q.size()), out(q.size()) {
    std::mt19937 g(1);
    std::normal_distribution<float> d;
    for (auto* x : {&q, &k, &v})
      for (float& e : *x) e = d(g);
  }
  kernels::AttentionArgs args(int64_t n) {
    kernels::AttentionArgs a;
    a.B = 1, a.T = n, a.n_head = 1, a.head_dim = kHeadDim, a.scale = 0.125f;
    a.q = q.data(), a.k = k.data(), a.v = v.data(), a.out = out.data();
    a.q_stride = a.k_stride = a.v_stride = kHeadDim;
    return a;
  }
};

void BM_Attention(benchmark::State& state, AttnVariant v, bool q16) {
  kernels::set_blas_threads(1);
  const int64_t n = state.range(0);
  Inputs in(n);
  kernels::AttentionArgs a = in.args(n);
  std::vector<float> fscratch;
  std::vector<char> qscratch;
  q16::AttentionExp e;
  if (q16) {
    qscratch.resize(q16::attention_scratch_bytes(v, n, kHeadDim));
    e.q = e.k = e.v = q16::exponent_for(5.0);
    e.mid = e.out = q16::exponent_for(2.0);
  } else {
    fscratch.resize(static_cast<size_t>(kernels::attention_scratch_floats(v, n, n, kHeadDim)));
    a.scratch = fscratch.data();
  }
  for (auto _ : state) {
    if (q16) q16::attention(v, a, e, qscratch.data());
    else kernels::attention(v, a);
    benchmark::DoNotOptimize(in.out.data());
    benchmark::ClobberMemory();
  }
  state.SetComplexityN(n);
  state.counters["tokens/s"] = benchmark::Counter(static_cast<double>(n), benchmark::Counter::kIsIterationInvariantRate);
}

void register_all() {
  for (AttnVariant v : {AttnVariant::Softmax, AttnVariant::Shiftmax, AttnVariant::Taylor, AttnVariant::Sima})
    for (bool q : {false, true}) {
      const std::string name = std::string("Attention/") + to_string(v) + (q ? "/q16" : "/fp32");
      auto* b = benchmark::RegisterBenchmark(name.c_str(), [v, q](benchmark::State& s) { BM_Attention(s, v, q); });
      for (int64_t n : {17, 65, 197, 577, 785, 1601, 3137}) b->Arg(n);
      b->Unit(benchmark::kMicrosecond)->Complexity()->MinTime(0.05);
    }
}
const bool registered = (register_all(), true);

}  // namespace

// bench/*.cpp link into one edgerun_bench binary; a weak main like bench_sim.cpp's, so that the
// binary has exactly one main whichever bench files are present.
__attribute__((weak)) int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
