// The ONNX node types edgerun claims, and how each maps onto N-D ops. A claim is an op type of
// the default domain at opsets kOnnxMinOpset..kOnnxMaxOpset, with the attribute values its
// rule accepts; dtypes are checked when the graph is bound (the kernels say which they take).
// The weighted nodes map in onnx_nodes_weighted.cpp. Fusions, identically for every executor
// and budget: a BatchNormalization into the Conv before it (there), an activation into the Conv
// or MatMul before it, and a bias Add into a MatMul with a weight (here).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "core/error.h"
#include "models/onnx_build.h"

namespace edgerun {

namespace {

using namespace onnx_map;
using Gap = std::string (*)(const Node&, int64_t opset);
using Map = void (*)(OnnxBuild&, const Node&);

std::string ok(const Node&, int64_t) { return ""; }

// Gap when an output beyond the first is used (training outputs, MaxPool's indices ...).
std::string first_output_only(const Node& n, int64_t) {
  for (int i = 1; i < n.output_size(); ++i)
    if (!n.output(i).empty()) return "its output " + std::to_string(i) + " ('" + n.output(i) + "') is not supported";
  return "";
}


ValueId unary_op(OpKind k, OnnxBuild& b, const Node& n, UnaryFn f, Epilogue e = {}) {
  OpParams p = params();
  p.nd.unary = f;
  p.nd.epi = e;
  p.nd.epi.fn = f;
  return b.add(n, k, {b.input(n, 0)}, p);
}

// An activation folded into the Conv, MatMul or arithmetic Binary (a residual Add) that writes
// its only input, when it can be.
bool fuse_activation(OnnxBuild& b, const Node& n, const Epilogue& e) {
  Op* prod = b.sole_producer(b.input(n, 0));
  const bool arithmetic = prod && prod->kind == OpKind::Binary && is_arithmetic(prod->p.nd.binary);
  if (!prod || (prod->kind != OpKind::Conv && prod->kind != OpKind::MatMul && !arithmetic)) return false;
  Epilogue& cur = prod->kind == OpKind::Conv ? prod->p.nd.conv.epi : prod->p.nd.epi;
  if (cur.fn != UnaryFn::Identity) return false;
  cur = e;
  b.alias(n.output(0), prod->output);
  return true;
}

void map_activation(OnnxBuild& b, const Node& n) {
  Epilogue e;
  const std::string& t = n.op_type();
  if (t == "Relu") e.fn = UnaryFn::Relu;
  else if (t == "Sigmoid") e.fn = UnaryFn::Sigmoid;
  else if (t == "Tanh") e.fn = UnaryFn::Tanh;
  else if (t == "HardSwish") e.fn = UnaryFn::HardSwish;
  else if (t == "LeakyRelu") e.fn = UnaryFn::LeakyRelu, e.alpha = attr_float(n, "alpha", 0.01f);
  else if (t == "HardSigmoid") {
    e.fn = UnaryFn::HardSigmoid;
    e.alpha = attr_float(n, "alpha", 0.2f);
    e.beta = attr_float(n, "beta", 0.5f);
  } else if (t == "Clip") {
    // The bounds are inputs (constants, read by the kernel's adapter when the op runs); absent
    // ones are infinite.
    OpParams p = params();
    p.nd.unary = UnaryFn::Clip;
    p.nd.epi.fn = UnaryFn::Clip;
    std::vector<ValueId> in{b.input(n, 0)};
    for (int i = 1; i <= 2; ++i) in.push_back(b.has_input(n, i) ? b.input(n, i, Use::Shape) : kNone);
    while (in.back() == kNone) in.pop_back();
    b.add(n, OpKind::Unary, in, p);
    return;
  }
  if (fuse_activation(b, n, e)) return;
  unary_op(OpKind::Unary, b, n, e.fn, e);
}

void map_unary(OnnxBuild& b, const Node& n) {
  static const std::pair<const char*, UnaryFn> kFns[] = {
      {"Exp", UnaryFn::Exp},   {"Log", UnaryFn::Log},     {"Neg", UnaryFn::Neg},
      {"Abs", UnaryFn::Abs},   {"Sqrt", UnaryFn::Sqrt},   {"Erf", UnaryFn::Erf},
      {"Reciprocal", UnaryFn::Reciprocal}, {"Floor", UnaryFn::Floor}, {"Ceil", UnaryFn::Ceil},
      {"Not", UnaryFn::Not},   {"Identity", UnaryFn::Identity}, {"Dropout", UnaryFn::Identity}};
  for (const auto& [name, f] : kFns)
    if (n.op_type() == name) {
      if (n.op_type() == "Dropout" && b.has_input(n, 2)) {
        const Value& v = b.graph().values[b.input(n, 2, Use::Shape)];
        if (v.constant == kNone) refuse(b, n, "training_mode must be a constant false");
      }
      unary_op(OpKind::Unary, b, n, f);
      return;
    }
  ER_CHECK(false, "unary ", n.op_type());
}

void map_binary(OnnxBuild& b, const Node& n) {
  static const std::pair<const char*, BinaryFn> kFns[] = {
      {"Add", BinaryFn::Add},     {"Sub", BinaryFn::Sub},   {"Mul", BinaryFn::Mul},
      {"Div", BinaryFn::Div},     {"Pow", BinaryFn::Pow},   {"Equal", BinaryFn::Equal},
      {"Less", BinaryFn::Less},   {"Greater", BinaryFn::Greater}, {"And", BinaryFn::And},
      {"Or", BinaryFn::Or}};
  OpParams p = params();
  bool found = false;
  for (const auto& [name, f] : kFns)
    if (n.op_type() == name) p.nd.binary = f, found = true;
  ER_CHECK(found, "binary ", n.op_type());
  if (p.nd.binary == BinaryFn::Add) {
    // MatMul with a weight, then + a bias vector of its output width: one MatMul with a bias.
    for (int side = 0; side < 2; ++side) {
      const ValueId x = b.input(n, side), bias = b.input(n, 1 - side, Use::Weight);
      Op* prod = b.sole_producer(x);
      const Graph& g = b.graph();
      if (!prod || prod->kind != OpKind::MatMul || prod->inputs.size() != 2 || prod->p.nd.epi.fn != UnaryFn::Identity)
        continue;
      const Value& w = g.values[prod->inputs[1]];
      const Value& bv = g.values[bias];
      if (w.slot == kNone || bv.slot == kNone || w.dims.size() != 2 || bv.dims != Shape{w.dims[1]}) continue;
      prod->inputs.push_back(bias);
      prod->slots.push_back(bv.slot);
      b.alias(n.output(0), prod->output);
      return;
    }
  }
  b.add(n, OpKind::Binary, {b.input(n, 0), b.input(n, 1)}, p);
}

void map_variadic(OnnxBuild& b, const Node& n) {
  OpParams p = params();
  const std::string& t = n.op_type();
  p.nd.binary = t == "Max" ? BinaryFn::Max : t == "Min" ? BinaryFn::Min : BinaryFn::Add;
  p.nd.mean = t == "Mean";
  std::vector<ValueId> in;
  for (int i = 0; i < n.input_size(); ++i) in.push_back(b.input(n, i));
  if (in.size() == 2 && !p.nd.mean) {
    b.add(n, OpKind::Binary, in, p);
    return;
  }
  b.add(n, OpKind::Variadic, in, p);
}

void map_where(OnnxBuild& b, const Node& n) { b.add(n, OpKind::Where, {b.input(n, 0), b.input(n, 1), b.input(n, 2)}, params()); }

std::string cast_gap(const Node& n, int64_t) {
  const int64_t to = attr_int(n, "to", 1);
  if (to == onnx::TensorProto::BFLOAT16)
    return "Cast to BFLOAT16: edgerun rounds to nearest even (as torch and ONNX from 1.14 do), the ONNX 1.12 "
           "reference truncates";
  if (to == onnx::TensorProto::STRING) return "Cast to STRING";
  return "";
}

void map_cast(OnnxBuild& b, const Node& n) {
  OpParams p = params();
  p.nd.to = dtype_from_onnx(static_cast<int32_t>(attr_int(n, "to", 1)), "node '" + b.node_name(n) + "' (Cast)");
  b.add(n, OpKind::Cast, {b.input(n, 0)}, p);
}

void map_softmax(OnnxBuild& b, const Node& n) {
  OpParams p = params();
  p.nd.log = n.op_type() == "LogSoftmax";
  p.nd.axis = attr_int(n, "axis", b.opset() >= 13 ? -1 : 1);
  // Before opset 13 the input is coerced to 2-D at `axis`: softmax over every axis from it on.
  p.nd.coerce_2d = b.opset() < 13;
  b.add(n, OpKind::Softmax, {b.input(n, 0)}, p);
}

void map_reduce(OnnxBuild& b, const Node& n) {
  OpParams p = params();
  const std::string& t = n.op_type();
  p.nd.reduce = t == "ReduceMean" ? ReduceFn::Mean : t == "ReduceMax" ? ReduceFn::Max
              : t == "ReduceMin" ? ReduceFn::Min : t == "ReduceProd" ? ReduceFn::Prod : ReduceFn::Sum;
  p.nd.keepdims = attr_int(n, "keepdims", 1) != 0;
  p.nd.noop_with_empty_axes = attr_int(n, "noop_with_empty_axes", 0) != 0;
  p.nd.axes = attr_ints(n, "axes");
  std::vector<ValueId> in{b.input(n, 0)};
  if (b.has_input(n, 1)) in.push_back(b.input(n, 1, Use::Shape));
  b.add(n, OpKind::Reduce, in, p);
}

void map_arg(OnnxBuild& b, const Node& n) {
  OpParams p = params();
  p.nd.is_max = n.op_type() == "ArgMax";
  p.nd.axis = attr_int(n, "axis", 0);
  p.nd.keepdims = attr_int(n, "keepdims", 1) != 0;
  p.nd.select_last = attr_int(n, "select_last_index", 0) != 0;
  b.add(n, OpKind::ArgExtreme, {b.input(n, 0)}, p);
}

void map_topk(OnnxBuild& b, const Node& n) {
  OpParams p = params();
  p.nd.axis = attr_int(n, "axis", -1);
  p.nd.largest = attr_int(n, "largest", 1) != 0;
  p.nd.sorted = attr_int(n, "sorted", 1) != 0;
  b.add(n, OpKind::TopK, {b.input(n, 0), b.input(n, 1, Use::Shape)}, p, 2);
}

void map_concat(OnnxBuild& b, const Node& n) {
  OpParams p = params();
  if (!attr(n, "axis")) refuse(b, n, "the axis attribute is required");
  p.nd.axis = attr_int(n, "axis", 0);
  std::vector<ValueId> in;
  for (int i = 0; i < n.input_size(); ++i) in.push_back(b.input(n, i));
  b.add(n, OpKind::Concat, in, p);
}

void map_split(OnnxBuild& b, const Node& n) {
  OpParams p = params();
  p.nd.axis = attr_int(n, "axis", 0);
  p.nd.sizes = attr_ints(n, "split");
  std::vector<ValueId> in{b.input(n, 0)};
  if (b.has_input(n, 1)) in.push_back(b.input(n, 1, Use::Shape));
  b.add(n, OpKind::Split, in, p, n.output_size());
}

void map_transpose(OnnxBuild& b, const Node& n) {
  OpParams p = params();
  p.nd.perm = attr_ints(n, "perm");
  b.add(n, OpKind::Transpose, {b.input(n, 0)}, p);
}

void map_slice(OnnxBuild& b, const Node& n) {
  std::vector<ValueId> in{b.input(n, 0), b.input(n, 1, Use::Shape), b.input(n, 2, Use::Shape)};
  for (int i = 3; i <= 4; ++i) in.push_back(b.has_input(n, i) ? b.input(n, i, Use::Shape) : kNone);
  while (in.back() == kNone) in.pop_back();
  b.add(n, OpKind::Slice, in, params());
}

void map_gather(OnnxBuild& b, const Node& n) {
  OpParams p = params();
  p.nd.axis = attr_int(n, "axis", 0);
  b.add(n, OpKind::Gather, {b.input(n, 0, Use::Weight), b.input(n, 1)}, p);
}

void map_gather_elements(OnnxBuild& b, const Node& n) {
  OpParams p = params();
  p.nd.axis = attr_int(n, "axis", 0);
  b.add(n, OpKind::GatherElements, {b.input(n, 0), b.input(n, 1)}, p);
}

void map_trilu(OnnxBuild& b, const Node& n) {
  OpParams p = params();
  p.nd.largest = attr_int(n, "upper", 1) != 0;
  std::vector<ValueId> in{b.input(n, 0)};
  if (b.has_input(n, 1)) in.push_back(b.input(n, 1, Use::Shape));
  b.add(n, OpKind::Trilu, in, p);
}

void map_expand(OnnxBuild& b, const Node& n) { b.add(n, OpKind::Expand, {b.input(n, 0), b.input(n, 1, Use::Shape)}, params()); }

void map_pad(OnnxBuild& b, const Node& n) {
  OpParams p = params();
  const std::string mode = attr_string(n, "mode", "constant");
  if (mode == "constant") p.nd.pad_mode = PadMode::Constant;
  else if (mode == "reflect") p.nd.pad_mode = PadMode::Reflect;
  else if (mode == "edge") p.nd.pad_mode = PadMode::Edge;
  else refuse(b, n, "mode \"", mode, "\"");
  std::vector<ValueId> in{b.input(n, 0), b.input(n, 1, Use::Shape)};
  if (b.has_input(n, 2)) in.push_back(b.input(n, 2, Use::Shape));
  b.add(n, OpKind::Pad, in, p);
}

void map_resize(OnnxBuild& b, const Node& n) {
  OpParams p = params();
  ResizeParams& r = p.nd.resize;
  const std::string mode = attr_string(n, "mode", "nearest");
  const std::string coord = attr_string(n, "coordinate_transformation_mode", "half_pixel");
  const std::string near = attr_string(n, "nearest_mode", "round_prefer_floor");
  if (mode == "nearest") r.mode = ResizeMode::Nearest;
  else if (mode == "linear") r.mode = ResizeMode::Linear;
  else refuse(b, n, "mode \"", mode, "\"");
  if (coord == "half_pixel") r.coord = CoordMode::HalfPixel;
  else if (coord == "pytorch_half_pixel") r.coord = CoordMode::PytorchHalfPixel;
  else if (coord == "align_corners") r.coord = CoordMode::AlignCorners;
  else if (coord == "asymmetric") r.coord = CoordMode::Asymmetric;
  else if (coord == "tf_half_pixel_for_nn") r.coord = CoordMode::TfHalfPixelForNn;
  else refuse(b, n, "coordinate_transformation_mode \"", coord, "\"");
  if (near == "round_prefer_floor") r.nearest = NearestMode::RoundPreferFloor;
  else if (near == "round_prefer_ceil") r.nearest = NearestMode::RoundPreferCeil;
  else if (near == "floor") r.nearest = NearestMode::Floor;
  else if (near == "ceil") r.nearest = NearestMode::Ceil;
  else refuse(b, n, "nearest_mode \"", near, "\"");
  if (attr_int(n, "exclude_outside", 0) != 0) refuse(b, n, "exclude_outside=1");
  std::vector<ValueId> in{b.input(n, 0)};
  for (int i = 1; i <= 3; ++i) in.push_back(b.has_input(n, i) ? b.input(n, i, Use::Shape) : kNone);
  while (in.back() == kNone) in.pop_back();
  b.add(n, OpKind::Resize, in, p);
}

void map_copy(OnnxBuild& b, const Node& n) {
  OpParams p = params();
  const std::string& t = n.op_type();
  NdAttrs& a = p.nd;
  std::vector<ValueId> in{b.input(n, 0)};
  if (t == "Reshape") {
    a.reshaping = Reshaping::Reshape;
    a.allowzero = attr_int(n, "allowzero", 0) != 0;
    in.push_back(b.input(n, 1, Use::Shape));
  } else if (t == "Flatten") {
    a.reshaping = Reshaping::Flatten;
    a.axis = attr_int(n, "axis", 1);
  } else {
    a.reshaping = t == "Squeeze" ? Reshaping::Squeeze : Reshaping::Unsqueeze;
    a.axes = attr_ints(n, "axes");
    if (b.has_input(n, 1)) in.push_back(b.input(n, 1, Use::Shape));
    if (a.reshaping == Reshaping::Unsqueeze && a.axes.empty() && in.size() == 1) refuse(b, n, "axes are required");
  }
  b.add(n, OpKind::Copy, in, p);
}

void map_range(OnnxBuild& b, const Node& n) {
  b.add(n, OpKind::Range, {b.input(n, 0, Use::Shape), b.input(n, 1, Use::Shape), b.input(n, 2, Use::Shape)}, params());
}

void map_shape(OnnxBuild& b, const Node& n) {
  OpParams p = params();
  p.nd.axis = attr_int(n, "start", 0);
  p.nd.k = attr_int(n, "end", std::numeric_limits<int64_t>::max());
  b.add(n, OpKind::ShapeOf, {b.input(n, 0)}, p);
}

void map_constant_of_shape(OnnxBuild& b, const Node& n) {
  std::vector<ValueId> in{b.input(n, 0, Use::Shape)};
  if (const onnx::AttributeProto* a = attr(n, "value")) {
    if (!a->has_t()) refuse(b, n, "value must be a tensor");
    in.push_back(b.tensor_value(a->t(), "node '" + b.node_name(n) + "' value", false));
  } else {
    const float zero = 0;
    in.push_back(b.constant_value(b.node_name(n) + ":value", DType::F32, {1}, &zero));
  }
  b.add(n, OpKind::Fill, in, params());
}

void map_constant(OnnxBuild& b, const Node& n) {
  if (n.attribute_size() != 1) refuse(b, n, "one attribute expected");
  const onnx::AttributeProto& a = n.attribute(0);
  const std::string where = "Constant node '" + b.node_name(n) + "'";
  ValueId v = kNone;
  if (a.name() == "value") {
    v = b.tensor_value(a.t(), where, false);
  } else if (a.name() == "value_float") {
    const float f = a.f();
    v = b.constant_value(n.output(0), DType::F32, {}, &f);
  } else if (a.name() == "value_floats") {
    std::vector<float> f(a.floats().begin(), a.floats().end());
    v = b.constant_value(n.output(0), DType::F32, {static_cast<int64_t>(f.size())}, f.data());
  } else if (a.name() == "value_int") {
    const int64_t i = a.i();
    v = b.constant_value(n.output(0), DType::I64, {}, &i);
  } else if (a.name() == "value_ints") {
    std::vector<int64_t> i(a.ints().begin(), a.ints().end());
    v = b.constant_value(n.output(0), DType::I64, {static_cast<int64_t>(i.size())}, i.data());
  } else {
    refuse(b, n, "attribute ", a.name(), " (sparse and string constants are not supported)");
  }
  b.define(n.output(0), v);
}

struct Rule {
  const char* op;
  Gap gap;
  Map map;
};

const std::vector<Rule>& rules() {
  static const std::vector<Rule> r = {
      {"Conv", ok, map_conv},
      {"ConvTranspose", ok, map_conv},
      {"BatchNormalization", first_output_only, map_batchnorm},
      {"Relu", ok, map_activation},
      {"Clip", ok, map_activation},
      {"Sigmoid", ok, map_activation},
      {"HardSigmoid", ok, map_activation},
      {"HardSwish", ok, map_activation},
      {"LeakyRelu", ok, map_activation},
      {"Tanh", ok, map_activation},
      {"Softmax", ok, map_softmax},
      {"LogSoftmax", ok, map_softmax},
      {"Exp", ok, map_unary},
      {"Log", ok, map_unary},
      {"Neg", ok, map_unary},
      {"Abs", ok, map_unary},
      {"Sqrt", ok, map_unary},
      {"Erf", ok, map_unary},
      {"Reciprocal", ok, map_unary},
      {"Floor", ok, map_unary},
      {"Ceil", ok, map_unary},
      {"Not", ok, map_unary},
      {"Identity", ok, map_unary},
      {"Dropout", first_output_only, map_unary},
      {"Min", ok, map_variadic},
      {"Max", ok, map_variadic},
      {"Sum", ok, map_variadic},
      {"Mean", ok, map_variadic},
      {"MaxPool", first_output_only, map_pool},
      {"AveragePool", ok, map_pool},
      {"GlobalAveragePool", ok, map_pool},
      {"GlobalMaxPool", ok, map_pool},
      {"Add", ok, map_binary},
      {"Sub", ok, map_binary},
      {"Mul", ok, map_binary},
      {"Div", ok, map_binary},
      {"Pow", ok, map_binary},
      {"Equal", ok, map_binary},
      {"Less", ok, map_binary},
      {"Greater", ok, map_binary},
      {"And", ok, map_binary},
      {"Or", ok, map_binary},
      {"Where", ok, map_where},
      {"Cast", cast_gap, map_cast},
      {"Concat", ok, map_concat},
      {"Split", ok, map_split},
      {"Reshape", ok, map_copy},
      {"Flatten", ok, map_copy},
      {"Squeeze", ok, map_copy},
      {"Unsqueeze", ok, map_copy},
      {"Transpose", ok, map_transpose},
      {"Slice", ok, map_slice},
      {"Gather", ok, map_gather},
      {"GatherElements", ok, map_gather_elements},
      {"Trilu", ok, map_trilu},
      {"Shape", ok, map_shape},
      {"Constant", ok, map_constant},
      {"ConstantOfShape", ok, map_constant_of_shape},
      {"Range", ok, map_range},
      {"Expand", ok, map_expand},
      {"MatMul", ok, map_matmul},
      {"Gemm", ok, map_gemm},
      {"LayerNormalization", first_output_only, map_layernorm},
      {"ReduceMean", ok, map_reduce},
      {"ReduceMax", ok, map_reduce},
      {"ReduceMin", ok, map_reduce},
      {"ReduceSum", ok, map_reduce},
      {"ReduceProd", ok, map_reduce},
      {"ArgMax", ok, map_arg},
      {"ArgMin", ok, map_arg},
      {"TopK", ok, map_topk},
      {"Resize", ok, map_resize},
      {"Pad", ok, map_pad},
  };
  return r;
}

const Rule* find_rule(const std::string& op) {
  for (const Rule& r : rules())
    if (op == r.op) return &r;
  return nullptr;
}

}  // namespace

std::string onnx_claim_gap(const Node& n, int64_t opset) {
  if (!n.domain().empty() && n.domain() != "ai.onnx")
    return "domain \"" + n.domain() + "\" is not supported (only the default ONNX domain)";
  const std::string& t = n.op_type();
  if (t == "QuantizeLinear" || t == "DequantizeLinear" || t.rfind("QLinear", 0) == 0 || t == "MatMulInteger" ||
      t == "ConvInteger" || t == "DynamicQuantizeLinear")
    return "quantized models (QDQ, QLinear*) are not supported";
  const Rule* r = find_rule(t);
  if (!r) return "op type " + t + " is not supported";
  return r->gap(n, opset);
}

void map_onnx_node(OnnxBuild& b, const Node& n) {
  const Rule* r = find_rule(n.op_type());
  ER_CHECK(r, n.op_type());
  r->map(b, n);
}

std::vector<std::string> claimed_onnx_ops() {
  std::vector<std::string> out;
  for (const Rule& r : rules()) out.push_back(r.op);
  return out;
}

}  // namespace edgerun
