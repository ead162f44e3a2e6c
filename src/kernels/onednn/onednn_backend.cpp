// OneDnnBackend: which N-D ops run on oneDNN (a fixed rule: kind, dtypes, ranks and attributes,
// then whether oneDNN has a primitive for the bound shapes), the primitive cache and the threads.
//
// Measured on this machine (bench/bench_onednn_conv.cpp, ResNet-50 layers, batch 1, GFLOP/s at
// 1 / 2 threads; Xeon with AVX-512):
//                       CPU backend   oneDNN plain   blocked weights   blocked (x, w, y)
//   3x3 64->64 56x56     83 / 99      153 / 106       78 / 151         205 / 404
//   1x1 256->64 56x56   104 / 156      78 / 151       78 / 151         122 / 243
//   3x3 256->256 14x14  136 / 182     137 / 237      137 / 237         198 / 379
// With plain activations oneDNN picks its im2col + GEMM conv (gemm:jit) whatever the weights'
// layout, so reordering the weights alone gains nothing; with x, w and y in blocked layouts it
// runs its direct convolutions (brgconv), reorders included, 1.5x to 4x the CPU backend: the
// registered backend uses ConvLayout::Blocked. MatMul and Gemm stay on the CPU backend (OpenBLAS,
// not measured against oneDNN's matmul).
//
// Threads: Debian's oneDNN runs on OpenMP (libgomp); OpenBLAS on its own pthreads. set_threads
// stores the count and every run sets it as the calling thread's OpenMP thread count (an OpenMP
// ICV is per thread, and the executor may call from another thread than the engine's
// constructor), so oneDNN uses exactly the threads OpenBLAS is told to use. The primitive cache
// is keyed by the thread count too: a primitive's blocking (and its scratchpad) may depend on it.
// Both pools busy-wait after their work (libgomp ~300k PAUSEs, OpenBLAS sched_yield loops), so a
// GEMM right after a oneDNN conv on 2 threads runs ~1.8x slower unless GOMP_SPINCOUNT (e.g.
// 10000) or OMP_WAIT_POLICY=PASSIVE is set in the environment (libgomp reads it at load only).
#include "kernels/onednn/onednn_backend.h"

#include <omp.h>

#include <atomic>
#include <cstring>
#include <map>
#include <mutex>
#include <unordered_map>

#include "core/error.h"
#include "graph/op_schema.h"
#include "kernels/onednn/onednn_plan.h"

