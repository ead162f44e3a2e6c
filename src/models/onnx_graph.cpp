// build_onnx: an .onnx file -> Graph. Checks the IR version and opsets, names every node outside
// the claims at once, maps the nodes in order (each input must be defined earlier: a cycle or a
// dangling input is an error), and partitions the ops into layers: a layer starts at each op
// that reads weights (a conv with its folded BN, a MatMul, a Gemm), so that streaming executors
// load one weighted node at a time. Shapes come later, from the bind (graph/nd_bind.h).
#include <algorithm>
#include <cstring>
#include <filesystem>

#include "core/error.h"
#include "graph/nd_bind.h"
#include "models/onnx_build.h"

namespace edgerun {

namespace fs = std::filesystem;

const onnx::AttributeProto* attr(const onnx::NodeProto& n, const char* name) {
  for (const auto& a : n.attribute())
    if (a.name() == name) return &a;
  return nullptr;
}
int64_t attr_int(const onnx::NodeProto& n, const char* name, int64_t dflt) {
  const auto* a = attr(n, name);
  return a ? a->i() : dflt;
}
float attr_float(const onnx::NodeProto& n, const char* name, float dflt) {
  const auto* a = attr(n, name);
  return a ? a->f() : dflt;
}
std::string attr_string(const onnx::NodeProto& n, const char* name, const std::string& dflt) {
  const auto* a = attr(n, name);
  return a ? a->s() : dflt;
}
std::vector<int64_t> attr_ints(const onnx::NodeProto& n, const char* name) {
  const auto* a = attr(n, name);
  return a ? std::vector<int64_t>(a->ints().begin(), a->ints().end()) : std::vector<int64_t>{};
}

std::string OnnxBuild::node_name(const onnx::NodeProto& node) const {
  if (!node.name().empty()) return node.name();
  return node.op_type() + (node.output_size() ? ":" + node.output(0) : std::string());
}

ValueId OnnxBuild::constant_value(const std::string& name, DType dt, Shape shape, const void* data) {
  Constant c;
  c.dtype = dt;
  c.shape = shape;
  c.folded.assign(std::max<uint64_t>(1, c.nbytes()), 0);
  std::memcpy(c.folded.data(), data, c.nbytes());
  c.data = c.folded.data();
  g_.constants.push_back(std::move(c));
  mg_.constant_sources.emplace_back();
  const ValueId v = g_.add_nd_value(name, dt, std::move(shape));
  g_.values[v].constant = static_cast<int32_t>(g_.constants.size() - 1);
  return v;
}

ValueId OnnxBuild::tensor_value(const onnx::TensorProto& t, const std::string& where, bool as_weight) {
  const OnnxTensor ot = m_.resolve(t, where);
  const bool widened = ot.dtype == DType::F16 || ot.dtype == DType::BF16;
  const bool is_float = ot.dtype == DType::F32 || widened;
  const std::string name = t.name().empty() ? where : t.name();
  if (as_weight && is_float && ot.source == OnnxTensor::Source::FileRange && ot.numel() > 0) {
    WeightSlot s;
    s.name = name;
    s.file_dtype = ot.dtype;
    s.shape = ot.shape;
    s.file = ot.file;
    s.begin = ot.begin;
    s.end = ot.end;
    const SlotId id = g_.add_slot(std::move(s));
    const ValueId v = g_.add_nd_value(name, DType::F32, ot.shape);
    g_.values[v].slot = id;
    return v;
  }
  // A constant: its bytes are read into budgeted memory when the engine is built (fp16 and bf16
  // widened to fp32, as weights are).
  Constant c;
  c.dtype = widened ? DType::F32 : ot.dtype;
  c.shape = ot.shape;
  g_.constants.push_back(std::move(c));
  mg_.constant_sources.emplace_back(ot);
  const ValueId v = g_.add_nd_value(name, widened ? DType::F32 : ot.dtype, ot.shape);
  g_.values[v].constant = static_cast<int32_t>(g_.constants.size() - 1);
  return v;
}

ValueId OnnxBuild::input(const onnx::NodeProto& node, int i, Use use) {
  if (!has_input(node, i))
    ER_THROW(FormatError, m_.path(), ": node '", node_name(node), "' (", node.op_type(), ") lacks input ", i);
  const std::string& name = node.input(i);
  auto it = values_.find(name);
  if (it != values_.end()) return it->second;
  auto init = inits_.find(name);
  if (init == inits_.end())
    ER_THROW(FormatError, m_.path(), ": node '", node_name(node), "' (", node.op_type(), ") uses '", name,
             "', which no earlier node, graph input or initializer defines (a cycle, a dangling input, or "
             "nodes out of topological order)");
  // Float initializers at a weight position stream with their layer; so do large ones anywhere.
  const onnx::TensorProto& t = *init->second;
  uint64_t bytes = 1;
  for (int64_t d : t.dims()) bytes *= static_cast<uint64_t>(std::max<int64_t>(d, 0));
  const bool weight = use == Use::Weight || (use == Use::Data && bytes * 4 > kFoldBytes);
  const ValueId v = tensor_value(t, "initializer '" + name + "'", weight);
  values_[name] = v;
  return v;
}

ValueId OnnxBuild::weight_rows(const std::string& name, int64_t r0, int64_t r1) {
  const onnx::TensorProto* t = unused_initializer(name);
  if (!t) return kNone;
  const OnnxTensor ot = m_.resolve(*t, "initializer '" + name + "'");
  const bool is_float = ot.dtype == DType::F32 || ot.dtype == DType::F16 || ot.dtype == DType::BF16;
  if (!is_float || ot.source != OnnxTensor::Source::FileRange || ot.shape.empty() || r1 > ot.shape[0] || r0 >= r1)
    return kNone;
  const uint64_t row = ot.nbytes() / static_cast<uint64_t>(ot.shape[0]);
  WeightSlot s;
  s.name = name + "[" + std::to_string(r0) + ":" + std::to_string(r1) + "]";
  s.file_dtype = ot.dtype;
  s.shape = ot.shape;
  s.shape[0] = r1 - r0;
  s.file = ot.file;
  s.begin = ot.begin + static_cast<uint64_t>(r0) * row;
  s.end = ot.begin + static_cast<uint64_t>(r1) * row;
  const Shape dims = s.shape;
  const std::string vname = s.name;
  const SlotId id = g_.add_slot(std::move(s));
  const ValueId v = g_.add_nd_value(vname, DType::F32, dims);
  g_.values[v].slot = id;
  return v;
}

ValueId OnnxBuild::add(const onnx::NodeProto& node, OpKind kind, std::vector<ValueId> inputs, OpParams p,
                       int n_outputs) {
  std::vector<std::string> outs;
  for (int k = 0; k < n_outputs; ++k) {
    std::string o = k < node.output_size() ? node.output(k) : std::string();
    outs.push_back(o.empty() ? node_name(node) + ":out" + std::to_string(k) : o);
  }
  return add_named(node_name(node), kind, std::move(inputs), std::move(p), outs);
}

ValueId OnnxBuild::add_named(const std::string& op_name, OpKind kind, std::vector<ValueId> inputs, OpParams p,
                             const std::vector<std::string>& outs) {
  std::vector<SlotId> slots;
  for (ValueId v : inputs)
    if (v != kNone && g_.values[v].slot != kNone) slots.push_back(g_.values[v].slot);
  const ValueId first = g_.add_nd_op(kind, op_name, std::move(inputs), outs, std::move(slots), std::move(p));
  const Op& op = g_.ops.back();
  for (size_t k = 0; k < op.outputs.size(); ++k) {
    values_[outs[k]] = op.outputs[k];
    producer_[op.outputs[k]] = static_cast<int32_t>(g_.ops.size() - 1);
  }
  return first;
}

Op* OnnxBuild::sole_producer(ValueId v) {
  auto it = producer_.find(v);
  if (it == producer_.end()) return nullptr;
  auto u = uses_.find(g_.values[v].name);
  if (u == uses_.end() || u->second != 1) return nullptr;
  Op& op = g_.ops[static_cast<size_t>(it->second)];
  return op.outputs.size() == 1 ? &op : nullptr;
}

namespace {

int64_t default_opset(const onnx::ModelProto& m, const std::string& path) {
  int64_t opset = -1;
  for (const auto& o : m.opset_import())
    if (o.domain().empty() || o.domain() == "ai.onnx") opset = o.version();
  if (opset < 0)
    ER_THROW(UnsupportedError, path, ": the model imports no opset of the default ONNX domain (only ",
             m.opset_import_size() ? m.opset_import(0).domain() : std::string("none"), ")");
  if (opset > kOnnxMaxOpset)
    ER_THROW(UnsupportedError, path, ": opset ", opset, " is newer than edgerun supports (", kOnnxMinOpset, " to ",
             kOnnxMaxOpset, "); export with opset_version=", kOnnxMaxOpset);
  if (opset < kOnnxMinOpset)
    ER_THROW(UnsupportedError, path, ": opset ", opset, " is older than edgerun supports (", kOnnxMinOpset, " to ",
             kOnnxMaxOpset, "); convert it with onnx.version_converter");
  return opset;
}

void declare_input(Graph& g, ValueId v, const onnx::ValueInfoProto& vi, const std::string& path) {
  Value& val = g.values[v];
  val.is_input = true;
  if (!vi.type().has_tensor_type())
    ER_THROW(UnsupportedError, path, ": graph input '", vi.name(), "' is not a tensor");
  const auto& tt = vi.type().tensor_type();
  val.dtype = dtype_from_onnx(tt.elem_type(), path + ": graph input '" + vi.name() + "'");
  if (val.dtype == DType::F16 || val.dtype == DType::BF16)
    ER_THROW(UnsupportedError, path, ": graph input '", vi.name(), "' is ", dtype_name(val.dtype),
             "; edgerun computes fp16 and bf16 models in fp32 and takes fp32 inputs");
  if (!tt.has_shape()) ER_THROW(UnsupportedError, path, ": graph input '", vi.name(), "' declares no shape");
  for (const auto& d : tt.shape().dim()) {
    val.declared.push_back(d.has_dim_value() ? d.dim_value() : -1);
    val.dim_params.push_back(d.has_dim_param() ? d.dim_param() : std::string());
  }
}

}  // namespace

ModelGraph build_onnx(const std::string& path, const BuildOptions& opts) {
  auto model = std::make_shared<OnnxModel>(OnnxModel::open(path));
  const onnx::ModelProto& mp = model->proto();
  if (mp.ir_version() < 3 || mp.ir_version() > kOnnxMaxIr)
    ER_THROW(UnsupportedError, path, ": IR version ", mp.ir_version(), " is not supported (3 to ", kOnnxMaxIr,
             "); a model whose opsets edgerun supports can be saved with ir_version = ", kOnnxMaxIr);
  const int64_t opset = default_opset(mp, path);
  if (opts.precision && *opts.precision != Precision::Fp32)
    ER_THROW(InputError, "--precision ", to_string(*opts.precision), " is not implemented for ONNX models (fp32)");
  if (opts.attention) ER_THROW(InputError, "--attention applies to Hugging Face transformers, not ONNX graphs");
  const onnx::GraphProto& gp = mp.graph();
  if (gp.sparse_initializer_size()) ER_THROW(UnsupportedError, path, ": sparse initializers are not supported");

  // Every node outside the claims, named at once, before anything is built.
  std::string gaps;
  int n_gaps = 0;
  for (int i = 0; i < gp.node_size(); ++i) {
    const auto& n = gp.node(i);
    const std::string gap = onnx_claim_gap(n, opset);
    if (gap.empty()) continue;
    if (n_gaps < 12) gaps += std::string(n_gaps ? "; " : "") + "'" + (n.name().empty() ? n.op_type() : n.name()) + "' (" +
                            n.op_type() + "): " + gap;
    ++n_gaps;
  }
  if (n_gaps)
    ER_THROW(UnsupportedError, path, ": ", n_gaps, " node", n_gaps > 1 ? "s" : "", " edgerun does not run: ", gaps,
             n_gaps > 12 ? "; ..." : "");

  ModelGraph mg;
  mg.onnx = model;
  Graph& g = mg.graph;
  g.nd = true;
  ModelInfo& info = mg.info;
  info.dir = path;
  info.family = Family::Onnx;
  info.model_type = "onnx";
  info.arch = gp.name().empty() ? fs::path(path).stem().string() : gp.name();
  OnnxBuild b(*model, mg, opset);
  for (const auto& t : gp.initializer()) {
    if (t.name().empty()) ER_THROW(FormatError, path, ": an initializer has no name");
    b.add_initializer(&t);
  }
  std::vector<std::string> init_names;
  for (const auto& t : gp.initializer()) init_names.push_back(t.name());
  std::sort(init_names.begin(), init_names.end());
  for (const auto& vi : gp.input()) {
    if (std::binary_search(init_names.begin(), init_names.end(), vi.name())) continue;  // a default value
    if (b.defined(vi.name())) ER_THROW(FormatError, path, ": graph input '", vi.name(), "' is declared twice");
    const ValueId v = g.add_nd_value(vi.name(), DType::F32, {});
    declare_input(g, v, vi, path);
    g.nd_inputs.push_back(v);
    b.define(vi.name(), v);
  }
  if (g.nd_inputs.empty()) ER_THROW(UnsupportedError, path, ": the graph has no inputs");
  for (const auto& n : gp.node())
    for (const auto& in : n.input())
      if (!in.empty()) b.count_use(in);
  for (const auto& o : gp.output()) b.mark_output(o.name());
  for (const auto& n : gp.node()) {
    for (const auto& o : n.output())
      if (!o.empty() && b.defined(o))
        ER_THROW(FormatError, path, ": node '", b.node_name(n), "' writes '", o, "', which is already defined");
    map_onnx_node(b, n);
  }
  if (gp.output_size() == 0) ER_THROW(FormatError, path, ": the graph has no outputs");
  for (const auto& o : gp.output()) {
    if (!b.defined(o.name())) ER_THROW(FormatError, path, ": graph output '", o.name(), "' is produced by no node");
    const ValueId v = b.lookup(o.name());
    g.nd_outputs.push_back(v);
    if (g.nd_outputs.size() == 1) {
      g.output = v;
      info.primary_output = o.name();
    } else {
      g.extra_outputs.emplace_back(o.name(), v);
    }
  }
  if (g.ops.empty()) ER_THROW(UnsupportedError, path, ": the graph has no nodes");
  // Layers: one per op that reads weights, with the weightless ops after it.
  int32_t first = 0;
  for (int32_t i = 1; i <= static_cast<int32_t>(g.ops.size()); ++i)
    if (i == static_cast<int32_t>(g.ops.size()) || !g.ops[i].slots.empty()) {
      g.add_layer(g.ops[first].slots.empty() && first > 0 ? g.ops[first].name : g.ops[first].name, first, i);
      first = i;
    }
  mg.weights.paths = model->paths();
  return mg;
}

}  // namespace edgerun
