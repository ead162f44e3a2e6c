// The IR: a Graph is ops in topological order over activation values, plus the WeightSlot table
// (SwapNet's skeleton and parameter array "registered by index") and the Layer partition that
// streaming executors load and free. Activations are 2-D fp32 row blocks whose row count is a
// function of the run's batch B and new-token count T, so one graph serves prefill and decode.
#pragma once
#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "edgerun/dtype.h"
#include "core/tensor.h"
#include "graph/nd_params.h"
#include "graph/op_kind.h"
#include "edgerun/types.h"

namespace edgerun {

using ValueId = int32_t;
using SlotId = int32_t;
constexpr int32_t kNone = -1;

// How many rows a value has for a run with batch B, new tokens T.
// TokensOrLast: B*T rows, or B rows when a run asks only for the last token (generation computes
// LM logits for the last position only).
enum class Rows : uint8_t { Tokens, Batch, One, TokensOrLast };

struct Value {
  std::string name;
  Rows rows = Rows::Tokens;
  int64_t cols = 0;           // elements per row: (rows, cols)
  DType dtype = DType::F32;   // F32 activations; I64 for token ids
  bool is_input = false;
  // N-D tensors (the N-D op kinds, ONNX graphs): `dims` is the shape bound for the run's input
  // shapes (graph/nd_bind.h); rows is One and cols the element count, so the arena sizes an
  // N-D value as any other.
  bool nd = false;
  Shape dims;
  // A graph input's shape as the model declares it: -1 for a symbolic dimension, named in
  // dim_params ("batch", "height"); bound from the actual input at run time.
  Shape declared;
  std::vector<std::string> dim_params;
  SlotId slot = kNone;        // a weight read as a value: slots[slot]'s fp32 data while resident
  // An N-D activation (rank 3 to 5) stored channels-last, (N, spatial..., C), instead of
  // row-major (N, C, spatial...): set by assign_layouts (graph/backend.h) at bind.
  bool channels_last = false;
  int32_t constant = kNone;   // index into Graph::constants: known before any pass
};

// A value known before any pass: an initializer or Constant too small to stream (its bytes are
// read into budgeted memory when the engine is built), or an output the bind computed from
// shapes and other constants (shape arithmetic, held by the graph in `folded`).
struct Constant {
  DType dtype = DType::F32;
  Shape shape;
  const void* data = nullptr;
  std::vector<uint8_t> folded;  // the bytes of a bind result
  bool from_bind = false;
  int64_t numel() const { return shape_numel(shape); }
  uint64_t nbytes() const { return static_cast<uint64_t>(numel() * dtype_size(dtype)); }
};

// A weight tensor as stored in a model file. `data` is bound (pointer assignment) only while
// the layer holding it is resident; binding never copies.
class Backend;  // graph/backend.h

struct WeightSlot {
  std::string name;           // tensor name in the file
  DType file_dtype = DType::F32;
  Shape shape;                // as stored
  int32_t file = 0;           // index into the model's WeightSet files
  uint64_t begin = 0, end = 0;  // absolute byte range in that file
  // Embedding tables are never loaded whole: the op reads only the rows of the tokens at hand.
  bool gather_rows = false;
  // --precision bf16 on an fp32 file: the loader rounds the values to bf16 as they arrive.
  bool round_bf16 = false;
  const float* data = nullptr;  // bound fp32 view while resident
  const int16_t* data_i16 = nullptr;  // I16 files (q16 models): bound in place, never widened
  // A weight its op's backend keeps in its own layout (set at bind by assign_packing,
  // graph/backend.h): the loader reads it, `packer` writes it into packed_bytes of budgeted
  // memory for op `pack_op`, and `data` points there. Every executor loads it so.
  Backend* packer = nullptr;
  int32_t pack_op = -1;
  uint64_t packed_bytes = 0;
  int64_t numel() const { return shape_numel(shape); }
  uint64_t nbytes() const { return end - begin; }
};

struct OpParams {
  // Linear
  bool w_in_out = false;        // Conv1D layout (K, N)
  // Output-dimension chunk of a larger Linear: this op writes columns [chunk_begin, chunk_begin +
  // slot rows) of an output `cols` wide; a chunk after the first takes the running output as its
  // second input and writes into it in place.
  int64_t chunk_begin = -1;
  // Row tile of a larger Conv1D (K, N) weight (w_in_out): this op adds x[:, k_begin, k_begin +
  // slot rows) times its rows of the weight into the (rows, N) output; the first (k_begin 0)
  // writes it (with the bias), a later one takes the running output as its second input and
  // accumulates into it in place. The tiles in order give the Linear's partial sums.
  int64_t k_begin = -1;
  // LayerNorm
  float eps = 1e-5f;
  // Activation
  ActKind act = ActKind::GeluErf;
  // Attention
  int32_t n_head = 0;
  int32_t head_dim = 0;
  bool causal = false;
  bool use_padding_mask = false;  // BERT: key positions masked by attention_mask
  float scale = 1.0f;             // multiplies Q K^T
  int32_t kv_layer = kNone;       // KV-cache layer index for causal decoders
  AttnVariant attn = AttnVariant::Softmax;
  // q16 (DESIGN.md "Numerics", docs/q16.md), set by apply_q16 from the model's calibration
  // sidecar; false: the op computes in fp32. Exponents e: value = int16 * 2^e.
  // Linear: q_x[0] input, q_w weight, q_out output. Attention: q_x = {q, k, v}, q_mid the
  // intermediate (taylor: scale * K^T V / n; sima: K^T V), q_out the context.
  bool q16 = false;
  int8_t q_x[3] = {0, 0, 0};
  int8_t q_w = 0, q_mid = 0, q_out = 0;
  // PatchEmbed
  int32_t channels = 0, image_h = 0, image_w = 0, patch = 0;
  // SelectLastNonPad: the padding token's id; kNone: config.json defines none, and each
  // sequence's last token is taken (one sequence per pass, as transformers requires).
  int64_t pad_id = kNone;
  // The N-D op kinds
  NdAttrs nd;
};

struct Op {
  OpKind kind;
  std::string name;
  std::vector<ValueId> inputs;
  ValueId output = kNone;
  std::vector<SlotId> slots;    // meaning per kind (weight, bias, ...); kNone for absent.
                                // N-D kinds: the slots of its weight inputs, for the layer
  OpParams p;
  // N-D kinds with several outputs (Split, TopK): every output, outputs[0] == output.
  std::vector<ValueId> outputs;
  // The bind computed its outputs (constants): the pass skips it.
  bool folded = false;
};

// The smallest streaming unit: a run of ops and the slots they use.
struct Layer {
  std::string name;
  int32_t first_op = 0, end_op = 0;  // ops [first_op, end_op)
  std::vector<SlotId> slots;         // slots to make resident (gather_rows slots excluded)
  int32_t depth = 0;                 // index of this layer in the graph (SwapNet's d)
};

// max |x| per op seen by calibration passes: {input, intermediate, output} (see OpParams q16).
struct Q16Stats {
  std::vector<std::array<double, 3>> amax;
};

struct Graph {
  std::vector<Value> values;
  std::vector<WeightSlot> slots;
  std::vector<Op> ops;
  std::vector<Layer> layers;
  ValueId input_ids = kNone, token_type_ids = kNone, pixel_values = kNone;
  ValueId output = kNone;       // the primary output
  // Outputs beside the primary one, by name (BertModel's and ViTModel's "pooler_output" when
  // asked for): computed in the same pass and kept to its end.
  std::vector<std::pair<std::string, ValueId>> extra_outputs;
  int32_t n_kv_layers = 0;      // causal decoders: layers with a KV cache
  int32_t kv_heads = 0, kv_head_dim = 0;
  int64_t max_positions = 0;    // longest sequence the position table allows (0: no limit)
  // Calibration (models/quantize.cpp): while set, fp32 passes record max |x| per op here.
  Q16Stats* q16_stats = nullptr;
  // N-D graphs (ONNX): inputs and outputs in the model's order (the primary output is
  // outputs[0], the others are also extra_outputs), and the constants values refer to.
  bool nd = false;
  std::vector<ValueId> nd_inputs, nd_outputs;
  std::vector<Constant> constants;