namespace edgerun::onednn {

dnnl::engine& cpu_engine() {
  static dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}

dnnl::memory::dims to_dims(const Shape& s) { return dnnl::memory::dims(s.begin(), s.end()); }

dnnl::memory::format_tag plain_tag(size_t rank) {
  using tag = dnnl::memory::format_tag;
  return rank == 3 ? tag::ncw : rank == 4 ? tag::nchw : tag::ncdhw;
}

dnnl::memory::format_tag value_tag(const Graph& g, ValueId v) {
  using tag = dnnl::memory::format_tag;
  const size_t rank = g.values[v].dims.size();
  if (!g.values[v].channels_last) return plain_tag(rank);
  return rank == 3 ? tag::nwc : rank == 4 ? tag::nhwc : tag::ndhwc;
}

dnnl::primitive_attr user_scratchpad_attr() {
  dnnl::primitive_attr a;
  a.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return a;
}

dnnl::reorder make_reorder(const dnnl::memory::desc& from, const dnnl::memory::desc& to) {
  dnnl::reorder::primitive_desc pd(cpu_engine(), from, cpu_engine(), to, user_scratchpad_attr());
  return dnnl::reorder(pd);
}

uint64_t scratchpad_bytes(const dnnl::reorder& r) {
  const dnnl_memory_desc_t* md = dnnl_primitive_desc_query_md(r.get_primitive_desc(), dnnl_query_scratchpad_md, 0);
  return md ? dnnl_memory_desc_get_size(md) : 0;
}

void run_reorder(const dnnl::reorder& r, const dnnl::memory& from, const dnnl::memory& to, dnnl::stream& s,
                 const dnnl::memory* pad) {
  std::unordered_map<int, dnnl::memory> a{{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}};
  if (scratchpad_bytes(r)) {
    ER_CHECK(pad, "reorder without its scratchpad");
    a[DNNL_ARG_SCRATCHPAD] = *pad;
  }
  r.execute(s, a);
}

bool bound_dims(const Graph& g, ValueId v) {
  if (v == kNone) return false;
  const Shape& d = g.values[v].dims;
  if (d.empty()) return false;
  for (int64_t x : d)
    if (x < 0) return false;
  return true;
}

dnnl::memory wrap(const dnnl::memory::desc& md, const void* p) {
  return dnnl::memory(md, cpu_engine(), const_cast<void*>(p));
}

const char* to_string(ConvLayout l) {
  switch (l) {
    case ConvLayout::Plain: return "plain";
    case ConvLayout::BlockedWeights: return "blocked-weights";
    case ConvLayout::Blocked: return "blocked";
  }
  return "?";
}

namespace {

// The cache key: everything a plan depends on (kind, bound dims, attributes, threads).
std::string plan_key(const Graph& g, const Op& op, int threads, bool prepacked) {
  std::vector<int64_t> k;
  k.push_back(prepacked);
  auto put = [&](const std::vector<int64_t>& v) {
    k.push_back(static_cast<int64_t>(v.size()));
    k.insert(k.end(), v.begin(), v.end());
  };
  auto putf = [&](float f) {
    uint32_t b;
    std::memcpy(&b, &f, 4);
    k.push_back(b);
  };
  k.push_back(static_cast<int64_t>(op.kind));
  k.push_back(threads);
  for (ValueId v : op.inputs) {
    k.push_back(v == kNone ? -1 : static_cast<int64_t>(g.values[v].dtype));
    if (v != kNone) put(g.values[v].dims), k.push_back(g.values[v].channels_last);
  }
  put(g.values[op.output].dims);
  k.push_back(g.values[op.output].channels_last);
  const NdAttrs& a = op.p.nd;
  auto put_epi = [&](const Epilogue& e) {
    k.push_back(static_cast<int64_t>(e.fn));
    putf(e.alpha), putf(e.beta), putf(e.lo), putf(e.hi);
  };
  if (op.kind == OpKind::Binary) {
    k.push_back(static_cast<int64_t>(a.binary));
    put_epi(a.epi);
  } else if (op.kind == OpKind::Pool) {
    const PoolParams& p = a.pool;
    k.push_back(static_cast<int64_t>(p.kind));
    put(p.kernel), put(p.strides), put(p.dilations), put(p.pads);
    k.push_back(p.count_include_pad);
  } else {
    const ConvParams& p = a.conv;
    k.push_back(p.group);
    put(p.kernel), put(p.strides), put(p.dilations), put(p.pads), put(p.output_padding);
    put_epi(p.epi);
    k.push_back(a.folded_bn);
    putf(a.bn_eps);
  }
  return std::string(reinterpret_cast<const char*>(k.data()), k.size() * 8);
}

class OneDnnBackend final : public Backend {
 public:
  explicit OneDnnBackend(ConvLayout layout) : layout_(layout), threads_(omp_get_max_threads()) {}

  const char* name() const override { return "onednn"; }

  Support supports(const Graph& g, const Op& op) const override {
    std::string why;
    switch (op.kind) {
      case OpKind::Conv:
      case OpKind::ConvTranspose: why = conv_refusal(g, op); break;
      case OpKind::Pool: why = pool_refusal(g, op); break;
      case OpKind::Binary: why = binary_refusal(g, op); break;
      case OpKind::MatMul:
      case OpKind::Gemm:
        return Support::no(std::string(op_kind_name(op.kind)) + " runs on the CPU backend's OpenBLAS (measured faster)");
      default:
        return Support::no(std::string("oneDNN runs Conv, ConvTranspose, Pool and arithmetic Binary, not ") + op_kind_name(op.kind));
    }
    if (!why.empty()) return Support::no(why);
    // Unbound dims (a graph before its bind): the rule above alone; once bound, oneDNN must
    // also have a primitive for the shapes.
    for (ValueId v : op.inputs)
      if (v != kNone && !bound_dims(g, v)) return Support::yes();
    if (!bound_dims(g, op.output)) return Support::yes();
    try {
      plan(g, op);
    } catch (const dnnl::error& e) {
      return Support::no(std::string("oneDNN has no primitive for these shapes (") + e.what() + ")");
    }
    return Support::yes();
  }

  uint64_t scratch_bytes(const Graph& g, const Op& op, const PassShape&, const RowGather&) const override {
    const uint64_t n = plan(g, op).scratch;
    return n ? n + 64 : 0;  // the base is aligned up to 64 bytes
  }

  void set_threads(int n) override { threads_ = n > 0 ? n : 1; }

