// Engine: pass driver (arena, layer source, timing) and GPT-2 generation.
#include "runtime/engine.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <optional>
#include <random>
#include <thread>

#include "core/error.h"
#include "runtime/backends.h"
#include "runtime/engine_step.h"
#include "runtime/trace.h"

namespace edgerun {

namespace {
// The activation arena's allocation sequence for one pass: an op's output, then its scratch,
// (the kernel), then the scratch and every input at its last use are freed. The dry run that sizes
// the arena and the real pass both step through this one class, so they cannot disagree.
class ArenaCursor {
 public:
  // keep: values that live to the end of the pass (the outputs), whatever their last use.
  ArenaCursor(const Graph& g, const std::vector<int32_t>& last_use, const std::vector<bool>& keep, uint64_t capacity)
      : g_(g), last_use_(last_use), keep_(keep), ra_(capacity), off(g.values.size(), -1), size_(g.values.size(), 0) {}

  // Places op i's output and scratch; returns the scratch offset. InternalError if the arena is
  // smaller than the dry run said.
  uint64_t begin_op(int32_t i, const PassShape& s, uint64_t scratch_bytes) {
    const Op& op = g_.ops[i];
    if (op.kind == OpKind::Linear && (op.p.chunk_begin > 0 || op.p.k_begin > 0)) {
      // A later output chunk writes into the running output: it adopts its second input's buffer.
      off[op.output] = off[op.inputs[1]];
      size_[op.output] = size_[op.inputs[1]];
      off[op.inputs[1]] = -1;
    } else if (!op.outputs.empty()) {
      for (ValueId v : op.outputs) place(v, s);
    } else {
      place(op.output, s);
    }
    scratch_ = arena_round(scratch_bytes);
    return scratch_ ? (scratch_off_ = take(scratch_)) : 0;
  }
  void end_op(int32_t i) {
    if (scratch_) ra_.give(scratch_off_, scratch_);
    const Op& op = g_.ops[i];
    for (ValueId v : op.inputs)
      if (v != kNone && last_use_[v] == i && !keep_[v]) release(v);
    // Outputs nothing reads (a Split part, TopK's unused indices) go at once.
    for (ValueId v : op.outputs)
      if (last_use_[v] < 0 && !keep_[v]) release(v);
  }
  uint64_t high_end() const { return ra_.high_end(); }

 private:
  void place(ValueId v, const PassShape& s) {
    size_[v] = arena_round(static_cast<uint64_t>(g_.value_bytes(v, s.B, s.T, s.last_only)));
    off[v] = static_cast<int64_t>(take(size_[v]));
  }
  void release(ValueId v) {
    if (off[v] < 0) return;
    ra_.give(static_cast<uint64_t>(off[v]), size_[v]);
    off[v] = -1;
  }
  uint64_t take(uint64_t n) {
    std::optional<uint64_t> o = ra_.take(n);
    ER_CHECK(o.has_value(), "activation arena smaller than its dry run");
    return *o;
  }
  const Graph& g_;
  const std::vector<int32_t>& last_use_;
  const std::vector<bool>& keep_;
  RangeAllocator ra_;

 public:
  std::vector<int64_t> off;  // arena offset of each live value, -1 otherwise

 private:
  std::vector<uint64_t> size_;
  uint64_t scratch_ = 0, scratch_off_ = 0;
};

// The shape an output value has for a pass: (B, cols) per sequence, else (B, T, cols).
Shape output_shape(const Value& v, const PassShape& s) {
  return v.rows == Rows::Batch ? Shape{s.B, v.cols} : Shape{s.B, s.T, v.cols};
}

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}
}  // namespace

