// Graph construction helpers and per-layer sums of the op schemas' counts (graph/op_schema.h).
#include "graph/graph.h"

#include <algorithm>
#include <map>
#include <tuple>

#include "core/error.h"
#include "graph/op_schema.h"

namespace edgerun {

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
  Layer& l = layers.back();
  l.end_op = static_cast<int32_t>(ops.size());
  for (int32_t i = l.first_op; i < l.end_op; ++i)
    for (SlotId s : ops[i].slots) {
      if (s == kNone || slots[s].gather_rows) continue;
      bool seen = false;
      for (SlotId t : l.slots) seen |= (t == s);
      if (!seen) l.slots.push_back(s);
    }
}

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
