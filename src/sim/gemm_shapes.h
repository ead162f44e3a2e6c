// A model's GEMMs, read from its Graph: every Linear (M = tokens, K = in, N = out), the patch
// embedding as a GEMM, and each Attention op through its variant's decomposition
// (graph/op_schema.h's attention_work), for one sequence of `tokens` tokens (batch 1, a prefill).
// Leaves out: non-GEMM ops (LayerNorm, activations, adds), which the array models do not run.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "models/model.h"
#include "sim/systolic.h"

namespace edgerun::sim {

struct ModelWorkload {
  AttnVariant attention = AttnVariant::Softmax;  // the variant used for every Attention op
  int64_t tokens = 0;
  std::vector<LayerGemm> gemms;  // in graph order; layer = the Graph layer's name
  // Non-GEMM attention work summed over all Attention ops (see AttentionWork).
  int64_t col_adds = 0, elementwise = 0, exps = 0;
  int64_t n_attention = 0;  // Attention ops seen
};

// The GEMM of one Linear or PatchEmbed op at `tokens` tokens (batch 1), from its schema
// (graph/op_schema.h). An output-chunked Linear computes only its slot's rows of the output.
GemmShape op_gemm(const Graph& g, const Op& op, int64_t tokens);

// Throws UnsupportedError for a linear variant on a causal model, InputError for an unknown
// variant or a bad token count.
ModelWorkload graph_workload(const Graph& g, int64_t tokens, AttnVariant attention);

// An N-D (ONNX) graph's GEMMs, its shapes bound: each Conv as its im2col GEMM (M = output
// pixels, K = input channels per group x kernel, N = output channels per group; one GEMM per
// group), each ConvTranspose as the GEMM before its col2im, each MatMul and Gemm (one per
// batch index of a batched MatMul).
ModelWorkload nd_workload(const Graph& g);

// Tokens per sequence: a ViT's are fixed by its image (patches + 1; `seq` must be 0 or equal);
// BERT and GPT-2 take `seq` (required, at most the position table). InputError otherwise.
int64_t model_tokens(const ModelInfo& info, int64_t seq);

}  // namespace edgerun::sim