Engine::Engine(ModelGraph& mg, MemoryBudget& budget, const EngineOptions& opts)
    : mg_(mg), g_(mg.graph), budget_(budget), opts_(opts) {
  // Every op gets its backend before anything is loaded or run: an op no backend supports is an
  // error naming it here, at construction.
  register_builtin_backends();
  backends_ = assign_backends(g_);
  for (Backend* b : backends_)
    if (std::find(used_.begin(), used_.end(), b) == used_.end()) used_.push_back(b);
  apply_threads();
  for (Backend* b : used_) b->prepare(g_, budget_);
  loader_ = std::make_unique<WeightLoader>(g_, mg_.weights, budget_);
  loader_->set_trace(opts_.trace);
  set_plan(opts_.plan);
  for (const Op& op : g_.ops) one_sequence_only_ |= op.kind == OpKind::SelectLastNonPad && op.p.pad_id < 0;
  if (g_.nd) load_constants();
  compute_lifetimes();
}

void Engine::compute_lifetimes() {
  last_use_.assign(g_.values.size(), -1);
  for (size_t i = 0; i < g_.ops.size(); ++i)
    if (!g_.ops[i].folded)
      for (ValueId v : g_.ops[i].inputs)
        if (v != kNone) last_use_[v] = static_cast<int32_t>(i);
  keep_.assign(g_.values.size(), false);
  keep_[g_.output] = true;
  for (const auto& [name, v] : g_.extra_outputs) keep_[v] = true;
}

Engine::~Engine() { source_->release_all(); }

void Engine::apply_threads() {
  const int threads = opts_.threads > 0 ? opts_.threads
                                        : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  for (Backend* b : used_) b->set_threads(threads);
}

void Engine::set_plan(const ExecPlan& plan) {
  if (source_) source_->release_all();
  source_.reset();
  opts_.plan = plan;
  if (opts_.plan.pinned.empty()) opts_.plan.pinned.assign(g_.layers.size(), false);
  if (opts_.plan.kind == Executor::Swap && opts_.plan.blocks.empty())
    for (size_t l = 0; l < g_.layers.size(); ++l)
      opts_.plan.blocks.emplace_back(static_cast<int32_t>(l), static_cast<int32_t>(l + 1));
  source_ = make_layer_source(opts_.plan, g_, *loader_, budget_, opts_.trace);
}

int64_t Engine::tokens_for(const RunRequest& req) const {
  if (g_.nd) return 1;
  int64_t B = 0, T = 0;
  validate(req, &B, &T);
  return T;
}

uint64_t Engine::op_scratch_bytes(int32_t i, const PassShape& s) const {
  return backends_[static_cast<size_t>(i)]->scratch_bytes(g_, g_.ops[static_cast<size_t>(i)], s, *loader_);
}

uint64_t Engine::activation_arena_bytes(const PassShape& s) const {
  ER_CHECK(!g_.nd || bound_, "an N-D graph sized before it is bound");
  ArenaCursor c(g_, last_use_, keep_, UINT64_MAX / 2);
  for (int32_t i = 0; i < static_cast<int32_t>(g_.ops.size()); ++i) {
    if (g_.ops[i].folded) continue;
    c.begin_op(i, s, op_scratch_bytes(i, s));
    c.end_op(i);
  }
  return c.high_end();
}

Engine::GenerationReserve Engine::generation_reserve(int64_t B, int64_t T0, int64_t total) const {
  GenerationReserve r;
  r.arena = std::max(activation_arena_bytes({B, T0, 0, true}), activation_arena_bytes({B, 1, total - 1, true}));
  r.kv = kv_cache_bytes(B, total);
  r.logits = static_cast<uint64_t>(B * mg_.info.vocab_size) * 4 + static_cast<uint64_t>(B) * 8;  // + step ids
  return r;
}

uint64_t Engine::kv_cache_bytes(int64_t B, int64_t capacity) const {
  return static_cast<uint64_t>(g_.n_kv_layers) * 2 * B * g_.kv_heads * capacity * g_.kv_head_dim * 4;
}

void Engine::prepare_arena(uint64_t bytes) {
  if (arena_ && arena_.size() >= bytes) return;
  arena_.reset();
  arena_ = budget_.acquire(bytes, "activation arena");
}

