// Shared transformer pieces: weight lookup, norms, linears, MLP and attention sub-graphs.
#include "models/blocks.h"

#include <algorithm>

#include "core/error.h"

namespace edgerun {

const WeightRef* WeightFinder::lookup(const std::string& name, std::string* full) const {
  for (const auto& p : prefixes_) {
    std::string n = p + name;
    if (const WeightRef* r = ws_.find(n)) {
      if (full) *full = n;
      return r;
    }
  }
  return nullptr;
}

bool WeightFinder::has(const std::string& name) const { return lookup(name, nullptr) != nullptr; }

SlotId WeightFinder::optional_slot(const std::string& name, const Shape& expect) {
  if (!has(name)) return kNone;
  return slot(name, expect);
}

SlotId WeightFinder::slot(const std::string& name, const Shape& expect, bool gather_rows) {
  std::string full;
  const WeightRef* r = lookup(name, &full);
  if (!r) {
    std::string tried;
    for (const auto& p : prefixes_) tried += (tried.empty() ? "\"" : ", \"") + p + name + "\"";
    ER_THROW(FormatError, "missing tensor ", tried, " in the weights of this model (",
             ws_.files.empty() ? std::string("no files") : ws_.files[0].path(), ")");
  }
  const SafetensorsEntry& e = *r->entry;
  const std::string& file = ws_.files[r->file].path();
  // I16: q16 models from `edgerun convert --dtype q16` (apply_precision checks where they may be).
  if (e.dtype != DType::F32 && e.dtype != DType::BF16 && e.dtype != DType::F16 && e.dtype != DType::I16)
    ER_THROW(UnsupportedError, file, ": tensor \"", full, "\" has dtype ", dtype_name(e.dtype),
             "; edgerun computes weights stored as F32, BF16 or F16 (I16 in q16 models)");
  if (e.shape != expect)
    ER_THROW(FormatError, file, ": tensor \"", full, "\" has shape ", shape_str(e.shape),
             " but config.json implies ", shape_str(expect));
  WeightSlot s;
  s.name = full;
  s.file_dtype = e.dtype;
  s.shape = e.shape;
  s.file = r->file;
  s.begin = e.begin;
  s.end = e.end;
  s.gather_rows = gather_rows;
  return g_.add_slot(std::move(s));
}

SlotId WeightFinder::slot_rows(const std::string& name, const Shape& expect, int64_t r0, int64_t r1) {
  SlotId full = slot(name, expect);
  ER_CHECK((expect.size() == 1 || expect.size() == 2) && 0 <= r0 && r0 < r1 && r1 <= expect[0]);
  // Reuse the validated full slot's record for the sub-range, then drop the full one.
  WeightSlot s = g_.slots[full];
  g_.slots.pop_back();
  const int64_t row = expect.size() == 2 ? expect[1] : 1;
  const uint64_t row_bytes = static_cast<uint64_t>(row * dtype_size(s.file_dtype));
  s.end = s.begin + static_cast<uint64_t>(r1) * row_bytes;
  s.begin += static_cast<uint64_t>(r0) * row_bytes;
  s.shape = expect.size() == 2 ? Shape{r1 - r0, row} : Shape{r1 - r0};
  s.name += "[" + std::to_string(r0) + ":" + std::to_string(r1) + "]";
  return g_.add_slot(std::move(s));
}

ActKind parse_activation(const ConfigJson& cfg, const char* key, const std::string& dflt) {
  std::string a = cfg.get_string(key, dflt);
  if (a == "gelu" || a == "gelu_python") return ActKind::GeluErf;
  if (a == "gelu_new" || a == "gelu_pytorch_tanh" || a == "gelu_fast") return ActKind::GeluTanh;
  if (a == "relu") return ActKind::Relu;
  if (a == "quick_gelu") return ActKind::QuickGelu;
  if (a == "silu" || a == "swish") return ActKind::Silu;
  if (a == "tanh") return ActKind::Tanh;
  ER_THROW(UnsupportedError, cfg.path(), ": \"", key, "\" = \"", a,
           "\" is not supported (gelu, gelu_new, gelu_pytorch_tanh, gelu_fast, relu, quick_gelu, "
           "silu, tanh)");
}

ValueId add_layernorm(WeightFinder& w, ValueId x, const std::string& prefix, int64_t d,
                      float eps) {
  Graph& g = w.graph();
  // Checkpoints converted from the original TensorFlow BERT name LayerNorm weights gamma/beta.
  const bool tf_names = !w.has(prefix + ".weight") && w.has(prefix + ".gamma");
  SlotId gamma = w.slot(prefix + (tf_names ? ".gamma" : ".weight"), {d});
  SlotId beta = w.slot(prefix + (tf_names ? ".beta" : ".bias"), {d});
  OpParams p;
  p.eps = eps;
  return g.add_op(OpKind::LayerNorm, prefix, {x}, {gamma, beta}, p, g.values[x].rows, d);
}

int64_t tile_rows(int64_t n, int64_t k, uint64_t tile_bytes) {
  const uint64_t row = static_cast<uint64_t>(k) * sizeof(float);
  if (tile_bytes == 0 || static_cast<uint64_t>(n) * row <= tile_bytes) return n;
  // Evenly split, each a multiple of 16 rows (whole SIMD widths of output columns) where the
  // tile holds that many.
  const uint64_t tiles = (static_cast<uint64_t>(n) * row + tile_bytes - 1) / tile_bytes;
  int64_t rows = (n + static_cast<int64_t>(tiles) - 1) / static_cast<int64_t>(tiles);
  if (static_cast<uint64_t>(rows + 15) / 16 * 16 * row <= tile_bytes) rows = (rows + 15) / 16 * 16;
  return std::max<int64_t>(1, std::min(rows, n));
}

namespace {
// Splits the open layer before a weight of `bytes` that would take it past the graph's tile
// size (Graph::tile_bytes); nothing without tiles or with no layer open.
void make_room(Graph& g, uint64_t bytes, const std::string& name) {
  if (g.tile_bytes == 0 || g.layers.empty() || g.layers.back().end_op != -1) return;
  const uint64_t open = g.open_layer_weight_bytes();
  if (open > 0 && open + bytes > g.tile_bytes) g.split_layer(name);
}

// Tiles of `step` rows of the stored weight, row ranges contiguous in the file: of a torch (n, k)
// weight, output columns (each writing its columns of y); of a Conv1D (k, n) one, inputs (each
// adding its partial sum into y, in order, the first with the whole bias). One op per tile,
// named NAME.c, each in a layer of its own (own_layers) or where make_room puts it. bias: the
// (n) tensor's name, or empty for none.
ValueId add_row_tiles(WeightFinder& w, ValueId x, const std::string& weight, const std::string& bias, int64_t k,
                      int64_t n, bool w_in_out, int64_t step, Rows out_rows, const std::string& name, bool own_layers) {
  Graph& g = w.graph();
  const Shape stored = w_in_out ? Shape{k, n} : Shape{n, k};
  const SlotId whole_bias = w_in_out && !bias.empty() ? w.slot(bias, {n}) : kNone;
  ValueId y = kNone;
  int c = 0;
  for (int64_t r0 = 0; r0 < stored[0]; r0 += step, ++c) {
    const int64_t r1 = std::min(stored[0], r0 + step);
    const std::string tile = name + "." + std::to_string(c);
    if (own_layers) g.begin_layer(tile);
    SlotId s = w.slot_rows(weight, stored, r0, r1);
    SlotId b = w_in_out ? (r0 == 0 ? whole_bias : kNone) : bias.empty() ? kNone : w.slot_rows(bias, {n}, r0, r1);
    if (!own_layers) make_room(g, g.slots[s].nbytes(), tile);
    OpParams p;
    p.w_in_out = w_in_out;
    (w_in_out ? p.k_begin : p.chunk_begin) = r0;
    std::vector<ValueId> in{x};
    if (y != kNone) in.push_back(y);
    y = g.add_op(OpKind::Linear, tile, in, {s, b}, p, out_rows, n);
    if (own_layers) g.end_layer();
  }
  return y;
}
}  // namespace

ValueId add_linear(WeightFinder& w, ValueId x, const std::string& prefix, int64_t k, int64_t n,
                   bool w_in_out, bool bias_required) {
  Graph& g = w.graph();
  ER_CHECK(g.values[x].cols == k, prefix, ": input has ", g.values[x].cols, " columns, not ", k);
  const Shape stored = w_in_out ? Shape{k, n} : Shape{n, k};
  const int64_t step = tile_rows(stored[0], stored[1], g.tile_bytes);
  const bool bias = bias_required || w.has(prefix + ".bias");
  if (step < stored[0])
    return add_row_tiles(w, x, prefix + ".weight", bias ? prefix + ".bias" : "", k, n, w_in_out, step,
                         g.values[x].rows, prefix, /*own_layers=*/false);
  SlotId wt = w.slot(prefix + ".weight", stored);
  SlotId b = bias ? w.slot(prefix + ".bias", {n}) : kNone;
  make_room(g, g.slots[wt].nbytes(), prefix);
  OpParams p;
  p.w_in_out = w_in_out;
  return g.add_op(OpKind::Linear, prefix, {x}, {wt, b}, p, g.values[x].rows, n);
}

ValueId add_activation(Graph& g, ValueId x, ActKind act, const std::string& name) {
  OpParams p;
  p.act = act;
  return g.add_op(OpKind::Activation, name, {x}, {}, p, g.values[x].rows, g.values[x].cols);
}

ValueId add_residual(Graph& g, ValueId a, ValueId b, const std::string& name) {
  return g.add_op(OpKind::Add, name, {a, b}, {}, {}, g.values[a].rows, g.values[a].cols);
}

ValueId add_linear_row_chunked(WeightFinder& w, ValueId x, const std::string& weight, int64_t k,
                               int64_t n, int64_t chunk_rows, Rows out_rows, const std::string& name,
                               const std::string& bias) {
  Graph& g = w.graph();
  if (g.tile_bytes) chunk_rows = std::min(chunk_rows, tile_rows(n, k, g.tile_bytes));
  return add_row_tiles(w, x, weight, bias, k, n, /*w_in_out=*/false, chunk_rows, out_rows, name, /*own_layers=*/true);
}

ValueId add_vocab_projection(const ConfigJson& cfg, WeightFinder& base, WeightFinder& head, ValueId x,
                             const VocabProjection& v) {
  const bool own = head.has(v.own_weight);
  if (!own && !cfg.get_bool("tie_word_embeddings", true))
    ER_THROW(FormatError, cfg.path(), ": tie_word_embeddings is false but the weights have no ", v.own_weight);
  WeightFinder& src = own ? head : base;
  return add_linear_row_chunked(src, x, own ? v.own_weight : v.tied_weight, base.graph().values[x].cols, v.vocab,
                                v.chunk_rows, base.graph().values[x].rows, v.name, v.bias);
}

namespace {
OpParams attention_params(const AttentionSpec& s) {
  OpParams p;
  p.n_head = static_cast<int32_t>(s.n_head);
  p.head_dim = static_cast<int32_t>(s.hidden / s.n_head);
  p.causal = s.causal;
  p.use_padding_mask = s.padding_mask;
  p.scale = s.scale;
  p.kv_layer = s.kv_layer;
  p.attn = s.variant;
  return p;
}
}  // namespace

ValueId add_attention_qkv(WeightFinder& w, ValueId x, const std::string& q, const std::string& k,
                          const std::string& v, const AttentionSpec& s, bool qkv_bias) {
  Graph& g = w.graph();
  ValueId vq = add_linear(w, x, q, s.hidden, s.hidden, false, qkv_bias);
  ValueId vk = add_linear(w, x, k, s.hidden, s.hidden, false, qkv_bias);
  ValueId vv = add_linear(w, x, v, s.hidden, s.hidden, false, qkv_bias);
  std::string name = q.substr(0, q.rfind('.')) + ".attention";
  return g.add_op(OpKind::Attention, name, {vq, vk, vv}, {}, attention_params(s),
                  g.values[x].rows, s.hidden);
}

ValueId add_attention_fused(Graph& g, ValueId qkv, const std::string& name,
                            const AttentionSpec& s) {
  return g.add_op(OpKind::Attention, name, {qkv}, {}, attention_params(s), g.values[qkv].rows,
                  s.hidden);
}

bool add_pooler_output(WeightFinder& w, ValueId x, int64_t d) {
  if (!w.has("pooler.dense.weight")) return false;
  Graph& g = w.graph();
  g.begin_layer("pooler");
  ValueId c = g.add_op(OpKind::SelectFirst, "pooler.first_token", {x}, {}, {}, Rows::Batch, d);
  c = add_linear(w, c, "pooler.dense", d, d, false);
  c = add_activation(g, c, ActKind::Tanh, "pooler.act");
  g.end_layer();
  g.extra_outputs.emplace_back("pooler_output", c);
  return true;
}

}  // namespace edgerun