  // The primitives pick channels-last activations (brgconv's acdb) for every conv shape of the
  // model zoo, so a chain of convs keeps them so (the rest converts at the chain's ends).
  // A Binary that scales or shifts a full tensor by one value per channel (squeeze-excite) reads
  // its first operand and writes its output in either layout too: the per-channel operand is
  // the same bytes in both.
  int channels_last_input(const Graph& g, const Op& op) const override {
    if (layout_ != ConvLayout::Blocked) return -1;
    if (op.kind == OpKind::Conv || op.kind == OpKind::ConvTranspose || op.kind == OpKind::Pool) return 0;
    return op.kind == OpKind::Binary ? per_channel_binary(g, op) : -1;
  }

  void run(const OpCall& c) override {
    const int threads = threads_.load();
    if (omp_get_max_threads() != threads) omp_set_num_threads(threads);
    const Plan& p = plan(*c.g, *c.op);
    Scratch s;
    s.bytes = p.scratch;
    if (p.scratch) {
      ER_CHECK(c.scratch, c.op->name, ": no scratch for oneDNN (", p.scratch, " bytes)");
      const auto a = (reinterpret_cast<uintptr_t>(c.scratch) + 63) / 64 * 64;
      s.base = reinterpret_cast<char*>(a);
    }
    thread_local dnnl::stream stream(cpu_engine());
    p.run(c, stream, s);
    stream.wait();
  }

  // Whether op's weights arrive packed by this backend (WeightSlot::packer).
  bool prepacked(const Graph& g, const Op& op) const {
    if ((op.kind != OpKind::Conv && op.kind != OpKind::ConvTranspose) || op.inputs.size() < 2 || op.inputs[1] == kNone)
      return false;
    const SlotId s = g.values[op.inputs[1]].slot;
    if (s == kNone) return false;
    const WeightSlot& w = g.slots[static_cast<size_t>(s)];
    return w.packer == this && w.pack_op >= 0 && static_cast<size_t>(w.pack_op) < g.ops.size() && &g.ops[w.pack_op] == &op;
  }

  uint64_t packed_bytes(const Graph& g, const Op& op, size_t k) const override {
    if (k != 1 || (op.kind != OpKind::Conv && op.kind != OpKind::ConvTranspose) || !supports(g, op).ok) return 0;
    for (ValueId v : op.inputs)
      if (v != kNone && !bound_dims(g, v)) return 0;
    const uint64_t n = plan(g, op, false).packed_bytes();
    // The plan that reads them packed, made now, at bind: primitives are the process's baseline
    // (heap and JIT code made before the passes), not memory that appears during one.
    if (n) plan(g, op, true);
    return n;
  }

  void pack(const Graph& g, const Op& op, size_t k, float* w, void* dst) override {
    ER_CHECK(k == 1, op.name, ": oneDNN packs the weights (input 1), not input ", k);
    // On the loader's thread: one OpenMP thread, beside the compute's (the ICV is per thread;
    // run() sets the compute thread's own).
    if (omp_get_max_threads() != 1) omp_set_num_threads(1);
    thread_local dnnl::stream stream(cpu_engine());
    plan(g, op, false).pack(g, op, w, dst, stream);
    stream.wait();
  }

  const Plan& plan(const Graph& g, const Op& op) const { return plan(g, op, prepacked(g, op)); }

  const Plan& plan(const Graph& g, const Op& op, bool packed) const {
    const std::string key = plan_key(g, op, threads_.load(), packed);
    std::lock_guard<std::mutex> lock(mu_);
    auto it = cache_.find(key);
    if (it != cache_.end()) return *it->second;
    // Primitive creation outside the data path: the plan's descriptors are heap (baseline).
    std::unique_ptr<Plan> p = op.kind == OpKind::Pool     ? make_pool_plan(g, op)
                             : op.kind == OpKind::Binary ? make_binary_plan(g, op)
                                                         : make_conv_plan(g, op, layout_, packed);
    return *cache_.emplace(key, std::move(p)).first->second;
  }

 private:
  ConvLayout layout_;
  // The process's backend: engines on other threads (a scheduler's lane, a session being
  // opened) set it, so it is atomic; one pass runs at a time, each with its engine's count.
  std::atomic<int> threads_;
  mutable std::mutex mu_;
  mutable std::map<std::string, std::unique_ptr<Plan>> cache_;
};

}  // namespace

Backend& onednn_backend() {
  static OneDnnBackend b(kConvLayout);
  return b;
}

std::unique_ptr<Backend> make_onednn_backend(ConvLayout layout) { return std::make_unique<OneDnnBackend>(layout); }

std::string onednn_impl(Backend& b, const Graph& g, const Op& op) {
  auto* o = dynamic_cast<OneDnnBackend*>(&b);
  if (!o || !o->supports(g, op).ok) return "";
  return o->plan(g, op).impl;
}

}  // namespace edgerun::onednn
