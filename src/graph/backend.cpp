// The backend registry (see backend.h).
#include "graph/backend.h"

#include <algorithm>
#include <mutex>

#include "core/error.h"

namespace edgerun {

namespace {
std::mutex& registry_mutex() {
  static std::mutex m;
  return m;
}
std::vector<Backend*>& registry() {
  static std::vector<Backend*> r;
  return r;
}
}  // namespace

void register_backend(Backend* b) {
  ER_CHECK(b != nullptr);
  std::lock_guard<std::mutex> lock(registry_mutex());
  auto& r = registry();
  if (std::find(r.begin(), r.end(), b) == r.end()) r.push_back(b);
}

void unregister_backend(Backend* b) {
  std::lock_guard<std::mutex> lock(registry_mutex());
  auto& r = registry();
  r.erase(std::remove(r.begin(), r.end(), b), r.end());
}

const std::vector<Backend*>& backends() { return registry(); }

Backend* find_backend(const std::string& name) {
  for (Backend* b : registry())
    if (name == b->name()) return b;
  return nullptr;
}

std::vector<Backend*> assign_backends(const Graph& g) {
  std::vector<Backend*> out(g.ops.size(), nullptr);
  for (size_t i = 0; i < g.ops.size(); ++i) {
    const Op& op = g.ops[i];
    std::string why;
    for (Backend* b : registry()) {
      Support s = b->supports(g, op);
      if (s.ok) {
        out[i] = b;
        break;
      }
      why += std::string(why.empty() ? "" : "; ") + b->name() + ": " + s.reason;
    }
    if (!out[i])
      ER_THROW(UnsupportedError, op_kind_name(op.kind), " op '", op.name, "' (", to_string(op_precision(g, op)),
               ") is supported by no backend", registry().empty() ? std::string(" (none registered)") : " (" + why + ")");
  }
  return out;
}

namespace {

// An elementwise op whose every input has the output's shape: position-wise in any layout.
bool layout_free(const Graph& g, const Op& op) {
  if (op.kind != OpKind::Unary && op.kind != OpKind::Binary && op.kind != OpKind::Variadic && op.kind != OpKind::Copy)
    return false;
  if (op.outputs.size() > 1 || op.inputs.empty()) return false;
  const Value& y = g.values[op.output];
  for (ValueId v : op.inputs)
    if (v == kNone || g.values[v].dims != y.dims || g.values[v].dtype != y.dtype) return false;
  return true;
}

}  // namespace

void assign_layouts(Graph& g, const std::vector<Backend*>& backends) {
  ER_CHECK(backends.size() == g.ops.size(), "assign_layouts: one backend per op");
  std::vector<bool> cl(g.values.size(), false);
  std::vector<bool> produced(g.values.size(), false);
  for (const Op& op : g.ops)
    for (ValueId v : op.outputs)
      if (v != kNone) produced[v] = true;
  for (size_t v = 0; v < g.values.size(); ++v) {
    const Value& val = g.values[v];
    cl[v] = val.nd && val.dtype == DType::F32 && val.dims.size() >= 3 && val.dims.size() <= 5 && !val.is_input &&
            val.slot == kNone && val.constant == kNone && produced[v];
  }
  for (ValueId v : g.nd_outputs) cl[v] = false;
  if (g.output != kNone) cl[g.output] = false;
  // Drop values until every op's view of its activations is consistent.
  auto drop = [&](ValueId v, bool& changed) {
    if (v != kNone && cl[v]) cl[v] = false, changed = true;
  };
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t i = 0; i < g.ops.size(); ++i) {
      const Op& op = g.ops[i];
      const int native = backends[i] ? backends[i]->channels_last_input(g, op) : -1;
      if (native >= 0) {
        for (size_t k = 0; k < op.inputs.size(); ++k)
          if (k != static_cast<size_t>(native)) drop(op.inputs[k], changed);
        for (size_t k = 1; k < op.outputs.size(); ++k) drop(op.outputs[k], changed);
      } else if (layout_free(g, op)) {
        bool all = cl[op.output];
        for (ValueId v : op.inputs) all = all && cl[v];
        if (!all) {
          drop(op.output, changed);
          for (ValueId v : op.inputs) drop(v, changed);
        }
      } else {
        for (ValueId v : op.inputs) drop(v, changed);
        for (ValueId v : op.outputs) drop(v, changed);
      }
    }
  }
  for (size_t v = 0; v < g.values.size(); ++v) g.values[v].channels_last = cl[v];
}

bool assign_packing(Graph& g, const std::vector<Backend*>& backends) {
  ER_CHECK(backends.size() == g.ops.size(), "assign_packing: one backend per op");
  std::vector<int> uses(g.slots.size(), 0);
  for (const Op& op : g.ops)
    for (ValueId v : op.inputs)
      if (v != kNone && g.values[v].slot != kNone) ++uses[static_cast<size_t>(g.values[v].slot)];
  struct Packing {
    Backend* packer;
    int32_t op;
    uint64_t bytes;
    bool operator!=(const Packing& o) const { return packer != o.packer || op != o.op || bytes != o.bytes; }
  };
  std::vector<Packing> before;
  for (WeightSlot& s : g.slots) {
    before.push_back({s.packer, s.pack_op, s.packed_bytes});
    s.packer = nullptr, s.pack_op = -1, s.packed_bytes = 0;
  }
  for (size_t i = 0; i < g.ops.size(); ++i) {
    const Op& op = g.ops[i];
    if (!backends[i] || op.folded) continue;
    for (size_t k = 0; k < op.inputs.size(); ++k) {
      const ValueId v = op.inputs[k];
      if (v == kNone || g.values[v].slot == kNone) continue;
      WeightSlot& s = g.slots[static_cast<size_t>(g.values[v].slot)];
      // Packing starts from the tensor's fp32 bytes as read: other dtypes and rounding convert.
      if (uses[static_cast<size_t>(g.values[v].slot)] != 1 || s.file_dtype != DType::F32 || s.round_bf16 || s.gather_rows)
        continue;
      const uint64_t n = backends[i]->packed_bytes(g, op, k);
      if (n) s.packer = backends[i], s.pack_op = static_cast<int32_t>(i), s.packed_bytes = n;
    }
  }
  bool changed = false;
  for (size_t i = 0; i < g.slots.size(); ++i)
    changed |= Packing{g.slots[i].packer, g.slots[i].pack_op, g.slots[i].packed_bytes} != before[i];
  return changed;
}

}  // namespace edgerun
