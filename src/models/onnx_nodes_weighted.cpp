// The mappings of the weighted ONNX nodes (Conv, ConvTranspose, BatchNormalization, the pools,
// MatMul, Gemm, LayerNormalization): their weights become slots, a BatchNormalization folds
// into the Conv before it, and a Gemm weight over kOnnxChunkBytes is cut into layers.
#include <algorithm>

#include "models/onnx_build.h"

namespace edgerun::onnx_map {

namespace {

AutoPad auto_pad(OnnxBuild& b, const Node& n) {
  const std::string s = attr_string(n, "auto_pad", "NOTSET");
  if (s == "NOTSET") return AutoPad::NotSet;
  if (s == "VALID") return AutoPad::Valid;
  if (s == "SAME_UPPER") return AutoPad::SameUpper;
  if (s == "SAME_LOWER") return AutoPad::SameLower;
  refuse(b, n, "auto_pad \"", s, "\"");
}

}  // namespace

void map_conv(OnnxBuild& b, const Node& n) {
  OpParams p = params();
  ConvParams& c = p.nd.conv;
  c.group = attr_int(n, "group", 1);
  c.kernel = attr_ints(n, "kernel_shape");
  c.strides = attr_ints(n, "strides");
  c.dilations = attr_ints(n, "dilations");
  c.pads = attr_ints(n, "pads");
  p.nd.auto_pad = auto_pad(b, n);
  std::vector<ValueId> in{b.input(n, 0), b.input(n, 1, Use::Weight)};
  if (b.has_input(n, 2)) in.push_back(b.input(n, 2, Use::Weight));
  const bool transpose = n.op_type() == "ConvTranspose";
  if (transpose) {
    c.output_padding = attr_ints(n, "output_padding");
    p.nd.output_shape = attr_ints(n, "output_shape");
  }
  b.add(n, transpose ? OpKind::ConvTranspose : OpKind::Conv, in, p);
}

void map_batchnorm(OnnxBuild& b, const Node& n) {
  if (attr_int(n, "training_mode", 0) != 0) refuse(b, n, "training_mode=1");
  const float eps = attr_float(n, "epsilon", 1e-5f);
  const ValueId x = b.input(n, 0);
  std::vector<ValueId> bn;
  for (int i = 1; i <= 4; ++i) bn.push_back(b.input(n, i, Use::Weight));
  Op* conv = b.sole_producer(x);
  if (conv && conv->kind == OpKind::Conv && !conv->p.nd.folded_bn && conv->p.nd.conv.epi.fn == UnaryFn::Identity) {
    if (conv->inputs.size() == 2) conv->inputs.push_back(kNone);
    for (ValueId v : bn) {
      conv->inputs.push_back(v);
      if (b.graph().values[v].slot != kNone) conv->slots.push_back(b.graph().values[v].slot);
    }
    conv->p.nd.folded_bn = true;
    conv->p.nd.bn_eps = eps;
    b.alias(n.output(0), conv->output);
    return;
  }
  OpParams p = params();
  p.nd.eps = eps;
  b.add(n, OpKind::BatchNorm, {x, bn[0], bn[1], bn[2], bn[3]}, p);
}

void map_pool(OnnxBuild& b, const Node& n) {
  OpParams p = params();
  PoolParams& q = p.nd.pool;
  const std::string& t = n.op_type();
  q.kind = t == "MaxPool" ? PoolKind::Max : t == "AveragePool" ? PoolKind::Average
         : t == "GlobalAveragePool" ? PoolKind::GlobalAverage : PoolKind::GlobalMax;
  if (q.kind == PoolKind::Max || q.kind == PoolKind::Average) {
    q.kernel = attr_ints(n, "kernel_shape");
    q.strides = attr_ints(n, "strides");
    q.pads = attr_ints(n, "pads");
    q.dilations = attr_ints(n, "dilations");
    q.ceil_mode = attr_int(n, "ceil_mode", 0) != 0;
    q.count_include_pad = attr_int(n, "count_include_pad", 0) != 0;
    p.nd.auto_pad = auto_pad(b, n);
    if (q.kernel.empty()) refuse(b, n, "kernel_shape is required");
  }
  b.add(n, OpKind::Pool, {b.input(n, 0)}, p);
}

void map_matmul(OnnxBuild& b, const Node& n) {
  b.add(n, OpKind::MatMul, {b.input(n, 0), b.input(n, 1, Use::Weight)}, params());
}

// A Gemm whose (N, K) weight (transB) is larger than kOnnxChunkBytes: one Gemm per chunk of
// output rows, each with its rows of the weight and of the bias, then a Concat of their outputs
// (which goes with the last chunk's layer). False when the node is not of that form.
static bool map_chunked_gemm(OnnxBuild& b, const Node& n, const OpParams& p) {
  if (!p.nd.gemm.trans_b || !b.has_input(n, 1)) return false;
  const onnx::TensorProto* w = b.unused_initializer(n.input(1));
  if (!w || w->dims_size() != 2) return false;
  const int64_t N = w->dims(0), K = w->dims(1);
  const uint64_t bytes = static_cast<uint64_t>(N) * static_cast<uint64_t>(K) * (w->data_type() == onnx::TensorProto::FLOAT ? 4 : 2);
  if (N < 2 || bytes <= kOnnxChunkBytes) return false;
  // The bias is cut with the weight where it is an unused (N) initializer; otherwise (an exporter
  // shares it with another node) it is added once to the joined output.
  const onnx::TensorProto* c = b.has_input(n, 2) ? b.unused_initializer(n.input(2)) : nullptr;
  if (c && (c->dims_size() != 1 || c->dims(0) != N)) c = nullptr;
  const bool add_bias_after = b.has_input(n, 2) && !c;
  if (add_bias_after && p.nd.gemm.beta != 1.0f) return false;
  const int64_t rows = std::max<int64_t>(1, static_cast<int64_t>(kOnnxChunkBytes / (bytes / static_cast<uint64_t>(N))));
  const ValueId a = b.input(n, 0);
  std::vector<ValueId> parts;
  for (int64_t r0 = 0, i = 0; r0 < N; r0 += rows, ++i) {
    const int64_t r1 = std::min(N, r0 + rows);
    std::vector<ValueId> in{a, b.weight_rows(n.input(1), r0, r1)};
    if (in[1] == kNone) return false;  // the first chunk decides; later ones resolve alike
    if (c) in.push_back(b.weight_rows(n.input(2), r0, r1));
    const std::string name = b.node_name(n) + "#" + std::to_string(i);
    parts.push_back(b.add_named(name, OpKind::Gemm, in, p, {name + ":out"}));
  }
  OpParams cp = params();
  cp.nd.axis = 1;
  if (!add_bias_after) {
    b.add(n, OpKind::Concat, parts, cp);
    return true;
  }
  const std::string joined = b.node_name(n) + ":joined";
  const ValueId y = b.add_named(joined, OpKind::Concat, parts, cp, {joined});
  OpParams ap = params();
  ap.nd.binary = BinaryFn::Add;
  b.add(n, OpKind::Binary, {y, b.input(n, 2)}, ap);
  return true;
}

void map_gemm(OnnxBuild& b, const Node& n) {
  OpParams p = params();
  p.nd.gemm.trans_a = attr_int(n, "transA", 0) != 0;
  p.nd.gemm.trans_b = attr_int(n, "transB", 0) != 0;
  p.nd.gemm.alpha = attr_float(n, "alpha", 1.0f);
  p.nd.gemm.beta = attr_float(n, "beta", 1.0f);
  if (map_chunked_gemm(b, n, p)) return;
  std::vector<ValueId> in{b.input(n, 0), b.input(n, 1, Use::Weight)};
  if (b.has_input(n, 2)) in.push_back(b.input(n, 2, Use::Weight));
  b.add(n, OpKind::Gemm, in, p);
}

void map_layernorm(OnnxBuild& b, const Node& n) {
  OpParams p = params();
  p.nd.axis = attr_int(n, "axis", -1);
  p.nd.eps = attr_float(n, "epsilon", 1e-5f);
  std::vector<ValueId> in{b.input(n, 0), b.input(n, 1, Use::Weight)};
  if (b.has_input(n, 2)) in.push_back(b.input(n, 2, Use::Weight));
  b.add(n, OpKind::LayerNormNd, in, p);
}


}  // namespace edgerun::onnx_map
