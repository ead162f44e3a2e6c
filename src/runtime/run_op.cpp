// Engine::run_op: one graph op as a call to the backend assigned to it at construction (see
// graph/backend.h): its output, inputs and scratch in the activation arena, the KV cache of its
// layer, and the pass's inputs.
#include "core/error.h"
#include "runtime/engine.h"
#include "runtime/engine_step.h"

namespace edgerun {

void Engine::run_op(int32_t i, const Step& step, std::vector<int64_t>& off, void* scratch) {
  const Op& op = g_.ops[static_cast<size_t>(i)];
  char* base = arena_.as<char>();
  OpCall c;
  c.g = &g_;
  c.op = &op;
  c.shape = step.shape;
  ER_CHECK(op.inputs.size() <= OpCall::kMaxInputs, op.name, ": too many inputs");
  c.out = reinterpret_cast<float*>(base + off[op.output]);
  for (size_t k = 0; k < op.inputs.size(); ++k) {
    const ValueId v = op.inputs[k];
    if (k == 1 && op.kind == OpKind::Linear) {  // a later output chunk: the arena handed its buffer to the output
      c.in[k] = c.out;
      c.in_rows[k] = op_rows(g_, op, step.shape);
      continue;
    }
    if (v == g_.input_ids || v == g_.token_type_ids || v == g_.pixel_values) continue;  // in c.ids, c.tt, c.pixels
    ER_CHECK(off[v] >= 0, "input ", g_.values[v].name, " of ", op.name, " not live");
    c.in[k] = reinterpret_cast<const float*>(base + off[v]);
    c.in_rows[k] = op_input_rows(g_, op, k, step.shape);
  }
  c.rows = op_rows(g_, op, step.shape);
  c.ids = step.ids;
  c.tt = step.tt;
  c.mask = step.mask;
  c.pixels = step.pixels;
  if (op.kind == OpKind::Attention && op.p.kv_layer != kNone && kv_) {
    const size_t per = static_cast<size_t>(kv_B_ * op.p.n_head * kv_cap_ * op.p.head_dim);
    c.k_cache = kv_.as<float>() + per * (2 * static_cast<size_t>(op.p.kv_layer));
    c.v_cache = c.k_cache + per;
    c.cache_cap = kv_cap_;
  }
  c.scratch = scratch;
  c.gather = loader_.get();
  if (g_.q16_stats) c.q16_amax = &g_.q16_stats->amax[static_cast<size_t>(i)];
  backends_[static_cast<size_t>(i)]->run(c);
}

}  // namespace edgerun
