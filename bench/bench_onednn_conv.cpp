// oneDNN convolutions vs the CPU backend's im2col + OpenBLAS (kernels::conv) on ResNet-50
// layers, batch 1, through each backend's run() as the engine calls it (scratch from outside,
// plain NCHW activations): the CPU backend, and oneDNN with plain operands, with weights
// reordered per call into scratch, and with x, w and y all in blocked layouts through scratch.
// Arguments: layer, backend (0 cpu, 1 plain, 2 blocked-weights, 3 blocked), threads. Counter
// GFLOP/s. Also: a conv timed right after an OpenBLAS GEMM and a GEMM right after a conv (both
// backends' thread pools in one process) against each alone.
#ifdef EDGERUN_HAVE_DNNL
#include <benchmark/benchmark.h>

#include <memory>
#include <random>
#include <vector>

#include "graph/backend.h"
#include "graph/nd_bind.h"
#include "kernels/cpu/cpu_backend.h"
#include "kernels/onednn/onednn_backend.h"

using namespace edgerun;

namespace {

struct Layer {
  const char* name;
  int64_t C, M, H, k, stride;
};
constexpr Layer kLayers[] = {
    {"3x3_64-64_56", 64, 64, 56, 3, 1},
    {"1x1_256-64_56", 256, 64, 56, 1, 1},
    {"3x3_256-256_14", 256, 256, 14, 3, 1},
};

class NoRows final : public RowGather {
 public:
  uint64_t row_staging_bytes(SlotId) const override { return 0; }
  void gather_rows(SlotId, const int64_t*, int64_t, float*, void*) override {}
};

// A bound one-op graph and its buffers.
struct OneOp {
  Graph g;
  std::vector<std::vector<float>> in;
  std::vector<float> out;
  std::vector<Tensor> t_in, t_out;
  std::vector<char> scratch;
  OpCall call;
  double flops = 0;

  void bind(OpKind kind, const std::vector<Shape>& shapes, const NdAttrs& attrs) {
    g.nd = true;
    std::vector<ValueId> ins;
    for (size_t i = 0; i < shapes.size(); ++i) {
      const ValueId v = g.add_nd_value("in" + std::to_string(i), DType::F32, {});
      g.values[v].is_input = true;
      g.values[v].declared = Shape(shapes[i].size(), -1);
      g.values[v].dim_params.assign(shapes[i].size(), "");
      g.nd_inputs.push_back(v);
      ins.push_back(v);
    }
    OpParams p;
    p.nd = attrs;
    g.add_nd_op(kind, "op", ins, {"out"}, {}, p);
    g.output = g.ops.back().output;
    bind_nd_graph(g, shapes, [](const Graph& gg, const Op& op, const std::vector<Tensor>& i, const std::vector<Tensor>& o) {
      OpCall c;
      c.g = &gg, c.op = &op, c.t_in = i.data(), c.n_in = static_cast<int>(i.size());
      c.t_out = o.data(), c.n_out = static_cast<int>(o.size());
      kernels::cpu_backend().run(c);
    });
    std::mt19937 rng(3);
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    for (const Shape& s : shapes) {
      in.emplace_back(static_cast<size_t>(shape_numel(s)));
      for (float& x : in.back()) x = u(rng);
      t_in.push_back(Tensor{DType::F32, s, in.back().data()});
    }
    out.assign(static_cast<size_t>(shape_numel(g.values[g.output].dims)), 0.0f);
    t_out = {Tensor{DType::F32, g.values[g.output].dims, out.data()}};
  }

