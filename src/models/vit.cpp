// ViT (ViTModel, ViTForImageClassification): pre-LN encoder over [CLS] + patch tokens.
// Leaves out: position-embedding interpolation for other image sizes, masked-image heads.
#include <cmath>

#include "core/error.h"
#include "models/blocks.h"
#include "models/family.h"

namespace edgerun {

void build_vit(const ConfigJson& cfg, const WeightSet& ws, ModelInfo& info, Graph& g) {
  const int64_t D = cfg.get_size("hidden_size", 768, 1 << 16);
  const int64_t L = cfg.get_size("num_hidden_layers", 12, 4096);
  const int64_t H = cfg.get_size("num_attention_heads", 12, 4096);
  const int64_t F = cfg.get_size("intermediate_size", 3072, 1 << 20);
  const int64_t C = cfg.get_size("num_channels", 3, 64);
  const int64_t S = cfg.get_size("image_size", 224, 1 << 14);
  const int64_t P = cfg.get_size("patch_size", 16, 1 << 14);
  const float eps = static_cast<float>(cfg.get_float("layer_norm_eps", 1e-12));
  const bool qkv_bias = cfg.get_bool("qkv_bias", true);
  const ActKind act = parse_activation(cfg, "hidden_act", "gelu");
  if (D % H != 0)
    ER_THROW(FormatError, cfg.path(), ": hidden_size ", D, " is not a multiple of num_attention_heads ", H);
  if (S % P != 0)
    ER_THROW(FormatError, cfg.path(), ": image_size ", S, " is not a multiple of patch_size ", P);
  const int64_t Np = (S / P) * (S / P);
  info.hidden = D;
  info.n_layer = L;
  info.n_head = H;
  info.image_size = S;
  info.patch_size = P;
  info.num_channels = C;

  WeightFinder w(ws, g, {"vit.", ""});
  WeightFinder head(ws, g, {""});
  g.pixel_values = g.add_value("pixel_values", Rows::Batch, C * S * S);
  g.values[g.pixel_values].is_input = true;

  g.begin_layer("embeddings");
  SlotId conv_w = w.slot("embeddings.patch_embeddings.projection.weight", {D, C, P, P});
  SlotId conv_b = w.slot("embeddings.patch_embeddings.projection.bias", {D});
  SlotId cls = w.slot("embeddings.cls_token", {1, 1, D});
  SlotId pos = w.slot("embeddings.position_embeddings", {1, Np + 1, D});
  OpParams pe;
  pe.channels = static_cast<int32_t>(C);
  pe.image_h = pe.image_w = static_cast<int32_t>(S);
  pe.patch = static_cast<int32_t>(P);
  ValueId x = g.add_op(OpKind::PatchEmbed, "embeddings", {g.pixel_values},
                       {conv_w, conv_b, cls, pos}, pe, Rows::Tokens, D);
  g.end_layer();

  AttentionSpec spec;
  spec.hidden = D;
  spec.n_head = H;
  spec.scale = 1.0f / std::sqrt(static_cast<float>(D / H));
  spec.variant = info.attention;
  for (int64_t i = 0; i < L; ++i) {
    const std::string p = "encoder.layer." + std::to_string(i);
    g.begin_layer(p + ".attn");
    ValueId h = add_layernorm(w, x, p + ".layernorm_before", D, eps);
    ValueId ctx = add_attention_qkv(w, h, p + ".attention.attention.query",
                                    p + ".attention.attention.key",
                                    p + ".attention.attention.value", spec, qkv_bias);
    ValueId att = add_linear(w, ctx, p + ".attention.output.dense", D, D, false);
    x = add_residual(g, att, x, p + ".residual1");
    // Attention and MLP stream as separate layers: finer units overlap better at tight budgets.
    g.end_layer();
    g.begin_layer(p + ".mlp");
    h = add_layernorm(w, x, p + ".layernorm_after", D, eps);
    h = add_linear(w, h, p + ".intermediate.dense", D, F, false);
    h = add_activation(g, h, act, p + ".intermediate.act");
    h = add_linear(w, h, p + ".output.dense", F, D, false);
    x = add_residual(g, h, x, p + ".residual2");
    g.end_layer();
  }

  g.begin_layer("head");
  x = add_layernorm(w, x, "layernorm", D, eps);
  if (info.head == Head::ImageClassification) {
    ValueId c = g.add_op(OpKind::SelectFirst, "cls_token", {x}, {}, {}, Rows::Batch, D);
    g.output = add_linear(head, c, "classifier", D, info.num_labels, false);
    info.primary_output = "logits";
  } else {
    g.output = x;  // last_hidden_state; the pooler does not change the primary output
    info.primary_output = "last_hidden_state";
  }
  g.end_layer();
}

}  // namespace edgerun
