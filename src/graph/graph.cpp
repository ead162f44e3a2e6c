// Graph construction helpers and per-layer sums of the op schemas' counts (graph/op_schema.h).
#include "graph/graph.h"

#include <algorithm>
#include <map>
#include <tuple>

#include "core/error.h"
#include "graph/op_schema.h"

namespace edgerun {

namespace {
// The slots a layer's ops read (gather_rows tables excluded), each once.
void gather_layer_slots(const Graph& g, Layer& l);
}  // namespace

ValueId Graph::add_value(std::string name, Rows rows, int64_t cols, DType dt) {
  values.push_back(Value{std::move(name), rows, cols, dt, false});
  return static_cast<ValueId>(values.size() - 1);
}

SlotId Graph::add_slot(WeightSlot s) {
  slots.push_back(std::move(s));
  return static_cast<SlotId>(slots.size() - 1);
}

ValueId Graph::add_op(OpKind kind, std::string name, std::vector<ValueId> inputs,
                      std::vector<SlotId> op_slots, OpParams p, Rows out_rows, int64_t out_cols) {
  for (ValueId v : inputs) ER_CHECK(v >= 0 && v < static_cast<ValueId>(values.size()));
  ValueId out = add_value(name + ".out", out_rows, out_cols);
  ops.push_back(Op{kind, std::move(name), std::move(inputs), out, std::move(op_slots), p});
  try {
    validate_op(*this, ops.back());
  } catch (...) {
    ops.pop_back();
    values.pop_back();
    throw;
  }
  return out;
}

ValueId Graph::add_nd_value(std::string name, DType dt, Shape dims) {
  Value v;
  v.name = std::move(name);
  v.rows = Rows::One;
  v.cols = shape_numel(dims);
  v.dtype = dt;
  v.nd = true;
  v.dims = std::move(dims);
  values.push_back(std::move(v));
  return static_cast<ValueId>(values.size() - 1);
}

ValueId Graph::add_nd_op(OpKind kind, std::string name, std::vector<ValueId> inputs,
                         const std::vector<std::string>& outputs, std::vector<SlotId> op_slots, OpParams p) {
  for (ValueId v : inputs) ER_CHECK(v == kNone || (v >= 0 && v < static_cast<ValueId>(values.size())));
  ER_CHECK(!outputs.empty(), name, ": no outputs");
  const size_t first_value = values.size();
  Op op{kind, std::move(name), std::move(inputs), kNone, std::move(op_slots), std::move(p)};
  for (const std::string& o : outputs) op.outputs.push_back(add_nd_value(o, DType::F32, {}));
  op.output = op.outputs[0];
  ops.push_back(std::move(op));
  try {
    validate_op(*this, ops.back());
  } catch (...) {
    ops.pop_back();
    values.resize(first_value);
    throw;
  }
  return ops.back().output;
}

void Graph::begin_layer(std::string name) {
  ER_CHECK(layers.empty() || layers.back().end_op >= 0, "previous layer not closed");
  Layer l;
  l.name = std::move(name);
  l.first_op = static_cast<int32_t>(ops.size());
  l.end_op = -1;
  l.depth = static_cast<int32_t>(layers.size());
  layers.push_back(std::move(l));
}

void Graph::end_layer() {
  ER_CHECK(!layers.empty() && layers.back().end_op == -1, "no open layer");
  layers.back().end_op = static_cast<int32_t>(ops.size());
  gather_layer_slots(*this, layers.back());
}

uint64_t Graph::open_layer_weight_bytes() const {
  if (layers.empty() || layers.back().end_op != -1) return 0;
  uint64_t n = 0;
  for (size_t i = static_cast<size_t>(layers.back().first_op); i < ops.size(); ++i)
    for (SlotId s : ops[i].slots)
      if (s != kNone && !slots[s].gather_rows) n += slots[s].nbytes();
  return n;
}

void Graph::split_layer(std::string name) {
  end_layer();
  begin_layer(std::move(name));
}

void Graph::add_layer(std::string name, int32_t first, int32_t end) {
  ER_CHECK((layers.empty() ? 0 : layers.back().end_op) == first && first < end &&
           end <= static_cast<int32_t>(ops.size()), "layers must tile the ops in order");
  Layer l;
  l.name = std::move(name);
  l.first_op = first;
  l.end_op = end;
  l.depth = static_cast<int32_t>(layers.size());
  gather_layer_slots(*this, l);
  layers.push_back(std::move(l));
}

namespace {
void gather_layer_slots(const Graph& g, Layer& l) {
  for (int32_t i = l.first_op; i < l.end_op; ++i)
    for (SlotId s : g.ops[i].slots) {
      if (s == kNone || g.slots[s].gather_rows) continue;
      bool seen = false;
      for (SlotId t : l.slots) seen |= (t == s);
      if (!seen) l.slots.push_back(s);
    }
}
}  // namespace

uint64_t Graph::layer_weight_bytes(int32_t layer) const {
  uint64_t n = 0;
  for (SlotId s : layers[layer].slots) n += slots[s].nbytes();
  return n;
}

uint64_t Graph::layer_gathered_bytes(int32_t layer) const {
  std::vector<SlotId> seen;
  uint64_t n = 0;
  for (int32_t i = layers[layer].first_op; i < layers[layer].end_op; ++i)
    for (SlotId s : ops[i].slots)
      if (s != kNone && slots[s].gather_rows && std::find(seen.begin(), seen.end(), s) == seen.end()) {
        seen.push_back(s);
        n += slots[s].nbytes();
      }
  return n;
}

uint64_t Graph::total_weight_bytes() const {
  uint64_t n = 0;
  for (size_t i = 0; i < layers.size(); ++i) n += layer_weight_bytes(static_cast<int32_t>(i));
  return n;
}

std::map<DType, uint64_t> Graph::weight_bytes_by_dtype() const {
  // Union of the slots' file ranges: chunks of one tensor and a tied table read twice count once.
  std::vector<std::tuple<int32_t, uint64_t, uint64_t, DType>> r;
  for (const WeightSlot& s : slots) r.emplace_back(s.file, s.begin, s.end, s.file_dtype);
  std::sort(r.begin(), r.end());
  std::map<DType, uint64_t> out;
  int32_t file = -1;
  uint64_t cur_e = 0;
  for (auto [f, b, e, d] : r) {
    if (f != file) cur_e = 0;
    file = f;
    const uint64_t from = std::max(b, cur_e);
    if (e > from) out[d] += e - from;
    cur_e = std::max(cur_e, e);
  }
  return out;
}

uint64_t Graph::model_weight_bytes() const {
  uint64_t total = 0;
  for (const auto& [d, n] : weight_bytes_by_dtype()) total += n;
  return total;
}

double Graph::layer_flops(int32_t layer, int64_t B, int64_t T, int64_t past) const {
  double f = 0;
  const Layer& l = layers[layer];
  for (int32_t i = l.first_op; i < l.end_op; ++i) f += op_flops(*this, ops[i], PassShape{B, T, past, false});
  return f;
}

}  // namespace edgerun
