// Engine: resident executor and op interpreter over the CPU kernels.
#include "runtime/engine.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <random>
#include <thread>

#include "core/error.h"
#include "kernels/cpu/kernels.h"
#include "runtime/engine_step.h"

namespace edgerun {

namespace {
double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}
}  // namespace


Engine::Engine(ModelGraph& mg, MemoryBudget& budget, const EngineOptions& opts)
    : mg_(mg), g_(mg.graph), budget_(budget), opts_(opts) {
  int threads = opts_.threads > 0 ? opts_.threads
                                  : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  kernels::set_blas_threads(threads);
  loader_ = std::make_unique<WeightLoader>(g_, mg_.weights, budget_);
  last_use_.assign(g_.values.size(), -1);
  for (size_t i = 0; i < g_.ops.size(); ++i)
    for (ValueId v : g_.ops[i].inputs) last_use_[v] = static_cast<int32_t>(i);
}

Engine::~Engine() {
  for (auto& r : resident_) loader_->unbind(r.layer);
}

void Engine::load_all() {
  if (!resident_.empty()) return;
  auto t0 = std::chrono::steady_clock::now();
  try {
    for (size_t l = 0; l < g_.layers.size(); ++l)
      resident_.push_back(loader_->load(static_cast<int32_t>(l)));
  } catch (...) {
    for (auto& r : resident_) loader_->unbind(r.layer);
    resident_.clear();
    throw;
  }
  stats_.load_ms += ms_since(t0);
  stats_.bytes_read = loader_->bytes_read();
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

HostArray Engine::forward(const RunRequest& req) {
  int64_t B = 0, T = 0;
  validate(req, &B, &T);
  load_all();
  Step st;
  st.B = B;
  st.T = T;
  if (req.input_ids) st.ids = req.input_ids->as<int64_t>();
  if (req.token_type_ids) st.tt = req.token_type_ids->as<int64_t>();
  if (req.attention_mask) st.mask = req.attention_mask->as<int64_t>();
  if (req.pixel_values) st.pixels = req.pixel_values->as<float>();
  const Value& ov = g_.values[g_.output];
  Shape shape = ov.rows == Rows::Batch ? Shape{B, ov.cols} : Shape{B, T, ov.cols};
  HostArray out(DType::F32, shape);
  auto t0 = std::chrono::steady_clock::now();
  run_graph(st, out.as<float>());
  stats_.compute_ms += ms_since(t0);
  return out;
}

void Engine::ensure_kv(int64_t B, int64_t capacity) {
  const uint64_t floats = static_cast<uint64_t>(g_.n_kv_layers) * 2 * B * g_.kv_heads * capacity *
                          g_.kv_head_dim;
  kv_.reset();
  kv_ = budget_.acquire(floats * 4, "KV cache");
  kv_B_ = B;
  kv_cap_ = capacity;
}

HostArray Engine::generate(const HostArray& prompt, const GenerateOptions& gen) {
  if (mg_.info.head != Head::LmHead)
    ER_THROW(InputError, "generation needs a language-model head (GPT2LMHeadModel); this model is ",
             mg_.info.arch);
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
  load_all();
  ensure_kv(B, total);
  const int64_t V = mg_.info.vocab_size;
  HostArray out(DType::I64, {B, total});
  for (int64_t b = 0; b < B; ++b)
    std::memcpy(out.as<int64_t>() + b * total, prompt.as<int64_t>() + b * T0,
                static_cast<size_t>(T0) * 8);
  Allocation logits = budget_.acquire(static_cast<uint64_t>(B * V) * 4, "logits");
  Allocation step_ids = budget_.acquire(static_cast<uint64_t>(B) * 8, "step ids");
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
  int64_t past = 0;
  for (int64_t n = 0; n < gen.new_tokens; ++n) {
    Step st;
    st.B = B;
    st.past = past;
    st.last_only = true;
    if (n == 0) {
      st.T = T0;
      st.ids = prompt.as<int64_t>();
    } else {
      st.T = 1;
      for (int64_t b = 0; b < B; ++b) step_ids.as<int64_t>()[b] = out.as<int64_t>()[b * total + past];
      st.ids = step_ids.as<int64_t>();
    }
    auto t0 = std::chrono::steady_clock::now();
    run_graph(st, logits.as<float>());
    double dt = ms_since(t0);
    stats_.compute_ms += dt;
    if (n > 0) stats_.decode_ms += dt;
    past += st.T;
    bool all_eos = true;
    for (int64_t b = 0; b < B; ++b) {
      int64_t tok = pick(logits.as<float>() + b * V);
      out.as<int64_t>()[b * total + past] = tok;
      all_eos &= (tok == mg_.info.eos_token_id);
    }
    ++stats_.tokens_generated;
    if (gen.on_token) gen.on_token(n, out.as<int64_t>()[past]);
    if (gen.stop_at_eos && all_eos) {
      out.shape[1] = past + 1;
      HostArray cut(DType::I64, {B, past + 1});
      for (int64_t b = 0; b < B; ++b)
        std::memcpy(cut.as<int64_t>() + b * (past + 1), out.as<int64_t>() + b * total,
                    static_cast<size_t>(past + 1) * 8);
      return cut;
    }
  }
  return out;
}

void Engine::run_graph(const Step& st, float* out) {
  std::vector<Allocation> vals(g_.values.size());
  for (size_t i = 0; i < g_.ops.size(); ++i) {
    const Op& op = g_.ops[i];
    run_op(op, st, vals);
    for (ValueId v : op.inputs)
      if (last_use_[v] == static_cast<int32_t>(i) && v != g_.output) vals[v].reset();
  }
  const uint64_t n = static_cast<uint64_t>(g_.value_bytes(g_.output, st.B, st.T, st.last_only));
  std::memcpy(out, vals[g_.output].data(), n);
}

}  // namespace edgerun
