// Add, Sub, Mul and Div of N-D float32 tensors on oneDNN's binary primitive (numpy broadcasting
// of the second operand; commutative ops swap their operands when the first is the one that
// broadcasts), the op's fused activation as an eltwise post-op. Each is one IEEE operation per
// element, as the CPU reference computes it, so the bits are the reference's for Relu (exact);
// other activations are oneDNN's.
#include <unordered_map>

#include "core/error.h"
#include "kernels/onednn/onednn_plan.h"

namespace edgerun::onednn {

namespace {

using dnnl::memory;

// v's dims right-aligned to `rank` (numpy broadcasting), ones in front.
memory::dims aligned(const Shape& v, size_t rank) {
  memory::dims d(rank - v.size(), 1);
  d.insert(d.end(), v.begin(), v.end());
  return d;
}

// A row-major (or, for channels-last values, nwc / nhwc / ndhwc) descriptor of `dims`.
memory::desc desc_of(const Graph& g, ValueId v, const memory::dims& dims) {
  if (g.values[v].channels_last) return memory::desc(dims, memory::data_type::f32, value_tag(g, v));
  memory::dims strides(dims.size(), 1);
  for (size_t i = dims.size(); i-- > 1;) strides[i - 1] = strides[i] * std::max<int64_t>(1, dims[i]);
  return memory::desc(dims, memory::data_type::f32, strides);
}

class BinaryPlan final : public Plan {
 public:
  dnnl::primitive prim;
  memory::desc a_md, b_md, y_md, pad_md;
  bool swap = false;

  void run(const OpCall& c, dnnl::stream& s, const Scratch& sc) const override {
    const void* a = c.t_in[swap ? 1 : 0].data;
    const void* b = c.t_in[swap ? 0 : 1].data;
    std::unordered_map<int, memory> args{{DNNL_ARG_SRC_0, wrap(a_md, a)},
                                         {DNNL_ARG_SRC_1, wrap(b_md, b)},
                                         {DNNL_ARG_DST, wrap(y_md, c.t_out[0].data)}};
    if (pad_md.get_size()) args[DNNL_ARG_SCRATCHPAD] = wrap(pad_md, sc.at(0));
    prim.execute(s, args);
  }
};

}  // namespace

std::string binary_refusal(const Graph& g, const Op& op) {
  if (!is_arithmetic(op.p.nd.binary)) return "oneDNN runs Add, Sub, Mul and Div (Min and Max differ on NaN)";
  if (op.inputs.size() != 2 || op.outputs.size() != 1) return "two inputs, one output";
  for (ValueId v : {op.inputs[0], op.inputs[1], op.output})
    if (v == kNone || g.values[v].dtype != DType::F32) return "oneDNN's binary ops here are float32";
  dnnl::post_ops po;
  if (!epilogue_post_ops(op.p.nd.epi, po)) return "activation has no oneDNN post-op";
  // Before the bind every dims is empty, as a scalar's is: both go to the CPU backend (the bind
  // assigns backends again with the shapes known).
  for (ValueId v : {op.inputs[0], op.inputs[1], op.output})
    if (!bound_dims(g, v)) return "a scalar operand, or shapes not bound yet";
  const Shape& y = g.values[op.output].dims;
  if (y.size() > DNNL_MAX_NDIMS) return "rank outside oneDNN's";
  for (int64_t d : y)
    if (d == 0) return "an empty tensor";
  const bool a_full = g.values[op.inputs[0]].dims == y, b_full = g.values[op.inputs[1]].dims == y;
  const bool commutes = op.p.nd.binary == BinaryFn::Add || op.p.nd.binary == BinaryFn::Mul;
  if (!a_full && !(b_full && commutes)) return "the first operand broadcasts";
  return "";
}

int per_channel_binary(const Graph& g, const Op& op) {
  if (op.kind != OpKind::Binary || !binary_refusal(g, op).empty() || !bound_dims(g, op.output)) return -1;
  const Shape& y = g.values[op.output].dims;
  if (y.size() < 3 || y.size() > 5) return -1;
  const int full = g.values[op.inputs[0]].dims == y ? 0 : 1;
  if (g.values[op.inputs[static_cast<size_t>(full)]].dims != y) return -1;
  const Shape& b = g.values[op.inputs[static_cast<size_t>(1 - full)]].dims;
  if (b == y || b.size() > y.size()) return -1;
  const memory::dims d = aligned(b, y.size());
  for (size_t i = 2; i < d.size(); ++i)
    if (d[i] != 1) return -1;
  return d[0] == 1 || d[0] == y[0] ? full : -1;
}

std::unique_ptr<Plan> make_binary_plan(const Graph& g, const Op& op) {
  auto plan = std::make_unique<BinaryPlan>();
  const Shape& y = g.values[op.output].dims;
  plan->swap = g.values[op.inputs[0]].dims != y;
  const ValueId a = op.inputs[plan->swap ? 1 : 0], b = op.inputs[plan->swap ? 0 : 1];
  plan->a_md = desc_of(g, a, to_dims(y));
  plan->b_md = desc_of(g, b, aligned(g.values[b].dims, y.size()));
  plan->y_md = desc_of(g, op.output, to_dims(y));
  using alg = dnnl::algorithm;
  alg f = alg::binary_add;
  switch (op.p.nd.binary) {
    case BinaryFn::Sub: f = alg::binary_sub; break;
    case BinaryFn::Mul: f = alg::binary_mul; break;
    case BinaryFn::Div: f = alg::binary_div; break;
    default: break;
  }
  dnnl::primitive_attr attr = user_scratchpad_attr();
  dnnl::post_ops po;
  epilogue_post_ops(op.p.nd.epi, po);
  attr.set_post_ops(po);
  const dnnl::binary::desc d(f, plan->a_md, plan->b_md, plan->y_md);
  const dnnl::binary::primitive_desc pd(d, attr, cpu_engine());
  plan->pad_md = pd.scratchpad_desc();
  plan->scratch = round64(plan->pad_md.get_size());
  plan->impl = pd.impl_info_str();
  plan->prim = dnnl::binary(pd);
  return plan;
}

}  // namespace edgerun::onednn