  void prepare(Backend& be) {
    NoRows rows;
    scratch.assign(be.scratch_bytes(g, g.ops[0], {}, rows) + 64, 0);
    call.g = &g, call.op = &g.ops[0], call.t_in = t_in.data(), call.n_in = static_cast<int>(t_in.size());
    call.t_out = t_out.data(), call.n_out = 1, call.scratch = scratch.data();
  }
};

std::unique_ptr<OneOp> conv_op(const Layer& l) {
  auto o = std::make_unique<OneOp>();
  NdAttrs a;
  const int64_t p = l.k / 2;
  a.conv.pads = {p, p, p, p};
  a.conv.strides = {l.stride, l.stride};
  a.conv.epi.fn = UnaryFn::Relu;
  o->bind(OpKind::Conv, {Shape{1, l.C, l.H, l.H}, Shape{l.M, l.C, l.k, l.k}, Shape{l.M}}, a);
  const int64_t Ho = l.H / l.stride;
  o->flops = 2.0 * static_cast<double>(l.M * Ho * Ho * l.C * l.k * l.k);
  return o;
}

// backend index: 0 cpu, 1..3 oneDNN layouts; the instances live for the process (their
// primitive caches are the baseline).
Backend& backend(int i) {
  static std::unique_ptr<Backend> b[3] = {onednn::make_onednn_backend(onednn::ConvLayout::Plain),
                                          onednn::make_onednn_backend(onednn::ConvLayout::BlockedWeights),
                                          onednn::make_onednn_backend(onednn::ConvLayout::Blocked)};
  return i == 0 ? kernels::cpu_backend() : *b[i - 1];
}
const char* kBackendNames[] = {"cpu-openblas", "onednn-plain", "onednn-blocked-weights", "onednn-blocked"};

void BM_Conv(benchmark::State& st) {
  const Layer& l = kLayers[st.range(0)];
  Backend& be = backend(static_cast<int>(st.range(1)));
  be.set_threads(static_cast<int>(st.range(2)));
  auto o = conv_op(l);
  o->prepare(be);
  be.run(o->call);  // primitive creation outside the timing
  for (auto _ : st) {
    be.run(o->call);
    benchmark::DoNotOptimize(o->out.data());
  }
  st.counters["GFLOP/s"] = benchmark::Counter(o->flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  st.SetLabel(std::string(l.name) + " " + kBackendNames[st.range(1)] + " " + onednn::onednn_impl(be, o->g, o->g.ops[0]));
}
BENCHMARK(BM_Conv)->ArgsProduct({{0, 1, 2}, {0, 1, 2, 3}, {1, 2}})->Unit(benchmark::kMillisecond)->UseRealTime();

// A (512 x 1024) . (1024 x 1024) MatMul on the CPU backend (OpenBLAS).
std::unique_ptr<OneOp> gemm_op() {
  auto o = std::make_unique<OneOp>();
  o->bind(OpKind::MatMul, {Shape{512, 1024}, Shape{1024, 1024}}, NdAttrs{});
  o->flops = 2.0 * 512 * 1024 * 1024;
  return o;
}

// range(0): 0 the oneDNN conv alone, 1 the conv timed right after a GEMM, 2 the GEMM alone,
// 3 the GEMM timed right after the conv; 2 threads for both backends.
void BM_ConvAndGemm(benchmark::State& st) {
  Backend& dn = onednn::onednn_backend();
  Backend& cpu = kernels::cpu_backend();
  dn.set_threads(2);
  cpu.set_threads(2);
  auto conv = conv_op(kLayers[0]);
  auto gemm = gemm_op();
  conv->prepare(dn);
  gemm->prepare(cpu);
  dn.run(conv->call);
  cpu.run(gemm->call);
  const int mode = static_cast<int>(st.range(0));
  const bool conv_timed = mode < 2, other = mode == 1 || mode == 3;
  for (auto _ : st) {
    if (other) {
      st.PauseTiming();
      if (conv_timed) cpu.run(gemm->call);
      else dn.run(conv->call);
      st.ResumeTiming();
    }
    if (conv_timed) dn.run(conv->call);
    else cpu.run(gemm->call);
  }
  st.counters["GFLOP/s"] =
      benchmark::Counter((conv_timed ? conv->flops : gemm->flops) * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  const char* labels[] = {"conv alone", "conv after gemm", "gemm alone", "gemm after conv"};
  st.SetLabel(labels[mode]);
}
BENCHMARK(BM_ConvAndGemm)->DenseRange(0, 3)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
#endif