void Engine::validate(const RunRequest& req, int64_t* B, int64_t* T) const {
  const ModelInfo& info = mg_.info;
  if (info.family == Family::Vit) {
    const HostArray* px = req.pixel_values;
    if (!px) ER_THROW(InputError, "ViT models take pixel values (an image or a float32 .npy of shape (N, C, H, W))");
    const Shape want{-1, info.num_channels, info.image_size, info.image_size};
    if (px->dtype != DType::F32 || px->shape.size() != 4 || px->shape[0] < 1 ||
        px->shape[1] != want[1] || px->shape[2] != want[2] || px->shape[3] != want[3])
      ER_THROW(InputError, "pixel values must be float32 (N, ", want[1], ", ", want[2], ", ",
               want[3], ") with N >= 1; got ", dtype_name(px->dtype), " ", shape_str(px->shape));
    *B = px->shape[0];
    *T = (info.image_size / info.patch_size) * (info.image_size / info.patch_size) + 1;
    return;
  }
  const HostArray* ids = req.input_ids;
  if (!ids) ER_THROW(InputError, "this model takes token ids (text, or an int64 .npy of shape (N, T))");
  if (ids->dtype != DType::I64 || ids->shape.size() != 2)
    ER_THROW(InputError, "token ids must be int64 of shape (N, T); got ", dtype_name(ids->dtype),
             " ", shape_str(ids->shape));
  if (ids->shape[0] < 1 || ids->shape[1] < 1) ER_THROW(InputError, "the input is empty: ", shape_str(ids->shape));
  *B = ids->shape[0];
  *T = ids->shape[1];
  // Without a pad id the classifier takes each sequence's last token, right only if none is
  // padded: transformers refuses batches then, and so does edgerun, before any weight is read.
  if (one_sequence_only_ && *B > 1)
    ER_THROW(InputError, "a batch of ", *B, " sequences needs config.json's \"pad_token_id\" to find each "
             "sequence's last token; it defines none (transformers: \"Cannot handle batch sizes > 1 if no "
             "padding token is defined\"): run one sequence at a time");
  if (info.max_positions && *T > info.max_positions)
    ER_THROW(InputError, "sequence of ", *T, " tokens is longer than the model's ",
             info.max_positions, " positions");
  const int64_t* p = ids->as<int64_t>();
  for (int64_t i = 0; i < ids->numel(); ++i)
    if (p[i] < 0 || p[i] >= info.vocab_size)
      ER_THROW(InputError, "token id ", p[i], " at position ", i, " is outside the vocabulary [0, ",
               info.vocab_size, ")");
  auto check_same = [&](const HostArray* a, const char* what, int64_t lo, int64_t hi) {
    if (!a) return;
    if (a->dtype != DType::I64 || a->shape != ids->shape)
      ER_THROW(InputError, what, " must be int64 of shape ", shape_str(ids->shape), "; got ",
               dtype_name(a->dtype), " ", shape_str(a->shape));
    for (int64_t i = 0; i < a->numel(); ++i)
      if (a->as<int64_t>()[i] < lo || a->as<int64_t>()[i] > hi)
        ER_THROW(InputError, what, " value ", a->as<int64_t>()[i], " at ", i, " is outside [", lo,
                 ", ", hi, "]");
  };
  check_same(req.attention_mask, "attention_mask", 0, 1);
  check_same(req.token_type_ids, "token_type_ids", 0, std::max<int64_t>(0, info.type_vocab_size - 1));
  if (info.family == Family::Gpt2 && req.attention_mask)
    for (int64_t i = 0; i < req.attention_mask->numel(); ++i)
      if (req.attention_mask->as<int64_t>()[i] == 0)
        ER_THROW(UnsupportedError, "GPT-2 runs take unpadded sequences (attention_mask all ones)");
  if (info.family != Family::Bert && req.token_type_ids)
    ER_THROW(InputError, "token_type_ids apply to BERT models only");
}

