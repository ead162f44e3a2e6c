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
};
constexpr int kOpKindCount = 10;

enum class ActKind : uint8_t { GeluErf, GeluTanh, Relu, Tanh, QuickGelu, Silu };

}  // namespace edgerun