  ValueId add_value(std::string name, Rows rows, int64_t cols, DType dt = DType::F32);
  SlotId add_slot(WeightSlot s);
  // Appends an op and returns its output value (created with the given rows/cols); the op is
  // validated against its schema (graph/op_schema.h) and not added when it does not fit.
  ValueId add_op(OpKind kind, std::string name, std::vector<ValueId> inputs,
                 std::vector<SlotId> slots, OpParams p, Rows out_rows, int64_t out_cols);
  // Appends an N-D op with outputs named `outputs` (their dims and dtypes come from the bind);
  // `slots` are those of its weight inputs. Returns the first output.
  ValueId add_nd_op(OpKind kind, std::string name, std::vector<ValueId> inputs,
                    const std::vector<std::string>& outputs, std::vector<SlotId> slots, OpParams p);
  // An N-D value that is not an op's output: a graph input, a weight (slot) or a constant.
  ValueId add_nd_value(std::string name, DType dt, Shape dims);
  // Starts a new layer at the next op; end_layer closes it and gathers its slots.
  void begin_layer(std::string name);
  void end_layer();
  // Tiles (docs/STREAMING.md "Tiles"): a Linear whose fp32 weight passes tile_bytes is built as
  // output-column tiles of at most about that many bytes, each its own op, and an open layer
  // is split before a weight that would take it past tile_bytes, so that a layer holds at most
  // one tile's worth where the weights allow. Fixed by the builder (models/model.h), never by a
  // budget; 0: no tiles and no splits.
  uint64_t tile_bytes = 0;
  // Weight bytes of the ops added to the open layer so far (0 when none is open).
  uint64_t open_layer_weight_bytes() const;
  // Closes the open layer and opens `name` at the next op.
  void split_layer(std::string name);
  // A layer over ops [first, end) already added (the ONNX frontend partitions after mapping).
  void add_layer(std::string name, int32_t first, int32_t end);

