// The Engine's N-D graph path (ONNX): model constants read into budgeted memory, the bind of the
// graph's shapes to a request's inputs (with shape arithmetic computed on the CPU backend), and
// one N-D op as a backend call over Tensors.
#include <cstring>

#include "core/error.h"
#include "graph/nd_bind.h"
#include "kernels/cpu/cpu_backend.h"
#include "runtime/engine.h"
#include "runtime/engine_step.h"

namespace edgerun {

void Engine::load_constants() {
  ER_CHECK(mg_.constant_sources.size() == g_.constants.size(), "constant sources");
  uint64_t total = 0;
  for (size_t i = 0; i < g_.constants.size(); ++i)
    if (mg_.constant_sources[i]) total += arena_round(g_.constants[i].nbytes());
  if (total == 0) return;
  constants_ = budget_.acquire(total, "constants");
  char* p = constants_.as<char>();
  for (size_t i = 0; i < g_.constants.size(); ++i) {
    const auto& src = mg_.constant_sources[i];
    if (!src) continue;
    Constant& c = g_.constants[i];
    if (src->dtype == c.dtype) {
      mg_.onnx->read(*src, p);
    } else {
      // fp16 / bf16 constants are computed in fp32, as weights are: read, then widen in place
      // from the back so the narrow values are not overwritten before they are read.
      ER_CHECK(c.dtype == DType::F32 && dtype_size(src->dtype) == 2, "constant widening");
      char* narrow = p + c.nbytes() - src->nbytes();
      mg_.onnx->read(*src, narrow);
      std::vector<uint16_t> tmp(static_cast<size_t>(src->numel()));
      std::memcpy(tmp.data(), narrow, src->nbytes());
      widen_to_f32(src->dtype, tmp.data(), src->numel(), reinterpret_cast<float*>(p));
    }
    c.data = p;
    p += arena_round(c.nbytes());
  }
}

void Engine::bind(const RunRequest& req) {
  if (!g_.nd) return;
  std::vector<Shape> shapes;
  for (ValueId v : g_.nd_inputs) {
    const Value& val = g_.values[v];
    const HostArray* a = nullptr;
    for (const auto& [name, arr] : req.named)
      if (name == val.name) a = arr;
    if (!a) {
      std::string names;
      for (ValueId w : g_.nd_inputs) names += (names.empty() ? "" : ", ") + g_.values[w].name;
      ER_THROW(InputError, "the model's input '", val.name, "' is not given (it takes: ", names, ")");
    }
    if (a->dtype != val.dtype)
      ER_THROW(InputError, "input '", val.name, "' must be ", dtype_name(val.dtype), "; got ", dtype_name(a->dtype));
    shapes.push_back(a->shape);
  }
  for (const auto& [name, arr] : req.named) {
    bool known = false;
    for (ValueId v : g_.nd_inputs) known |= g_.values[v].name == name;
    if (!known) ER_THROW(InputError, "the model has no input named '", name, "'");
  }
  // Graph inputs read at bind time (a shape given as an input) bind with their values: a change
  // of those values binds again, as a change of shape does.
  std::vector<const void*> values(g_.nd_inputs.size(), nullptr);
  std::vector<std::vector<uint8_t>> value_bytes(g_.nd_inputs.size());
  for (size_t i = 0; i < g_.nd_inputs.size(); ++i) {
    bool read = false;
    for (const Op& op : g_.ops)
      for (size_t k = 0; k < op.inputs.size(); ++k) read |= op.inputs[k] == g_.nd_inputs[i] && nd_bind_time_input(op, k);
    if (!read) continue;
    for (const auto& [name, arr] : req.named)
      if (name == g_.values[g_.nd_inputs[i]].name) {
        static const uint8_t kNoBytes = 0;  // an empty input is known too (no values)
        values[i] = arr->bytes.empty() ? &kNoBytes : arr->bytes.data();
        value_bytes[i].assign(arr->bytes.begin(), arr->bytes.end());
      }
  }
  if (bound_ && shapes == bound_shapes_ && value_bytes == bound_values_) return;
  bound_ = false;
  bind_nd_graph(g_, shapes, kernels::cpu_nd_evaluator(), values);
  bound_shapes_ = shapes;
  bound_values_ = std::move(value_bytes);
  bound_ = true;
  backends_ = assign_backends(g_);
  assign_layouts(g_, backends_);
  // Weights loaded in another packing (or none) are loaded again, in this bind's.
  if (assign_packing(g_, backends_) && source_) source_->release_all();
  compute_lifetimes();
  nd_in_.assign(g_.ops.size(), {});
  nd_out_.assign(g_.ops.size(), {});
  for (size_t i = 0; i < g_.ops.size(); ++i) {
    const Op& op = g_.ops[i];
    for (ValueId v : op.inputs)
      nd_in_[i].push_back(v == kNone ? Tensor{} : Tensor{g_.values[v].dtype, g_.values[v].dims, nullptr});
    for (ValueId v : op.outputs) nd_out_[i].push_back(Tensor{g_.values[v].dtype, g_.values[v].dims, nullptr});
  }
}

const void* Engine::value_ptr(ValueId v, const std::vector<int64_t>& off) const {
  const Value& val = g_.values[v];
  if (val.constant != kNone) return g_.constants[static_cast<size_t>(val.constant)].data;
  if (val.slot != kNone) {
    const WeightSlot& s = g_.slots[static_cast<size_t>(val.slot)];
    ER_CHECK(s.data, "weight ", s.name, " is not resident");
    return s.data;
  }
  if (val.is_input && g_.nd) return input_ptr_[static_cast<size_t>(v)];
  ER_CHECK(off[v] >= 0, "value ", val.name, " is not live");
  return arena_.as<char>() + off[v];
}

void Engine::run_nd_op(int32_t i, std::vector<int64_t>& off, void* scratch) {
  const Op& op = g_.ops[static_cast<size_t>(i)];
  auto& tin = nd_in_[static_cast<size_t>(i)];
  auto& tout = nd_out_[static_cast<size_t>(i)];
  for (size_t k = 0; k < op.inputs.size(); ++k)
    tin[k].data = op.inputs[k] == kNone ? nullptr : const_cast<void*>(value_ptr(op.inputs[k], off));
  for (size_t k = 0; k < op.outputs.size(); ++k) tout[k].data = arena_.as<char>() + off[op.outputs[k]];
  OpCall c = nd_call(g_, op, tin, tout);
  c.scratch = scratch;
  c.gather = loader_.get();
  backends_[static_cast<size_t>(i)]->run(c);
}

HostArray Engine::forward_nd(const RunRequest& req, NamedOutputs* extras) {
  bind(req);
  input_ptr_.assign(g_.values.size(), nullptr);
  for (const auto& [name, arr] : req.named)
    for (ValueId v : g_.nd_inputs)
      if (g_.values[v].name == name) input_ptr_[static_cast<size_t>(v)] = arr->bytes.data();
  Step st;
  st.shape = {1, 1, 0, false};
  const Value& o = g_.values[g_.output];
  HostArray out(o.dtype, o.dims);
  kv_.reset();
  prepare_arena(std::max<uint64_t>(64, activation_arena_bytes(st.shape)));
  run_graph(st, out.bytes.data(), extras);
  return out;
}

}  // namespace edgerun
