// Shared transformer pieces for the family builders: weight lookup with the prefixes real
// checkpoints use, layer norm, linear, MLP and multi-head attention sub-graphs.
#pragma once
#include <initializer_list>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "models/config.h"
#include "models/model.h"

namespace edgerun {

// Finds tensors by their base-model name, trying each prefix in turn ("vit.", "" ...), and turns
// them into weight slots after checking dtype and shape.
class WeightFinder {
 public:
  WeightFinder(const WeightSet& ws, Graph& g, std::vector<std::string> prefixes)
      : ws_(ws), g_(g), prefixes_(std::move(prefixes)) {}
  // Slot for `name` (tried under every prefix) with the expected shape; throws FormatError when
  // absent or misshapen, UnsupportedError for a dtype that cannot be computed.
  SlotId slot(const std::string& name, const Shape& expect, bool gather_rows = false);
  // Same, but kNone when the tensor is absent under every prefix.
  SlotId optional_slot(const std::string& name, const Shape& expect);
  bool has(const std::string& name) const;
  // Slot for rows [r0, r1) of a 2-D tensor of shape `expect` (a contiguous byte range).
  SlotId slot_rows(const std::string& name, const Shape& expect, int64_t r0, int64_t r1);
  Graph& graph() { return g_; }

 private:
  const WeightRef* lookup(const std::string& name, std::string* full) const;
  const WeightSet& ws_;
  Graph& g_;
  std::vector<std::string> prefixes_;
};

ActKind parse_activation(const ConfigJson& cfg, const char* key, const std::string& dflt);

ValueId add_layernorm(WeightFinder& w, ValueId x, const std::string& prefix, int64_t d, float eps);
// Rows of an (n, k) fp32 weight per output tile of at most about tile_bytes: n when it fits or
// tile_bytes is 0; else n evenly split, rounded up to 16 rows where the tile still fits.
int64_t tile_rows(int64_t n, int64_t k, uint64_t tile_bytes);
// y = x W^T + b with W stored (n, k) (torch Linear), or x W + b with W stored (k, n) (Conv1D).
// Under the graph's tiles (Graph::tile_bytes), a torch Linear larger than a tile is built as
// output-column tiles (tile_rows), a Conv1D one as row tiles (partial sums over the input, added
// in order: its output columns are not contiguous in the file, its rows are), and the open layer
// is split before a weight that would take it past a tile.
ValueId add_linear(WeightFinder& w, ValueId x, const std::string& prefix, int64_t k, int64_t n,
                   bool w_in_out, bool bias_required = true);
ValueId add_activation(Graph& g, ValueId x, ActKind act, const std::string& name);
// y = x W^T (+ b) with W (n, k) stored torch-style and too large to load whole at small budgets:
// one layer per chunk of at most `chunk_rows` output rows (and at most a tile's, under the graph's
// tiles), each writing its columns of y in place. The chunking depends only on the graph, never on the budget, so every executor makes
// the same kernel calls. bias: the name of an (n) tensor, or empty for none. Opens and closes its
// own layers.
ValueId add_linear_row_chunked(WeightFinder& w, ValueId x, const std::string& weight, int64_t k,
                               int64_t n, int64_t chunk_rows, Rows out_rows, const std::string& name,
                               const std::string& bias = {});
// A projection of x (rows, D) onto the vocabulary (GPT-2's lm_head, BERT's MLM decoder): the
// head's own (V, D) weight where the files hold one, else the token embedding it is tied to
// (tie_word_embeddings; FormatError when the config unties them and there is no own weight),
// row-chunked as add_linear_row_chunked (rows as x's). `head` finds head tensors, `base` the
// embedding (and the bias, when the weight is the embedding).
struct VocabProjection {
  std::string own_weight, tied_weight, bias;  // bias: empty for none
  int64_t vocab = 0, chunk_rows = 0;
  std::string name;
};
ValueId add_vocab_projection(const ConfigJson& cfg, WeightFinder& base, WeightFinder& head, ValueId x,
                             const VocabProjection& v);
ValueId add_residual(Graph& g, ValueId a, ValueId b, const std::string& name);
// transformers' pooler (BertPooler, ViTPooler): tanh(dense(first token of x)), added as the
// extra output "pooler_output" in a layer of its own. Returns false, adding nothing, where the
// file holds no pooler.dense weights (a model saved without its pooling layer).
bool add_pooler_output(WeightFinder& w, ValueId x, int64_t d);

struct AttentionSpec {
  int64_t hidden = 0, n_head = 0;
  bool causal = false, padding_mask = false;
  float scale = 1.0f;
  int32_t kv_layer = kNone;
  AttnVariant variant = AttnVariant::Softmax;
};
// Attention over separate q/k/v projections (ViT, BERT); returns the context (rows, hidden),
// before the output projection.
ValueId add_attention_qkv(WeightFinder& w, ValueId x, const std::string& q, const std::string& k,
                          const std::string& v, const AttentionSpec& s, bool qkv_bias);
// Attention over a fused (rows, 3*hidden) projection (GPT-2's c_attn).
ValueId add_attention_fused(Graph& g, ValueId qkv, const std::string& name,
                            const AttentionSpec& s);

}  // namespace edgerun
