// The oneDNN backend: Conv (1-D to 3-D, grouped, dilated, with its fused epilogue and a folded
// BatchNorm), ConvTranspose and the pools of N-D (ONNX) graphs in fp32 on oneDNN primitives,
// beside the CPU backend, which runs everything it does not claim (MatMul and Gemm stay on
// OpenBLAS: see onednn_backend.cpp).
// Every byte of data oneDNN touches is the engine's: the primitives run with a user scratchpad
// carved from OpCall::scratch (scratch_bytes() counts it, with the reorders into blocked layouts
// and the folded weights), and memory objects wrap the OpCall's tensors. Primitives are created
// once per op shape class (cached on the heap, part of the process baseline with oneDNN's JIT
// code), so an op's implementation and weight layout are fixed when the graph is planned and are
// the same for every executor and budget.
#pragma once
#include <memory>

#include "graph/backend.h"

namespace edgerun::onednn {

// How a convolution's operands reach the primitive (activations are plain NCHW between ops).
//   Plain: the primitive takes x, w and y as they are (NCHW, OIHW);
//   BlockedWeights: w is reordered per call into scratch in the layout the primitive picks;
//   Blocked: x, w and y all go through scratch in the primitive's layouts (x and w reordered in,
//     y reordered out).
enum class ConvLayout { Plain, BlockedWeights, Blocked };
const char* to_string(ConvLayout l);

// The layout the registered backend uses (the measured choice; see onednn_backend.cpp).
constexpr ConvLayout kConvLayout = ConvLayout::Blocked;

// The process's oneDNN backend (one instance; the runtime registers it before the CPU backend).
Backend& onednn_backend();

// A separate instance with another conv layout, for benchmarks and tests only.
std::unique_ptr<Backend> make_onednn_backend(ConvLayout layout);

// The oneDNN implementation (e.g. "brg:avx512_core", "jit:avx512_core", "gemm:jit") an op runs
// on under backend b (one made here), for reports and benchmarks; "" when b does not claim it.
std::string onednn_impl(Backend& b, const Graph& g, const Op& op);

}  // namespace edgerun::onednn