HostArray Engine::forward(const RunRequest& req, NamedOutputs* extras) {
  apply_threads();  // the backends are the process's: another engine may have set them since
  if (g_.nd) return forward_nd(req, extras);
  int64_t B = 0, T = 0;
  validate(req, &B, &T);
  Step st;
  st.shape = {B, T, 0, false};
  if (req.input_ids) st.ids = req.input_ids->as<int64_t>();
  if (req.token_type_ids) st.tt = req.token_type_ids->as<int64_t>();
  if (req.attention_mask) st.mask = req.attention_mask->as<int64_t>();
  if (req.pixel_values) st.pixels = req.pixel_values->as<float>();
  HostArray out(DType::F32, output_shape(g_.values[g_.output], st.shape));
  kv_.reset();  // a plain forward pass keeps no cache
  prepare_arena(activation_arena_bytes(st.shape));
  run_graph(st, out.as<float>(), extras);
  return out;
}

void Engine::ensure_kv(int64_t B, int64_t capacity) {
  kv_.reset();
  kv_ = budget_.acquire(kv_cache_bytes(B, capacity), "KV cache");
  kv_B_ = B;
  kv_cap_ = capacity;
}

void Engine::require_generator() const {
  if (mg_.info.head != Head::LmHead)
    ER_THROW(InputError, "generation needs a language-model head (GPT2LMHeadModel); this model is ",
             mg_.info.arch);
}

HostArray Engine::generate(const HostArray& prompt, const GenerateParams& gen) {
  require_generator();
  apply_threads();
  RunRequest req;
  req.input_ids = &prompt;
  int64_t B = 0, T0 = 0;
  validate(req, &B, &T0);
  if (gen.new_tokens < 1) ER_THROW(InputError, "the number of new tokens must be at least 1");
  const int64_t total = T0 + gen.new_tokens;
  if (total > mg_.info.max_positions)
    ER_THROW(InputError, "prompt (", T0, ") + new tokens (", gen.new_tokens, ") = ", total,
             " exceeds the model's ", mg_.info.max_positions, " positions");
  if (gen.top_k < 0 || !(gen.temperature > 0.0f))
    ER_THROW(InputError, "top-k must be >= 0 and temperature > 0");
  const int64_t V = mg_.info.vocab_size;
  // KV cache and arena first, then logits: all before any weight is loaded.
  const GenerationReserve res = generation_reserve(B, T0, total);
  ensure_kv(B, total);
  prepare_arena(res.arena);
  Allocation logits = budget_.acquire(res.logits, "logits");
  int64_t* step_ids = reinterpret_cast<int64_t*>(logits.as<float>() + B * V);
  HostArray out(DType::I64, {B, total});
  for (int64_t b = 0; b < B; ++b)
    std::memcpy(out.as<int64_t>() + b * total, prompt.as<int64_t>() + b * T0, static_cast<size_t>(T0) * 8);
  std::mt19937_64 rng(gen.seed);
  std::vector<std::pair<float, int64_t>> cand;
  auto pick = [&](const float* row) -> int64_t {
    if (gen.top_k == 0) return std::max_element(row, row + V) - row;  // first max, as argmax
    cand.clear();
    for (int64_t j = 0; j < V; ++j) cand.emplace_back(row[j] / gen.temperature, j);
    const int64_t k = std::min(gen.top_k, V);
    std::partial_sort(cand.begin(), cand.begin() + k, cand.end(),
                      [](const auto& a, const auto& b) { return a.first > b.first; });
    std::vector<double> p(static_cast<size_t>(k));
    for (int64_t j = 0; j < k; ++j) p[j] = std::exp(static_cast<double>(cand[j].first - cand[0].first));
    std::discrete_distribution<int64_t> d(p.begin(), p.end());
    return cand[static_cast<size_t>(d(rng))].second;
  };
  int64_t past = 0, produced = 0;
  for (int64_t n = 0; n < gen.new_tokens; ++n) {
    Step st;
    st.shape = {B, n == 0 ? T0 : 1, past, true};
    if (n == 0) {
      st.ids = prompt.as<int64_t>();
    } else {
      for (int64_t b = 0; b < B; ++b) step_ids[b] = out.as<int64_t>()[b * total + past];
      st.ids = step_ids;
    }
    auto t0 = std::chrono::steady_clock::now();
    run_graph(st, logits.as<float>(), nullptr);
    if (n > 0) stats_.decode_ms += ms_since(t0);
    past += st.shape.T;
    bool all_eos = true;
    for (int64_t b = 0; b < B; ++b) {
      int64_t tok = pick(logits.as<float>() + b * V);
      out.as<int64_t>()[b * total + past] = tok;
      all_eos &= (tok == mg_.info.eos_token_id);
    }
    ++stats_.tokens_generated;
    ++produced;
    if (gen.on_token) gen.on_token(n, out.as<int64_t>()[past]);
    if (gen.stop_at_eos && all_eos) break;
  }
  if (produced == gen.new_tokens) return out;
  HostArray cut(DType::I64, {B, T0 + produced});
  for (int64_t b = 0; b < B; ++b)
    std::memcpy(cut.as<int64_t>() + b * (T0 + produced), out.as<int64_t>() + b * total,
                static_cast<size_t>(T0 + produced) * 8);
  return cut;
}

