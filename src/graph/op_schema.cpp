// The op schemas (see op_schema.h): one row per OpKind, in OpKind order.
#include "graph/op_schema.h"

#include <array>
#include <cstring>

#include "core/error.h"
#include "graph/graph.h"
#include "graph/nd_bind.h"

namespace edgerun {

namespace {

template <typename... Args>
[[noreturn]] void fail(const Op& op, const Args&... args) {
  throw InternalError(detail::cat(op_kind_name(op.kind), " op '", op.name, "': ", args...));
}

const Value& in(const Graph& g, const Op& op, size_t i) { return g.values[op.inputs[i]]; }
const Value& out(const Graph& g, const Op& op) { return g.values[op.output]; }
const WeightSlot* slot(const Graph& g, const Op& op, size_t i) {
  return op.slots[i] == kNone ? nullptr : &g.slots[op.slots[i]];
}

// Counts and indices every kind shares: inputs and slots as the schema names them.
void check_common(const Graph& g, const Op& op, const OpSchema& s) {
  size_t required = 0;
  bool variadic = false;
  for (const char* n : s.inputs) {
    const size_t len = std::strlen(n);
    variadic |= len > 3 && std::strcmp(n + len - 3, "...") == 0;
    required += n[len - 1] != '?';
  }
  if (op.inputs.size() < required || (!variadic && op.inputs.size() > s.inputs.size()))
    fail(op, op.inputs.size(), " inputs; the schema takes ", required, variadic ? " or more" : " to ",
         variadic ? "" : std::to_string(s.inputs.size()));
  for (ValueId v : op.inputs)
    if ((v < 0 && !(s.nd && v == kNone)) || v >= static_cast<ValueId>(g.values.size()))
      fail(op, "input value ", v, " does not exist");
  if (op.output < 0 || op.output >= static_cast<ValueId>(g.values.size())) fail(op, "no output value");
  if (s.nd) {
    // N-D kinds: op.slots are those of its weight inputs (a value bound to a slot), for the layer.
    if (op.outputs.empty() || op.outputs[0] != op.output) fail(op, "outputs do not start with the output");
    for (SlotId id : op.slots)
      if (id < 0 || id >= static_cast<SlotId>(g.slots.size())) fail(op, "weight slot ", id, " does not exist");
    return;
  }
  if (op.slots.size() != s.slots.size())
    fail(op, op.slots.size(), " weight slots; the schema names ", s.slots.size());
  for (size_t i = 0; i < op.slots.size(); ++i) {
    const SlotId id = op.slots[i];
    const char* n = s.slots[i];
    if (id == kNone) {
      if (n[std::strlen(n) - 1] != '?') fail(op, "weight slot '", n, "' is required");
      continue;
    }
    if (id < 0 || id >= static_cast<SlotId>(g.slots.size())) fail(op, "weight slot ", id, " does not exist");
  }
}

void check_vector_slot(const Graph& g, const Op& op, size_t i, int64_t n) {
  const WeightSlot* w = slot(g, op, i);
  if (w && w->shape != Shape{n}) fail(op, "slot ", w->name, " has shape ", shape_str(w->shape), ", not (", n, ")");
}

// Elementwise kinds: every input has the output's rows and cols.
void check_same_shape(const Graph& g, const Op& op) {
  for (size_t i = 0; i < op.inputs.size(); ++i)
    if (in(g, op, i).cols != out(g, op).cols || in(g, op, i).rows != out(g, op).rows)
      fail(op, "input ", i, " is not shaped as the output");
}

void validate_embeddings(const Graph& g, const Op& op) {
  if (in(g, op, 0).dtype != DType::I64) fail(op, "token ids must be int64");
  const int64_t D = out(g, op).cols;
  for (size_t i = 0; i < 3; ++i) {
    const WeightSlot* w = slot(g, op, i);
    if (w && (w->shape.size() != 2 || w->shape[1] != D)) fail(op, "slot ", w->name, " is not (n, ", D, ")");
  }
  if (!slot(g, op, 0)->gather_rows) fail(op, "the word table must be gathered by rows");
}

void validate_patch_embed(const Graph& g, const Op& op) {
  const OpParams& p = op.p;
  if (p.channels <= 0 || p.patch <= 0 || p.image_h < p.patch || p.image_w < p.patch)
    fail(op, "bad image geometry");
  const int64_t D = out(g, op).cols;
  if (slot(g, op, 0)->numel() != D * p.channels * p.patch * p.patch) fail(op, "conv weight is not (D, C, P, P)");
  for (size_t i : {size_t{1}, size_t{2}})  // bias (D), cls (1, 1, D)
    if (slot(g, op, i)->numel() != D) fail(op, "slot ", slot(g, op, i)->name, " does not hold ", D, " values");
}

void validate_layernorm(const Graph& g, const Op& op) {
  check_same_shape(g, op);
  check_vector_slot(g, op, 0, out(g, op).cols);
  check_vector_slot(g, op, 1, out(g, op).cols);
}

void validate_linear(const Graph& g, const Op& op) {
  const Value& x = in(g, op, 0);
  const Value& y = out(g, op);
  if (x.rows != y.rows) fail(op, "input and output rows differ");
  const WeightSlot& w = *slot(g, op, 0);
  if (w.shape.size() != 2) fail(op, "weight ", w.name, " is not a matrix");
  int64_t n = y.cols;
  if (op.p.chunk_begin >= 0 && op.p.k_begin >= 0) fail(op, "a tile of both rows and columns");
  if (op.p.chunk_begin >= 0) {
    n = w.shape[0];
    if (w.shape[1] != x.cols || op.p.chunk_begin + n > y.cols) fail(op, "chunk outside the output");
    if ((op.p.chunk_begin > 0) != (op.inputs.size() == 2)) fail(op, "a later chunk takes the running output");
  } else if (op.p.k_begin >= 0) {
    if (!op.p.w_in_out || w.shape[1] != y.cols || op.p.k_begin + w.shape[0] > x.cols)
      fail(op, "row tile outside the input");
    if ((op.p.k_begin > 0) != (op.inputs.size() == 2)) fail(op, "a later row tile takes the running output");
  } else {
    const Shape want = op.p.w_in_out ? Shape{x.cols, y.cols} : Shape{y.cols, x.cols};
    if (w.shape != want) fail(op, "weight ", w.name, " has shape ", shape_str(w.shape), ", not ", shape_str(want));
    if (op.inputs.size() != 1) fail(op, "one input");
  }
  if (op.inputs.size() == 2 && (in(g, op, 1).cols != y.cols || in(g, op, 1).rows != y.rows))
    fail(op, "the running output is not shaped as the output");
  check_vector_slot(g, op, 1, n);
}

void validate_activation(const Graph& g, const Op& op) {
  check_same_shape(g, op);
  if (static_cast<int>(op.p.act) > static_cast<int>(ActKind::Silu)) fail(op, "unknown activation");
}

void validate_attention(const Graph& g, const Op& op) {
  const OpParams& p = op.p;
  if (p.n_head <= 0 || p.head_dim <= 0) fail(op, "n_head and head_dim must be positive");
  const int64_t D = int64_t{p.n_head} * p.head_dim;
  if (out(g, op).cols != D) fail(op, "output has ", out(g, op).cols, " columns, not n_head * head_dim = ", D);
  const int64_t want = op.inputs.size() == 1 ? 3 * D : D;
  for (size_t i = 0; i < op.inputs.size(); ++i)
    if (in(g, op, i).cols != want || in(g, op, i).rows != out(g, op).rows)
      fail(op, "input ", i, " is not (rows, ", want, ")");
  if (op.inputs.size() == 2) fail(op, "fused qkv or separate q, k, v");
}

void validate_select(const Graph& g, const Op& op) {
  if (in(g, op, 0).cols != out(g, op).cols) fail(op, "input and output columns differ");
}

void validate_select_non_pad(const Graph& g, const Op& op) {
  validate_select(g, op);
  const Value& ids = in(g, op, 1);
  if (op.inputs[1] != g.input_ids || ids.dtype != DType::I64) fail(op, "input 1 must be the graph's int64 input_ids");
  if (in(g, op, 0).rows != Rows::Tokens || out(g, op).rows != Rows::Batch)
    fail(op, "selects one row per sequence from every token's row");
}

void validate_add(const Graph& g, const Op& op) { check_same_shape(g, op); }

double rows_d(const Graph& g, const Op& op, const PassShape& s) {
  // FLOPs count the output's rows as if every token were asked for (the profile's convention).
  return static_cast<double>(Graph::row_count(out(g, op).rows, s.B, s.T));
}
// Elementwise and data-movement kinds: a few flops per output element.
double flops_elementwise(const Graph& g, const Op& op, const PassShape& s) {
  return rows_d(g, op, s) * static_cast<double>(out(g, op).cols) * 5.0;
}
double flops_linear(const Graph& g, const Op& op, const PassShape& s) {
  const double k = static_cast<double>(op.p.k_begin >= 0 ? g.slots[op.slots[0]].shape[0] : in(g, op, 0).cols);
  const double n = static_cast<double>(op.p.chunk_begin >= 0 ? g.slots[op.slots[0]].shape[0] : out(g, op).cols);
  return 2.0 * rows_d(g, op, s) * k * n;
}
double flops_patch_embed(const Graph& g, const Op& op, const PassShape& s) {
  // Counted over every output row (the cls row too): the convention the profiles were fitted with.
  const double k = static_cast<double>(op.p.channels) * op.p.patch * op.p.patch;
  return 2.0 * rows_d(g, op, s) * k * static_cast<double>(out(g, op).cols);
}
double flops_attention(const Graph& g, const Op& op, const PassShape& s) {
  // QK^T and PV: 2 * 2 * (B*T) * keys * D, keys = past + T for causal, T otherwise.
  const double keys = static_cast<double>(op.p.causal ? s.past + s.T : s.T);
  return 4.0 * rows_d(g, op, s) * keys * static_cast<double>(out(g, op).cols);
}

void validate_nd(const Graph& g, const Op& op) {
  for (ValueId v : op.inputs)
    if (v != kNone && !g.values[v].nd) fail(op, "input ", g.values[v].name, " is not an N-D value");
  for (ValueId v : op.outputs)
    if (v < 0 || v >= static_cast<ValueId>(g.values.size()) || !g.values[v].nd) fail(op, "an output is not an N-D value");
}
double flops_nd(const Graph& g, const Op& op, const PassShape&) { return nd_flops(g, op); }

// A row of an N-D kind: inputs as the ONNX node orders them ("?" optional, "..." any number).
OpSchema nd_row(OpKind k, const char* name, std::vector<const char*> inputs, std::vector<const char*> params) {
  return OpSchema{k, name, std::move(inputs), {}, std::move(params), validate_nd, flops_nd, true};
}

const std::array<OpSchema, kOpKindCount>& table() {
  static const std::array<OpSchema, kOpKindCount> t = {{
      {OpKind::Embeddings, "Embeddings", {"input_ids", "token_type_ids?"},
       {"word", "position", "token_type?"}, {}, validate_embeddings, flops_elementwise},
      {OpKind::PatchEmbed, "PatchEmbed", {"pixel_values"}, {"weight", "bias", "cls", "position"},
       {"channels", "image_h", "image_w", "patch"}, validate_patch_embed, flops_patch_embed},
      {OpKind::LayerNorm, "LayerNorm", {"x"}, {"weight", "bias"}, {"eps"}, validate_layernorm,
       flops_elementwise},
      {OpKind::Linear, "Linear", {"x", "running_output?"}, {"weight", "bias?"},
       {"w_in_out", "chunk_begin", "q16", "q_x", "q_w", "q_out"}, validate_linear, flops_linear},
      {OpKind::Activation, "Activation", {"x"}, {}, {"act"}, validate_activation, flops_elementwise},
      {OpKind::Add, "Add", {"a", "b"}, {}, {}, validate_add, flops_elementwise},
      {OpKind::Attention, "Attention", {"q_or_qkv", "k?", "v?"}, {},
       {"n_head", "head_dim", "causal", "use_padding_mask", "scale", "kv_layer", "attn", "q16",
        "q_x", "q_mid", "q_out"},
       validate_attention, flops_attention},
      {OpKind::SelectFirst, "SelectFirst", {"x"}, {}, {}, validate_select, flops_elementwise},
      {OpKind::SelectLast, "SelectLast", {"x"}, {}, {}, validate_select, flops_elementwise},
      {OpKind::SelectLastNonPad, "SelectLastNonPad", {"x", "input_ids"}, {}, {"pad_id"}, validate_select_non_pad,
       flops_elementwise},
      nd_row(OpKind::Conv, "Conv", {"x", "w", "b?", "bn_scale?", "bn_bias?", "bn_mean?", "bn_var?"},
             {"conv", "auto_pad", "folded_bn", "bn_eps"}),
      nd_row(OpKind::ConvTranspose, "ConvTranspose", {"x", "w", "b?"}, {"conv", "auto_pad", "output_shape"}),
      nd_row(OpKind::Pool, "Pool", {"x"}, {"pool", "auto_pad"}),
      nd_row(OpKind::MatMul, "MatMul", {"a", "b", "bias?"}, {"epi"}),
      nd_row(OpKind::Gemm, "Gemm", {"a", "b", "c?"}, {"gemm"}),
      nd_row(OpKind::Unary, "Unary", {"x", "min?", "max?"}, {"unary", "epi"}),
      nd_row(OpKind::Binary, "Binary", {"a", "b"}, {"binary"}),
      nd_row(OpKind::Where, "Where", {"cond", "a", "b"}, {}),
      nd_row(OpKind::Cast, "Cast", {"x"}, {"to"}),
      nd_row(OpKind::Variadic, "Variadic", {"x..."}, {"binary", "mean"}),
      nd_row(OpKind::Softmax, "Softmax", {"x"}, {"axis", "log"}),
      nd_row(OpKind::LayerNormNd, "LayerNormNd", {"x", "scale", "bias?"}, {"axis", "eps"}),
      nd_row(OpKind::BatchNorm, "BatchNorm", {"x", "scale", "bias", "mean", "var"}, {"eps"}),
      nd_row(OpKind::Reduce, "Reduce", {"x", "axes?"}, {"reduce", "axes", "keepdims", "noop_with_empty_axes"}),
      nd_row(OpKind::ArgExtreme, "ArgExtreme", {"x"}, {"axis", "keepdims", "is_max", "select_last"}),
      nd_row(OpKind::TopK, "TopK", {"x", "k"}, {"axis", "largest", "sorted"}),
      nd_row(OpKind::Concat, "Concat", {"x..."}, {"axis"}),
      nd_row(OpKind::Split, "Split", {"x", "split?"}, {"axis", "sizes"}),
      nd_row(OpKind::Transpose, "Transpose", {"x"}, {"perm"}),
      nd_row(OpKind::Slice, "Slice", {"x", "starts", "ends", "axes?", "steps?"}, {}),
      nd_row(OpKind::Gather, "Gather", {"data", "indices"}, {"axis"}),
      nd_row(OpKind::Expand, "Expand", {"x", "shape"}, {}),
      nd_row(OpKind::Pad, "Pad", {"x", "pads?", "constant_value?"}, {"pads", "pad_mode", "value"}),
      nd_row(OpKind::Resize, "Resize", {"x", "roi?", "scales?", "sizes?"}, {"resize"}),
      nd_row(OpKind::Copy, "Copy", {"x", "shape_or_axes?"}, {"reshaping", "axis", "axes", "allowzero"}),
      nd_row(OpKind::Range, "Range", {"start", "limit", "delta"}, {}),
      nd_row(OpKind::Fill, "Fill", {"shape", "value?"}, {}),
      nd_row(OpKind::ShapeOf, "ShapeOf", {"x"}, {}),
      nd_row(OpKind::GatherElements, "GatherElements", {"data", "indices"}, {"axis"}),
      nd_row(OpKind::Trilu, "Trilu", {"x", "k?"}, {"largest", "k"}),
  }};
  return t;
}

}  // namespace

const OpSchema& op_schema(OpKind k) {
  const auto i = static_cast<size_t>(k);
  ER_CHECK(i < table().size() && table()[i].kind == k, "no schema for op kind ", i);
  return table()[i];
}

const char* op_kind_name(OpKind k) { return op_schema(k).name; }

void validate_op(const Graph& g, const Op& op) {
  const OpSchema& s = op_schema(op.kind);
  check_common(g, op, s);
  s.validate(g, op);
}

int64_t op_rows(const Graph& g, const Op& op, const PassShape& s) {
  return Graph::row_count(out(g, op).rows, s.B, s.T, s.last_only);
}
int64_t op_input_rows(const Graph& g, const Op& op, size_t i, const PassShape& s) {
  return Graph::row_count(in(g, op, i).rows, s.B, s.T, s.last_only);
}

double op_flops(const Graph& g, const Op& op, const PassShape& s) { return op_schema(op.kind).flops(g, op, s); }

OpCost op_cost(const Graph& g, const Op& op, const PassShape& s) {
  OpCost c;
  c.flops = op_flops(g, op, s);
  for (SlotId id : op.slots) {
    if (id == kNone) continue;
    const WeightSlot& w = g.slots[id];
    // A gathered table reads one row per token at hand.
    c.weight_bytes += w.gather_rows ? static_cast<uint64_t>(s.B * s.T) * (w.nbytes() / static_cast<uint64_t>(w.shape[0]))
                                    : w.nbytes();
  }
  for (ValueId v : op.inputs)
    if (v != kNone) c.input_bytes += static_cast<uint64_t>(g.value_bytes(v, s.B, s.T, s.last_only));
  c.output_bytes = static_cast<uint64_t>(g.value_bytes(op.output, s.B, s.T, s.last_only));
  return c;
}

Precision op_precision(const Graph& g, const Op& op) {
  if (op.p.q16) return Precision::Q16;
  for (SlotId id : op.slots)
    if (id != kNone && (g.slots[id].round_bf16 || g.slots[id].file_dtype == DType::BF16)) return Precision::Bf16;
  return Precision::Fp32;
}

std::optional<GemmShape> op_gemm(const Graph& g, const Op& op, const PassShape& s) {
  if (op.kind == OpKind::Linear) {
    const Value& x = in(g, op, 0);
    int64_t n = out(g, op).cols;
    int64_t k = x.cols;
    if (op.p.chunk_begin >= 0 || op.p.k_begin >= 0) {
      ER_CHECK(!op.slots.empty() && op.slots[0] >= 0 && !g.slots[op.slots[0]].shape.empty());
      (op.p.chunk_begin >= 0 ? n : k) = g.slots[op.slots[0]].shape[0];
    }
    return GemmShape{op.name, Graph::row_count(x.rows, s.B, s.T, s.last_only), n, k};
  }
  if (op.kind == OpKind::PatchEmbed) {
    // conv(kernel = stride = patch) as a GEMM: (patches x C P^2)(C P^2 x D).
    const OpParams& p = op.p;
    ER_CHECK(p.patch > 0 && p.image_h > 0 && p.image_w > 0);
    const int64_t patches = int64_t{p.image_h / p.patch} * (p.image_w / p.patch);
    return GemmShape{op.name, patches, out(g, op).cols, int64_t{p.channels} * p.patch * p.patch};
  }
  return std::nullopt;
}

AttentionWork attention_work(const Op& op, AttnVariant variant, int64_t tokens) {
  ER_CHECK(op.kind == OpKind::Attention, op.name, ": not an attention op");
  // shiftmax runs softmax's two GEMMs (its exponentials are shifts, priced with them).
  const char* v = variant == AttnVariant::Shiftmax ? "softmax" : to_string(variant);
  return attention_gemms(v, tokens, op.p.n_head, op.p.head_dim, op.name);
}

}  // namespace edgerun
