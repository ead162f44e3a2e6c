// Google Benchmark: the analytic systolic model on every GEMM of ViT-B/16 (224x224, patch 16:
// 197 tokens, d 768, 12 heads, FFN 3072, 12 layers; softmax attention: 362 GEMMs), per dataflow.
// The SCALE-Sim comparison on one encoder layer is scripts/scalesim_reference.py --speed.
#include <benchmark/benchmark.h>

#include "graph/attention_gemms.h"
#include "sim/systolic.h"

using namespace edgerun;
using namespace edgerun::sim;

namespace {

std::vector<LayerGemm> vit_b16_gemms() {
  const int64_t T = 197, D = 768, H = 12, F = 3072;
  std::vector<LayerGemm> g{{"embeddings", {"patch_embed", 196, D, 3 * 16 * 16}}};
  for (int l = 0; l < 12; ++l) {
    const std::string p = "layer" + std::to_string(l);
    for (const char* n : {"query", "key", "value"}) g.push_back({p, {p + "." + n, T, D, D}});
    for (GemmShape& s : softmax_attention_gemms(T, H, D / H, p).gemms) g.push_back({p, s});
    g.push_back({p, {p + ".attention.output", T, D, D}});
    g.push_back({p, {p + ".intermediate", T, F, D}});
    g.push_back({p, {p + ".output", T, D, F}});
  }
  g.push_back({"head", {"classifier", 1, 1000, D}});
  return g;
}

void BM_VitB16(benchmark::State& state) {
  const std::vector<LayerGemm> gemms = vit_b16_gemms();
  SystolicConfig cfg;
  cfg.rows = cfg.cols = 32;
  cfg.dataflow = static_cast<Dataflow>(state.range(0));
  const EnergyParams e = energy_params(Precision::Q16);
  int64_t cycles = 0;
  for (auto _ : state) {
    SystolicReport r = simulate_systolic(cfg, gemms, e);
    cycles = r.total_cycles;
    benchmark::DoNotOptimize(r);
  }
  state.counters["gemms"] = static_cast<double>(gemms.size());
  state.counters["cycles"] = static_cast<double>(cycles);
  state.SetLabel(dataflow_name(cfg.dataflow));
}
BENCHMARK(BM_VitB16)->Arg(0)->Arg(1)->Arg(2)->Unit(benchmark::kMicrosecond);

}  // namespace

// bench/*.cpp link into one edgerun_bench binary: a weak main, so that the first bench file with
// a (strong) BENCHMARK_MAIN() takes over instead of clashing with this one.
__attribute__((weak)) int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