void Engine::run_graph(const Step& st, void* out, NamedOutputs* extras) {
  ER_CHECK(arena_, "activation arena not prepared");
  ArenaCursor cur(g_, last_use_, keep_, arena_.size());
  auto t_pass = std::chrono::steady_clock::now();
  double wait_ms = 0;
  stats_.layer_compute_ms.assign(g_.layers.size(), 0.0);
  stats_.layer_wait_ms.assign(g_.layers.size(), 0.0);
  Trace* tr = opts_.trace;
  // The resident executor reads everything here; streaming executors start their agents. Either
  // way it is time spent on weights, not compute.
  try {
    {
      auto tb = std::chrono::steady_clock::now();
      ScopedSpan span(tr, "inference", "begin pass");
      source_->begin_pass();
      wait_ms += ms_since(tb);
    }
    for (size_t l = 0; l < g_.layers.size(); ++l) {
      const Layer& layer = g_.layers[l];
      auto tw = std::chrono::steady_clock::now();
      source_->wait(static_cast<int32_t>(l));
      const double w = ms_since(tw);
      wait_ms += w;
      stats_.layer_wait_ms[l] = w;
      auto tc = std::chrono::steady_clock::now();
      ScopedSpan span(tr, "inference", "compute " + layer.name);
      for (int32_t i = layer.first_op; i < layer.end_op; ++i) {
        if (g_.ops[i].folded) continue;
        const uint64_t sc_off = cur.begin_op(i, st.shape, op_scratch_bytes(i, st.shape));
        if (g_.nd) run_nd_op(i, cur.off, arena_.as<char>() + sc_off);
        else run_op(i, st, cur.off, arena_.as<char>() + sc_off);
        cur.end_op(i);
      }
      stats_.layer_compute_ms[l] = ms_since(tc);
      source_->done(static_cast<int32_t>(l));
    }
  } catch (...) {
    source_->end_pass(true);
    throw;
  }
  source_->end_pass(false);
  const double pass_ms = ms_since(t_pass);
  stats_.load_ms += wait_ms;
  stats_.compute_ms += pass_ms - wait_ms;
  stats_.bytes_read = loader_->bytes_read();
  ++stats_.passes;
  const uint64_t n = static_cast<uint64_t>(g_.value_bytes(g_.output, st.shape.B, st.shape.T, st.shape.last_only));
  if (n > 0) std::memcpy(out, value_ptr(g_.output, cur.off), n);  // an empty output has no bytes
  if (!extras) return;
  extras->clear();
  for (const auto& [name, v] : g_.extra_outputs) {
    const Value& val = g_.values[v];
    HostArray a(val.dtype, val.nd ? val.dims : output_shape(val, st.shape));
    if (!a.bytes.empty()) std::memcpy(a.bytes.data(), value_ptr(v, cur.off), a.bytes.size());
    extras->emplace_back(name, std::move(a));
  }
}

}  // namespace edgerun
