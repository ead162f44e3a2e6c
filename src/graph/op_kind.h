// The op vocabulary of the IR, apart from graph.h so that kernels can take these enums without
// the Graph itself (kernels/cpu may use graph, but only the CPU backend needs the Graph).
#pragma once
#include <cstdint>

namespace edgerun {

enum class OpKind : uint8_t {
  Embeddings,       // ids -> word[ids] (+ token_type[tt]) + position[past + t]
  PatchEmbed,       // pixels (B, C*H*W) -> (B*(1+Np), D): [cls; conv(kernel = stride = patch)
                    // as a GEMM] + position
  LayerNorm,
  Linear,           // y = x W^T + b  (W stored (N, K)), or x W + b for GPT-2 Conv1D (W (K, N))
  Activation,
  Add,
  Attention,        // fused or separate q/k/v -> context (rows, D)
  SelectFirst,      // (B*T, D) -> (B, D): the first ([CLS]) token of each sequence
  SelectLast,       // (B*T, D) -> (B, D): the last token of each sequence (generation)
  SelectLastNonPad, // (B*T, D), ids -> (B, D): each sequence's rightmost token whose id is not
                    // pad_id (GPT2ForSequenceClassification's pooling)
  // N-D tensor ops (ONNX graphs; graph/nd_params.h holds their attributes, graph/nd_schema.cpp
  // their shape rules). Inputs are any values: activations, graph inputs, constants, or weights
  // (a value bound to a slot), in the order of the ONNX node's inputs.
  Conv,             // x, w, b? (+ folded BN: scale, bias, mean, var)
  ConvTranspose,    // x, w, b?
  Pool,             // x
  MatMul,           // a, b, bias? (a MatMul + bias Add, fused)
  Gemm,             // a, b, c?
  Unary,            // x
  Binary,           // a, b
  Where,            // cond, a, b
  Cast,             // x
  Variadic,         // x... (Sum, Max, Min, Mean)
  Softmax,          // x
  LayerNormNd,      // x, scale, bias?
  BatchNorm,        // x, scale, bias, mean, var
  Reduce,           // x
  ArgExtreme,       // x
  TopK,             // x -> values, indices
  Concat,           // x...
  Split,            // x -> y...
  Transpose,        // x
  Slice,            // x
  Gather,           // data, indices
  Expand,           // x
  Pad,              // x
  Resize,           // x
  Copy,             // x: Reshape, Flatten, Squeeze, Unsqueeze, Identity, Dropout (same bytes)
  Range,            // (start, limit, delta known at bind)
  Fill,             // value: ConstantOfShape
  ShapeOf,          // x -> its dims as I64
  GatherElements,   // data, indices
  Trilu,            // x, k? (k known at bind)
};
constexpr int kOpKindCount = 40;

enum class ActKind : uint8_t { GeluErf, GeluTanh, Relu, Tanh, QuickGelu, Silu };

}  // namespace edgerun
