// The ONNX frontend's private parts: the build context the node mappings share
// (onnx_graph.cpp drives, onnx_nodes.cpp maps each node type onto N-D ops, and holds the claims:
// which op types, at which opsets and with which attribute values, edgerun runs).
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/error.h"
#include "formats/onnx.h"
#include "graph/graph.h"
#include "models/model.h"

namespace edgerun {

// The opsets of the default domain edgerun claims.
inline constexpr int64_t kOnnxMinOpset = 11, kOnnxMaxOpset = 17;
inline constexpr int64_t kOnnxMaxIr = 10;
// A Gemm weight above this is cut along its output rows into chunks of at most this many bytes,
// each its own layer, when the graph is built: the same at every budget, so that every executor
// makes the same kernel calls, and no layer is larger than a budget of a few percent needs.
inline constexpr uint64_t kOnnxChunkBytes = uint64_t{16} << 20;

// Where a node's input is used: weight positions make float initializers weight slots (streamed
// with the layer); others make small initializers constants.
enum class Use : uint8_t { Data, Weight, Shape };

class OnnxBuild {
 public:
  OnnxBuild(OnnxModel& m, ModelGraph& mg, int64_t opset) : m_(m), mg_(mg), g_(mg.graph), opset_(opset) {}

  int64_t opset() const { return opset_; }
  Graph& graph() { return g_; }
  // The value of ONNX name `name` used by `node` as an input (an initializer becomes a weight
  // slot or a constant here, at its first use). FormatError when no earlier node, input or
  // initializer defines it.
  ValueId input(const onnx::NodeProto& node, int i, Use use = Use::Data);
  bool has_input(const onnx::NodeProto& node, int i) const {
    return i < node.input_size() && !node.input(i).empty();
  }
  // A constant value holding the given data (attribute scalars, ConstantOfShape's default).
  ValueId constant_value(const std::string& name, DType dt, Shape shape, const void* data);
  // A constant or weight value for a tensor of the model (initializer, Constant attribute).
  ValueId tensor_value(const onnx::TensorProto& t, const std::string& where, bool as_weight);
  // Rows [r0, r1) of a 2-D float initializer held in one file range, as a weight value (an
  // output chunk of a large Gemm); kNone when `name` is not such an initializer.
  ValueId weight_rows(const std::string& name, int64_t r0, int64_t r1);
  // The initializer `name` when it is one and no node has used it yet, else null.
  const onnx::TensorProto* unused_initializer(const std::string& name) const {
    auto it = inits_.find(name);
    return it == inits_.end() || values_.count(name) ? nullptr : it->second;
  }
  // Appends the N-D op for `node` (outputs named as the node's) and records its outputs.
  ValueId add(const onnx::NodeProto& node, OpKind kind, std::vector<ValueId> inputs, OpParams p,
              int n_outputs = 1);
  // The same with explicit op and output names (the chunks of a split node).
  ValueId add_named(const std::string& op_name, OpKind kind, std::vector<ValueId> inputs, OpParams p,
                    const std::vector<std::string>& outputs);
  // Makes ONNX name `name` refer to an existing value (a fused node's output).
  void alias(const std::string& name, ValueId v) { values_[name] = v; }
  // The op producing v, when v has exactly one consumer in the model and is not a graph output
  // (the conditions for folding the consumer into it); null otherwise.
  Op* sole_producer(ValueId v);

  void define(const std::string& name, ValueId v) { values_[name] = v; }
  bool defined(const std::string& name) const { return values_.count(name) > 0; }
  ValueId lookup(const std::string& name) const { return values_.at(name); }
  void add_initializer(const onnx::TensorProto* t) { inits_[t->name()] = t; }
  void count_use(const std::string& name) { ++uses_[name]; }
  void mark_output(const std::string& name) { uses_[name] += 1000; }
  std::string node_name(const onnx::NodeProto& node) const;

 private:
  OnnxModel& m_;
  ModelGraph& mg_;
  Graph& g_;
  int64_t opset_;
  std::map<std::string, ValueId> values_;
  std::map<std::string, const onnx::TensorProto*> inits_;
  std::map<std::string, int> uses_;
  std::map<ValueId, int32_t> producer_;  // value -> index of the op that writes it
};

// Shared by the node mappings (onnx_nodes.cpp, onnx_nodes_weighted.cpp).
namespace onnx_map {
using Node = onnx::NodeProto;
template <typename... A>
[[noreturn]] void refuse(OnnxBuild& b, const Node& n, const A&... a) {
  ER_THROW(UnsupportedError, "node '", b.node_name(n), "' (", n.op_type(), "): ", a...);
}
inline OpParams params() { return OpParams{}; }
// The weighted nodes' mappings (onnx_nodes_weighted.cpp).
void map_conv(OnnxBuild& b, const Node& n);
void map_batchnorm(OnnxBuild& b, const Node& n);
void map_pool(OnnxBuild& b, const Node& n);
void map_matmul(OnnxBuild& b, const Node& n);
void map_gemm(OnnxBuild& b, const Node& n);
void map_layernorm(OnnxBuild& b, const Node& n);
}  // namespace onnx_map

// Attributes of a node.
const onnx::AttributeProto* attr(const onnx::NodeProto& n, const char* name);
int64_t attr_int(const onnx::NodeProto& n, const char* name, int64_t dflt);
float attr_float(const onnx::NodeProto& n, const char* name, float dflt);
std::string attr_string(const onnx::NodeProto& n, const char* name, const std::string& dflt);
std::vector<int64_t> attr_ints(const onnx::NodeProto& n, const char* name);

// Why edgerun does not run this node at this opset with these attributes ("" when it does):
// the claims. Checked for every node before any is mapped, so that every unsupported node is
// named at once.
std::string onnx_claim_gap(const onnx::NodeProto& node, int64_t opset);
// Maps one claimed node onto ops.
void map_onnx_node(OnnxBuild& b, const onnx::NodeProto& node);
// The op types edgerun claims, for messages and the conformance report.
std::vector<std::string> claimed_onnx_ops();

// Builds the graph of an .onnx file.
ModelGraph build_onnx(const std::string& path, const BuildOptions& opts);

}  // namespace edgerun
