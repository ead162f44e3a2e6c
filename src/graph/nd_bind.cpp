// bind_nd_graph: input shapes checked against the declared ones, symbols bound, every op's
// shape rule run in order, and shape arithmetic over constants computed once.
#include "graph/nd_bind.h"

#include <cstring>

#include "core/error.h"

namespace edgerun {

namespace {

void forget_previous_bind(Graph& g) {
  size_t model = 0;
  while (model < g.constants.size() && !g.constants[model].from_bind) ++model;
  for (size_t i = model; i < g.constants.size(); ++i) ER_CHECK(g.constants[i].from_bind, "constants out of order");
  g.constants.resize(model);
  for (Value& v : g.values) {
    if (v.constant != kNone && static_cast<size_t>(v.constant) >= model) v.constant = kNone;
    if (v.constant == kNone && v.slot == kNone && !v.is_input) {
      v.dims.clear();
      v.cols = 0;
    }
  }
  for (Op& op : g.ops) op.folded = false;
}

void bind_inputs(Graph& g, const std::vector<Shape>& shapes) {
  if (shapes.size() != g.nd_inputs.size())
    ER_THROW(InputError, "the model takes ", g.nd_inputs.size(), " inputs; ", shapes.size(), " given");
  std::map<std::string, std::pair<int64_t, std::string>> symbols;  // name -> value, where bound
  for (size_t i = 0; i < shapes.size(); ++i) {
    Value& v = g.values[g.nd_inputs[i]];
    const Shape& s = shapes[i];
    if (s.size() != v.declared.size())
      ER_THROW(InputError, "input '", v.name, "' must have ", v.declared.size(), " dimensions ", shape_str(v.declared),
               " (-1: any); got ", shape_str(s));
    for (size_t d = 0; d < s.size(); ++d) {
      const std::string& sym = d < v.dim_params.size() ? v.dim_params[d] : std::string();
      if (s[d] < 0) ER_THROW(InputError, "input '", v.name, "' dimension ", d, " is negative");
      if (v.declared[d] >= 0 && s[d] != v.declared[d])
        ER_THROW(InputError, "input '", v.name, "' dimension ", d, " must be ", v.declared[d], "; got ", s[d],
                 " (shape ", shape_str(s), ")");
      if (v.declared[d] < 0 && !sym.empty()) {
        const std::string here = "input '" + v.name + "' dimension " + std::to_string(d);
        auto [it, fresh] = symbols.emplace(sym, std::make_pair(s[d], here));
        if (!fresh && it->second.first != s[d])
          ER_THROW(InputError, here, " ('", sym, "') is ", s[d], ", but ", it->second.second, " binds '", sym,
                   "' to ", it->second.first);
      }
    }
    v.dims = s;
    v.rows = Rows::One;
    v.cols = shape_numel(s);
  }
}

bool all_inputs_known(const Graph& g, const Op& op) {
  for (ValueId v : op.inputs)
    if (v != kNone && g.values[v].constant == kNone) return false;
  return true;
}

}  // namespace

bool nd_bind_time_input(const Op& op, size_t i) {
  switch (op.kind) {
    case OpKind::Copy:
    case OpKind::Expand:
    case OpKind::TopK:
    case OpKind::Split:
    case OpKind::Reduce: return i == 1;
    case OpKind::Slice: return i >= 1;
    case OpKind::Pad: return i >= 1;
    case OpKind::Resize: return i >= 1;
    case OpKind::Range: return true;
    case OpKind::Fill: return i == 0;
    case OpKind::Unary: return i >= 1;  // Clip's bounds
    case OpKind::Trilu: return i == 1;
    default: return false;
  }
}

void bind_nd_graph(Graph& g, const std::vector<Shape>& input_shapes, const NdEvaluator& eval,
                   const std::vector<const void*>& input_values) {
  ER_CHECK(g.nd, "bind of a graph that is not N-D");
  forget_previous_bind(g);
  bind_inputs(g, input_shapes);
  for (size_t i = 0; i < input_values.size() && i < g.nd_inputs.size(); ++i) {
    if (!input_values[i]) continue;
    Value& v = g.values[g.nd_inputs[i]];
    Constant c;
    c.dtype = v.dtype;
    c.shape = v.dims;
    c.from_bind = true;
    c.folded.assign(std::max<uint64_t>(1, c.nbytes()), 0);
    std::memcpy(c.folded.data(), input_values[i], c.nbytes());
    c.data = c.folded.data();
    g.constants.push_back(std::move(c));
    v.constant = static_cast<int32_t>(g.constants.size() - 1);
  }
  for (Op& op : g.ops) {
    nd_infer(g, op);
    uint64_t out_bytes = 0;
    for (ValueId v : op.outputs) out_bytes = std::max<uint64_t>(out_bytes, g.value_bytes(v, 1, 1));
    const bool shape_only = op.kind == OpKind::ShapeOf;
    if (!(shape_only || all_inputs_known(g, op)) || out_bytes > kFoldBytes) continue;
    std::vector<Tensor> in, out;
    for (ValueId v : op.inputs) {
      if (v == kNone) {
        in.push_back(Tensor{});
        continue;
      }
      const Value& val = g.values[v];
      in.push_back(Tensor{val.dtype, val.dims,
                          val.constant == kNone ? nullptr : const_cast<void*>(g.constants[val.constant].data)});
    }
    for (ValueId v : op.outputs) {
      Constant c;
      c.dtype = g.values[v].dtype;
      c.shape = g.values[v].dims;
      c.from_bind = true;
      c.folded.assign(std::max<uint64_t>(1, c.nbytes()), 0);
      c.data = c.folded.data();
      g.constants.push_back(std::move(c));
      g.values[v].constant = static_cast<int32_t>(g.constants.size() - 1);
      Constant& k = g.constants.back();
      out.push_back(Tensor{k.dtype, k.shape, k.folded.data()});
    }
    if (shape_only) {
      const Shape& x = g.values[op.inputs[0]].dims;
      const auto& r = op.p.nd.starts;  // [start, end) as the shape rule bound them
      std::memcpy(out[0].data, x.data() + r[0], static_cast<size_t>(r[1] - r[0]) * sizeof(int64_t));
    } else {
      eval(g, op, in, out);
    }
    op.folded = true;
  }
}

}  // namespace edgerun
