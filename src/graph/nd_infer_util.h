// Private helpers of the N-D shape rules (nd_infer*.cpp): errors naming the node, input
// access, known (constant) input values, axis normalization.
#pragma once
#include <string>
#include <vector>

#include "core/error.h"
#include "graph/graph.h"
#include "graph/op_schema.h"

namespace edgerun::nd_rules {

template <typename... A>
[[noreturn]] void fail(const Op& op, const A&... a) {
  ER_THROW(InputError, "node '", op.name, "' (", op_kind_name(op.kind), "): ", a...);
}

inline bool has(const Op& op, size_t i) { return i < op.inputs.size() && op.inputs[i] != kNone; }
inline const Value& iv(const Graph& g, const Op& op, size_t i) { return g.values[op.inputs[i]]; }
inline const Shape& idims(const Graph& g, const Op& op, size_t i) { return iv(g, op, i).dims; }

inline void set_out(Graph& g, const Op& op, size_t k, Shape dims, DType dt) {
  Value& v = g.values[op.outputs[k]];
  for (int64_t d : dims)
    if (d < 0) fail(op, "output ", k, " would have a negative dimension ", shape_str(dims));
  v.dims = std::move(dims);
  v.dtype = dt;
  v.rows = Rows::One;
  v.cols = shape_numel(v.dims);
}

inline const Constant* known(const Graph& g, ValueId v) {
  return g.values[v].constant == kNone ? nullptr : &g.constants[static_cast<size_t>(g.values[v].constant)];
}

// Input i's values as integers; it must be known when the graph is bound.
inline std::vector<int64_t> ints(const Graph& g, const Op& op, size_t i, const char* what) {
  const Constant* c = known(g, op.inputs[i]);
  if (!c)
    fail(op, "its ", what, " (input ", i, ", '", iv(g, op, i).name, "') depends on the input data; edgerun "
         "computes shapes before the pass, from the input shapes and constants only");
  std::vector<int64_t> r(static_cast<size_t>(c->numel()));
  for (size_t j = 0; j < r.size(); ++j) {
    if (c->dtype == DType::I64) r[j] = static_cast<const int64_t*>(c->data)[j];
    else if (c->dtype == DType::I32) r[j] = static_cast<const int32_t*>(c->data)[j];
    else fail(op, "its ", what, " must be int64 or int32, not ", dtype_name(c->dtype));
  }
  return r;
}

inline std::vector<double> reals(const Graph& g, const Op& op, size_t i, const char* what) {
  const Constant* c = known(g, op.inputs[i]);
  if (!c) fail(op, "its ", what, " (input ", i, ") must be a constant");
  std::vector<double> r(static_cast<size_t>(c->numel()));
  for (size_t j = 0; j < r.size(); ++j) switch (c->dtype) {
      case DType::F32: r[j] = static_cast<const float*>(c->data)[j]; break;
      case DType::F64: r[j] = static_cast<const double*>(c->data)[j]; break;
      case DType::F16: r[j] = f16_to_f32(static_cast<const uint16_t*>(c->data)[j]); break;
      case DType::I64: r[j] = static_cast<double>(static_cast<const int64_t*>(c->data)[j]); break;
      case DType::I32: r[j] = static_cast<const int32_t*>(c->data)[j]; break;
      default: fail(op, "its ", what, " has dtype ", dtype_name(c->dtype));
    }
  return r;
}

inline int64_t norm_axis(const Op& op, int64_t axis, int64_t rank) {
  if (axis < -rank || axis >= rank) fail(op, "axis ", axis, " is outside [", -rank, ", ", rank, ")");
  return axis < 0 ? axis + rank : axis;
}

inline bool is_float(DType d) { return d == DType::F32 || d == DType::F64 || d == DType::F16 || d == DType::BF16; }


// The conv and pool rules (nd_infer_conv.cpp).
void infer_conv(Graph& g, Op& op);
void infer_pool(Graph& g, Op& op);

}  // namespace edgerun::nd_rules
