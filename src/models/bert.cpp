// BERT (BertModel and its sequence-classification, masked-LM, token-classification and
// question-answering heads): post-LN encoder with absolute positions, token types and a padding
// mask. Relative position embeddings are refused, not approximated.
#include <cmath>

#include "core/error.h"
#include "models/blocks.h"
#include "models/family.h"

namespace edgerun {

void build_bert(const ConfigJson& cfg, const WeightSet& ws, ModelInfo& info, Graph& g) {
  const int64_t D = cfg.get_size("hidden_size", 768, 1 << 16);
  const int64_t L = cfg.get_size("num_hidden_layers", 12, 4096);
  const int64_t H = cfg.get_size("num_attention_heads", 12, 4096);
  const int64_t F = cfg.get_size("intermediate_size", 3072, 1 << 20);
  const int64_t V = cfg.get_size("vocab_size", 30522, int64_t{1} << 24);
  const int64_t P = cfg.get_size("max_position_embeddings", 512, 1 << 20);
  const int64_t TV = cfg.get_size("type_vocab_size", 2, 1 << 16);
  const float eps = static_cast<float>(cfg.get_float("layer_norm_eps", 1e-12));
  const ActKind act = parse_activation(cfg, "hidden_act", "gelu");
  const std::string pos_type = cfg.get_string("position_embedding_type", "absolute");
  if (pos_type != "absolute")
    ER_THROW(UnsupportedError, cfg.path(), ": position_embedding_type \"", pos_type,
             "\" is not supported; edgerun runs BERT with absolute position embeddings only");
  if (D % H != 0)
    ER_THROW(FormatError, cfg.path(), ": hidden_size ", D, " is not a multiple of num_attention_heads ", H);
  info.hidden = D;
  info.n_layer = L;
  info.n_head = H;
  info.vocab_size = V;
  info.max_positions = P;
  info.type_vocab_size = TV;
  g.max_positions = P;

  WeightFinder w(ws, g, {"bert.", ""});
  WeightFinder head(ws, g, {""});
  g.input_ids = g.add_value("input_ids", Rows::Tokens, 1, DType::I64);
  g.values[g.input_ids].is_input = true;
  g.token_type_ids = g.add_value("token_type_ids", Rows::Tokens, 1, DType::I64);
  g.values[g.token_type_ids].is_input = true;

  g.begin_layer("embeddings");
  SlotId word = w.slot("embeddings.word_embeddings.weight", {V, D}, /*gather_rows=*/true);
  SlotId pos = w.slot("embeddings.position_embeddings.weight", {P, D});
  SlotId type = w.slot("embeddings.token_type_embeddings.weight", {TV, D});
  ValueId x = g.add_op(OpKind::Embeddings, "embeddings", {g.input_ids, g.token_type_ids},
                       {word, pos, type}, {}, Rows::Tokens, D);
  x = add_layernorm(w, x, "embeddings.LayerNorm", D, eps);
  g.end_layer();

  AttentionSpec spec;
  spec.hidden = D;
  spec.n_head = H;
  spec.padding_mask = true;
  spec.variant = info.attention;
  spec.scale = 1.0f / std::sqrt(static_cast<float>(D / H));
  for (int64_t i = 0; i < L; ++i) {
    const std::string p = "encoder.layer." + std::to_string(i);
    g.begin_layer(p + ".attn");
    ValueId ctx = add_attention_qkv(w, x, p + ".attention.self.query", p + ".attention.self.key",
                                    p + ".attention.self.value", spec, true);
    ValueId h = add_linear(w, ctx, p + ".attention.output.dense", D, D, false);
    h = add_residual(g, h, x, p + ".attention.residual");
    x = add_layernorm(w, h, p + ".attention.output.LayerNorm", D, eps);
    // Attention and MLP stream as separate layers: finer units overlap better at tight budgets.
    g.end_layer();
    g.begin_layer(p + ".mlp");
    h = add_linear(w, x, p + ".intermediate.dense", D, F, false);
    h = add_activation(g, h, act, p + ".intermediate.act");
    h = add_linear(w, h, p + ".output.dense", F, D, false);
    h = add_residual(g, h, x, p + ".output.residual");
    x = add_layernorm(w, h, p + ".output.LayerNorm", D, eps);
    g.end_layer();
  }

  if (info.head == Head::Base) {
    g.output = x;
    info.primary_output = "last_hidden_state";
    return;
  }
  g.begin_layer("head");
  switch (info.head) {
    case Head::SequenceClassification: {
      ValueId c = g.add_op(OpKind::SelectFirst, "cls_token", {x}, {}, {}, Rows::Batch, D);
      c = add_linear(w, c, "pooler.dense", D, D, false);
      c = add_activation(g, c, ActKind::Tanh, "pooler.act");
      g.output = add_linear(head, c, "classifier", D, info.num_labels, false);
      info.primary_output = "logits";
      break;
    }
    case Head::MaskedLm: {  // BertOnlyMLMHead: dense, activation, LayerNorm, decoder onto the vocabulary
      ValueId h = add_linear(head, x, "cls.predictions.transform.dense", D, D, false);
      h = add_activation(g, h, act, "cls.predictions.transform.act");
      h = add_layernorm(head, h, "cls.predictions.transform.LayerNorm", D, eps);
      g.end_layer();
      // The decoder's bias: an untied decoder's own (transformers then leaves cls.predictions.bias
      // unread), else cls.predictions.bias, to which it ties decoder.bias and which a tied save
      // holds alone. Chunks no larger than the largest other layer (the MLP, 2 D F weights).
      const char* bias =
          head.has("cls.predictions.decoder.bias") ? "cls.predictions.decoder.bias" : "cls.predictions.bias";
      g.output = add_vocab_projection(cfg, w, head, h,
                                      {"cls.predictions.decoder.weight", "embeddings.word_embeddings.weight", bias, V,
                                       std::max<int64_t>(1, 2 * F), "cls.predictions.decoder"});
      info.primary_output = "logits";
      return;
    }
    case Head::TokenClassification:
      g.output = add_linear(head, x, "classifier", D, info.num_labels, false);
      info.primary_output = "logits";
      break;
    case Head::QuestionAnswering:
      // transformers splits qa_outputs' columns into start and end logits, which takes two.
      if (info.num_labels != 2)
        ER_THROW(FormatError, cfg.path(), ": BertForQuestionAnswering needs num_labels 2 (start and end logits), not ",
                 info.num_labels);
      g.output = add_linear(head, x, "qa_outputs", D, 2, false);
      info.primary_output = "start_end_logits";
      break;
    default: ER_CHECK(false, info.arch, ": no BERT head");
  }
  g.end_layer();
}

}  // namespace edgerun
