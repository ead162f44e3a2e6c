// The bind of an N-D graph (ONNX): given the shapes of the run's inputs, every value gets its
// dims and dtype by the op kinds' shape rules (graph/nd_infer.cpp), shape-dependent attributes
// are normalized (pads from auto_pad, slice bounds, resize scales), and ops whose inputs are all
// known (shape arithmetic: Shape, Gather, Concat, Unsqueeze ... over constants) are computed
// here, once, by an evaluator the runtime gives (the CPU backend), and skipped by the pass.
// Symbolic dimensions (batch, height, width) take the input's values; a dimension that cannot
// be resolved, or an input whose shape contradicts the model, is an InputError naming the node
// (or input) and the dimension.
#pragma once
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "graph/graph.h"

namespace edgerun {

// Computes op's outputs from its inputs (all in host memory, shapes as bound).
using NdEvaluator = std::function<void(const Graph& g, const Op& op, const std::vector<Tensor>& in,
                                       const std::vector<Tensor>& out)>;

// Largest output the bind computes itself; larger outputs of known inputs run in the pass.
inline constexpr uint64_t kFoldBytes = 64 << 10;

// Whether input i of op is read when the graph is bound (a shape, axes, pads, sizes, scales, K,
// Range's bounds): its values must be known then.
bool nd_bind_time_input(const Op& op, size_t i);

// Binds g for these input shapes (one per g.nd_inputs, in order). `input_values`, where given,
// holds the data of graph inputs read at bind time (nd_bind_time_input: a Reshape's shape given
// as a graph input); their values are then known, as constants are. Re-binding replaces what a
// previous bind computed.
void bind_nd_graph(Graph& g, const std::vector<Shape>& input_shapes, const NdEvaluator& eval,
                   const std::vector<const void*>& input_values = {});

// The shape rule of one N-D op (nd_infer.cpp): sets its outputs' dims and dtypes and its bound
// attributes from its inputs' dims and known values.
void nd_infer(Graph& g, Op& op);

// numpy broadcasting of two shapes; nullopt-free: InputError naming `where` when they do not.
Shape broadcast_shapes(const Shape& a, const Shape& b, const std::string& where);

// FLOPs of an N-D op as bound (multiply-adds count 2).
double nd_flops(const Graph& g, const Op& op);

}  // namespace edgerun
