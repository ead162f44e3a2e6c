// GPT-2 (GPT2Model, GPT2LMHeadModel, GPT2ForSequenceClassification): pre-LN causal decoder with
// Conv1D weights stored (in, out), learned positions, a KV cache per layer, an LM head tied to
// the token embedding, or a classifier scoring each sequence's last real token.
// Leaves out: cross-attention (add_cross_attention) and padded batches for generation.
#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "models/blocks.h"
#include "models/family.h"

namespace edgerun {

void build_gpt2(const ConfigJson& cfg, const WeightSet& ws, ModelInfo& info, Graph& g) {
  const int64_t D = cfg.get_size("n_embd", 768, 1 << 16);
  const int64_t L = cfg.get_size("n_layer", 12, 4096);
  const int64_t H = cfg.get_size("n_head", 12, 4096);
  const int64_t V = cfg.get_size("vocab_size", 50257, int64_t{1} << 24);
  const int64_t P = cfg.get_size("n_positions", 1024, 1 << 20);
  const int64_t F = cfg.has("n_inner") ? cfg.get_size("n_inner", 1 << 20) : 4 * D;
  const float eps = static_cast<float>(cfg.get_float("layer_norm_epsilon", 1e-5));
  const ActKind act = parse_activation(cfg, "activation_function", "gelu_new");
  const bool scale_weights = cfg.get_bool("scale_attn_weights", true);
  const bool by_layer = cfg.get_bool("scale_attn_by_inverse_layer_idx", false);
  // reorder_and_upcast_attn only changes the order of fp16 operations; in fp32 it computes the
  // same function, so it is accepted and needs nothing here.
  (void)cfg.get_bool("reorder_and_upcast_attn", false);
  if (cfg.get_bool("add_cross_attention", false))
    ER_THROW(UnsupportedError, cfg.path(), ": add_cross_attention is not supported");
  if (D % H != 0)
    ER_THROW(FormatError, cfg.path(), ": n_embd ", D, " is not a multiple of n_head ", H);
  info.hidden = D;
  info.n_layer = L;
  info.n_head = H;
  info.vocab_size = V;
  info.max_positions = P;
  info.eos_token_id = cfg.get_int("eos_token_id", 50256);
  g.max_positions = P;
  g.n_kv_layers = static_cast<int32_t>(L);
  g.kv_heads = static_cast<int32_t>(H);
  g.kv_head_dim = static_cast<int32_t>(D / H);

  WeightFinder w(ws, g, {"transformer.", ""});
  WeightFinder head(ws, g, {""});
  g.input_ids = g.add_value("input_ids", Rows::Tokens, 1, DType::I64);
  g.values[g.input_ids].is_input = true;

  g.begin_layer("embeddings");
  SlotId wte = w.slot("wte.weight", {V, D}, /*gather_rows=*/true);
  SlotId wpe = w.slot("wpe.weight", {P, D});
  ValueId x = g.add_op(OpKind::Embeddings, "embeddings", {g.input_ids}, {wte, wpe, kNone}, {},
                       Rows::Tokens, D);
  g.end_layer();

  const float base_scale = scale_weights ? 1.0f / std::sqrt(static_cast<float>(D / H)) : 1.0f;
  for (int64_t i = 0; i < L; ++i) {
    const std::string p = "h." + std::to_string(i);
    g.begin_layer(p + ".attn");
    AttentionSpec spec;
    spec.hidden = D;
    spec.n_head = H;
    spec.causal = true;
    spec.kv_layer = static_cast<int32_t>(i);
    spec.scale = by_layer ? base_scale / static_cast<float>(i + 1) : base_scale;
    ValueId h = add_layernorm(w, x, p + ".ln_1", D, eps);
    h = add_linear(w, h, p + ".attn.c_attn", D, 3 * D, /*w_in_out=*/true);
    h = add_attention_fused(g, h, p + ".attn", spec);
    h = add_linear(w, h, p + ".attn.c_proj", D, D, true);
    x = add_residual(g, h, x, p + ".residual1");
    // Attention and MLP stream as separate layers: finer units overlap better at tight budgets.
    g.end_layer();
    g.begin_layer(p + ".mlp");
    h = add_layernorm(w, x, p + ".ln_2", D, eps);
    h = add_linear(w, h, p + ".mlp.c_fc", D, F, true);
    h = add_activation(g, h, act, p + ".mlp.act");
    h = add_linear(w, h, p + ".mlp.c_proj", F, D, true);
    x = add_residual(g, h, x, p + ".residual2");
    g.end_layer();
  }

  g.begin_layer("head");
  x = add_layernorm(w, x, "ln_f", D, eps);
  if (info.head == Head::LmHead) {
    ValueId last = g.add_op(OpKind::SelectLast, "last_token", {x}, {}, {}, Rows::TokensOrLast, D);
    g.end_layer();
    // The (V, D) head is the model's largest tensor (321 MB on GPT-2 XL): cut it into chunks no
    // larger than the largest other layer (the MLP, 8 D^2 weights), the same at every budget.
    g.output = add_vocab_projection(cfg, w, head, last,
                                    {"lm_head.weight", "wte.weight", "", V, std::max<int64_t>(1, 8 * D), "lm_head"});
    info.primary_output = "logits";
  } else if (info.head == Head::SequenceClassification) {
    // transformers pools the score at each sequence's rightmost token that is not pad_token_id;
    // without one, at the last token, and only one sequence per pass.
    OpParams p;
    if (cfg.has("pad_token_id")) {
      p.pad_id = cfg.get_int("pad_token_id");
      if (p.pad_id < 0) ER_THROW(FormatError, cfg.path(), ": pad_token_id ", p.pad_id, " is not a token id");
    }
    ValueId last = g.add_op(OpKind::SelectLastNonPad, "last_non_pad_token", {x, g.input_ids}, {}, p, Rows::Batch, D);
    // nn.Linear(bias=False): a score.bias in the files is none of transformers' either.
    SlotId score = head.slot("score.weight", {info.num_labels, D});
    g.output = g.add_op(OpKind::Linear, "score", {last}, {score, kNone}, {}, Rows::Batch, info.num_labels);
    info.primary_output = "logits";
    g.end_layer();
  } else {
    g.output = x;
    info.primary_output = "last_hidden_state";
    g.end_layer();
  }
}

}  // namespace edgerun
