// The CPU backend's N-D ops: argument unpacking from an OpCall onto the kernels of
// nd_kernels.h (the attributes arrive normalized by the bind).
#include "kernels/cpu/nd_backend.h"

#include <cmath>
#include <cstring>
#include <limits>

#include "core/error.h"
#include "kernels/cpu/nd_kernels.h"

namespace edgerun::kernels {

namespace {

uint64_t round64(uint64_t n) { return (n + 63) / 64 * 64; }

Tensor value_tensor(const Graph& g, ValueId v) {
  return v == kNone ? Tensor{} : Tensor{g.values[v].dtype, g.values[v].dims, nullptr};
}

// The ops that compute in fp32 only: every data input must be F32 (weights are bound as fp32).
bool float_only(OpKind k) {
  switch (k) {
    case OpKind::Conv:
    case OpKind::ConvTranspose:
    case OpKind::Pool:
    case OpKind::MatMul:
    case OpKind::Gemm:
    case OpKind::Softmax:
    case OpKind::LayerNormNd:
    case OpKind::BatchNorm:
    case OpKind::Resize: return true;
    default: return false;
  }
}

double scalar(const Tensor& t) {
  switch (t.dtype) {
    case DType::F32: return *static_cast<const float*>(t.data);
    case DType::F64: return *static_cast<const double*>(t.data);
    case DType::I64: return static_cast<double>(*static_cast<const int64_t*>(t.data));
    case DType::I32: return *static_cast<const int32_t*>(t.data);
    case DType::I8: return *static_cast<const int8_t*>(t.data);
    case DType::U8: return *static_cast<const uint8_t*>(t.data);
    default: ER_THROW(UnsupportedError, "a bound of dtype ", dtype_name(t.dtype));
  }
}

const float* f32(const Tensor& t) { return static_cast<const float*>(t.data); }

}  // namespace

Support nd_supports(const Graph& g, const Op& op) {
  if (!float_only(op.kind)) return Support::yes();
  // Data inputs: the first (and Gemm's and MatMul's second); the rest are weights, which are
  // bound as fp32, or shape inputs.
  const size_t n = op.kind == OpKind::MatMul || op.kind == OpKind::Gemm ? 2 : 1;
  for (size_t i = 0; i < std::min(n, op.inputs.size()); ++i) {
    const ValueId v = op.inputs[i];
    if (v != kNone && !g.values[v].dims.empty() && g.values[v].dtype != DType::F32)
      return Support::no(std::string("input '") + g.values[v].name + "' is " + std::string(dtype_name(g.values[v].dtype)) +
                         "; the CPU backend computes " + op_kind_name(op.kind) + " in float32");
  }
  return Support::yes();
}

uint64_t nd_scratch_bytes(const Graph& g, const Op& op) {
  if (op.kind != OpKind::Conv || g.values[op.output].dims.empty()) return 0;
  const Tensor x = value_tensor(g, op.inputs[0]), w = value_tensor(g, op.inputs[1]), y = value_tensor(g, op.output);
  uint64_t n = round64(conv_scratch_bytes(x, w, op.p.nd.conv, y));
  if (op.p.nd.folded_bn) n += 2 * round64(static_cast<uint64_t>(w.shape[0]) * 4);
  return n;
}

void run_nd(const OpCall& c) {
  const Op& op = *c.op;
  const NdAttrs& a = op.p.nd;
  const Tensor* in = c.t_in;
  const Tensor& y = c.t_out[0];
  auto data = [&](int i) -> const float* { return i < c.n_in ? f32(in[i]) : nullptr; };
  switch (op.kind) {
    case OpKind::Conv: {
      if (!a.folded_bn) {
        conv(in[0], in[1], data(2), a.conv, y, c.scratch);
        return;
      }
      // conv + bias, then the BN as a per-channel affine (and the epilogue).
      ConvParams p = a.conv;
      p.epi = Epilogue{};
      const int64_t M = in[1].shape[0];
      char* s = static_cast<char*>(c.scratch);
      const uint64_t conv_bytes = round64(conv_scratch_bytes(in[0], in[1], p, y));
      float* mul = reinterpret_cast<float*>(s + conv_bytes);
      float* add = reinterpret_cast<float*>(s + conv_bytes + round64(static_cast<uint64_t>(M) * 4));
      const float *scale = data(3), *bias = data(4), *mean = data(5), *var = data(6);
      for (int64_t m = 0; m < M; ++m) {
        mul[m] = scale[m] / std::sqrt(var[m] + a.bn_eps);
        add[m] = bias[m] - mean[m] * mul[m];
      }
      conv(in[0], in[1], data(2), p, y, c.scratch);
      channel_affine(y, mul, add, a.conv.epi);
      return;
    }
    case OpKind::ConvTranspose: return conv_transpose(in[0], in[1], data(2), a.conv, y);
    case OpKind::Pool: return pool(in[0], a.pool, y);
    case OpKind::MatMul:
      matmul(in[0], in[1], c.n_in > 2 ? data(2) : nullptr, y);
      if (a.epi.fn != UnaryFn::Identity) unary(a.epi.fn, a.epi, y, y);
      return;
    case OpKind::Gemm: return gemm(in[0], in[1], c.n_in > 2 && in[2].data ? &in[2] : nullptr, a.gemm, y);
    case OpKind::Unary: {
      Epilogue e = a.epi;
      if (a.unary == UnaryFn::Clip) {
        e.lo = c.n_in > 1 && in[1].data ? static_cast<float>(scalar(in[1])) : -std::numeric_limits<float>::infinity();
        e.hi = c.n_in > 2 && in[2].data ? static_cast<float>(scalar(in[2])) : std::numeric_limits<float>::infinity();
      }
      return unary(a.unary, e, in[0], y);
    }
    case OpKind::Binary:
      binary(a.binary, in[0], in[1], y);
      if (a.epi.fn != UnaryFn::Identity) unary(a.epi.fn, a.epi, y, y);  // a fused activation
      return;
    case OpKind::Where: return where(in[0], in[1], in[2], y);
    case OpKind::Cast: return cast(in[0], y);
    case OpKind::Variadic: return variadic(a.binary, a.mean, in, c.n_in, y);
    case OpKind::Softmax: {
      if (!a.coerce_2d) return softmax(in[0], a.axis_n, a.log, y);
      int64_t outer = 1;
      for (int64_t i = 0; i < a.axis_n; ++i) outer *= in[0].shape[i];
      const int64_t inner = outer ? in[0].numel() / outer : 0;
      const Tensor x2{in[0].dtype, {outer, inner}, in[0].data}, y2{y.dtype, {outer, inner}, y.data};
      return softmax(x2, 1, a.log, y2);
    }
    case OpKind::LayerNormNd: return layer_norm(in[0], a.axis_n, a.eps, data(1), c.n_in > 2 ? data(2) : nullptr, y);
    case OpKind::BatchNorm: return batch_norm(in[0], data(1), data(2), data(3), data(4), a.eps, y);
    case OpKind::Reduce:
      if (a.starts.empty() && a.noop_with_empty_axes) {  // no axes: the input as it is
        std::memcpy(y.data, in[0].data, static_cast<size_t>(y.nbytes()));
        return;
      }
      return reduce(a.reduce, in[0], a.starts, y);
    case OpKind::ArgExtreme: return arg_extreme(in[0], a.axis_n, a.is_max, a.select_last, y);
    case OpKind::TopK: return topk(in[0], a.k, a.axis_n, a.largest, y, c.t_out[1]);
    case OpKind::Concat: return concat(in, c.n_in, a.axis_n, y);
    case OpKind::Split: return split(in[0], a.axis_n, c.t_out, c.n_out);
    case OpKind::Transpose: return transpose(in[0], a.perm, y);
    case OpKind::Slice: return slice(in[0], a.starts, a.steps, y);
    case OpKind::Gather: return gather(in[0], in[1], a.axis_n, y);
    case OpKind::Expand: return expand(in[0], y);
    case OpKind::Pad: return pad(in[0], a.pads, a.pad_mode, a.value, y);
    case OpKind::Resize: return resize(in[0], a.resize, y);
    case OpKind::Copy:
      if (y.data != in[0].data && y.nbytes() > 0) std::memcpy(y.data, in[0].data, static_cast<size_t>(y.nbytes()));
      return;
    case OpKind::Range: return range(a.value, a.delta, y);
    case OpKind::Fill: return fill(in[1], y);
    case OpKind::GatherElements: return gather_elements(in[0], in[1], a.axis_n, y);
    case OpKind::Trilu: return trilu(in[0], a.k, a.largest, y);
    case OpKind::ShapeOf: {
      const Shape& x = in[0].shape;
      std::memcpy(y.data, x.data() + a.starts[0], static_cast<size_t>(a.starts[1] - a.starts[0]) * 8);
      return;
    }
    default: ER_CHECK(false, op.name, ": not an N-D op");
  }
}

}  // namespace edgerun::kernels