  // Row count of a value for batch B and T new tokens.
  static int64_t row_count(Rows r, int64_t B, int64_t T, bool last_only = false) {
    switch (r) {
      case Rows::Tokens: return B * T;
      case Rows::Batch: return B;
      case Rows::One: return 1;
      case Rows::TokensOrLast: return last_only ? B : B * T;
    }
    return 0;
  }
  int64_t value_bytes(ValueId v, int64_t B, int64_t T, bool last_only = false) const {
    return row_count(values[v].rows, B, T, last_only) * values[v].cols *
           dtype_size(values[v].dtype);
  }
  // Weight bytes a layer reads (gather_rows slots excluded), and its FLOPs for (B, T, past): the
  // sum of its ops' schema counts (op_flops).
  uint64_t layer_weight_bytes(int32_t layer) const;
  // Bytes of the gather_rows tables (embeddings) a layer's ops read a few rows of, apart from the
  // streamed ones: they are part of the model's weight bytes, not of a pass's reads.
  uint64_t layer_gathered_bytes(int32_t layer) const;
  double layer_flops(int32_t layer, int64_t B, int64_t T, int64_t past) const;
  uint64_t total_weight_bytes() const;  // bytes a fully streamed pass reads (layers' slots)
  // Bytes of the model's weights: the union of every slot's file range (an embedding table
  // counted once even when its rows are gathered and the LM head reads it again in chunks).
  // Everywhere a model's size is given (info, plan, reports, --budget N%) it is this figure.
  uint64_t model_weight_bytes() const;
  // The same bytes by stored dtype (a parameter count is their sum over dtype sizes).
  std::map<DType, uint64_t> weight_bytes_by_dtype() const;
};

}  // namespace edgerun
