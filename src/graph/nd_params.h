// Parameters of the N-D tensor ops (the ops ONNX graphs map onto: convolution, pooling,
// broadcasting elementwise, data movement, reductions), apart from graph.h so that the kernels
// can take them without the Graph, as op_kind.h does for the transformer ops. Each struct holds
// attributes already normalized by the frontend: axes non-negative, pads explicit (auto_pad
// resolved), defaults filled in, so a kernel never re-derives an ONNX rule.
#pragma once
#include <cstdint>
#include <vector>

#include "edgerun/dtype.h"

namespace edgerun {

// Elementwise functions of one input (y = f(x), same shape and dtype unless said otherwise).
enum class UnaryFn : uint8_t {
  Identity,     // a copy (Identity, Dropout at inference, Reshape's data movement)
  Relu,
  LeakyRelu,    // x < 0 ? alpha x : x
  Sigmoid,
  HardSigmoid,  // max(0, min(1, alpha x + beta))
  HardSwish,    // x * max(0, min(1, x / 6 + 1 / 2))
  Clip,         // min(max(x, lo), hi)
  Tanh,
  Exp,
  Log,
  Neg,
  Abs,
  Sqrt,
  Erf,
  Reciprocal,
  Floor,
  Ceil,
  Not,          // bool only
};

// y = f(a, b) with numpy broadcasting. Comparisons write BOOL.
enum class BinaryFn : uint8_t { Add, Sub, Mul, Div, Pow, Min, Max, Equal, Less, Greater, And, Or };
// The four arithmetic operations: one IEEE operation per element in any kernel.
inline bool is_arithmetic(BinaryFn f) {
  return f == BinaryFn::Add || f == BinaryFn::Sub || f == BinaryFn::Mul || f == BinaryFn::Div;
}

enum class ReduceFn : uint8_t { Mean, Max, Min, Sum, Prod };

// The epilogue an op applies to its output before writing it (a Conv with a following ReLU,
// Clip or HardSwish folded in when the graph is built).
struct Epilogue {
  UnaryFn fn = UnaryFn::Identity;
  float alpha = 0.01f, beta = 0.5f;  // LeakyRelu alpha; HardSigmoid alpha, beta
  float lo = 0, hi = 0;              // Clip bounds
};

// Conv and ConvTranspose over 1 to 3 spatial axes; x (N, C, spatial...), w (M, C / group,
// kernel...) for Conv and (C, M / group, kernel...) for ConvTranspose.
struct ConvParams {
  int64_t group = 1;
  std::vector<int64_t> kernel;          // spatial kernel extent
  std::vector<int64_t> strides;         // per spatial axis
  std::vector<int64_t> dilations;
  std::vector<int64_t> pads;            // begin for every axis, then end for every axis
  std::vector<int64_t> output_padding;  // ConvTranspose only
  Epilogue epi;
};

enum class PoolKind : uint8_t { Max, Average, GlobalAverage, GlobalMax };

struct PoolParams {
  PoolKind kind = PoolKind::Max;
  std::vector<int64_t> kernel, strides, dilations, pads;  // as ConvParams (empty for global)
  bool count_include_pad = false;       // AveragePool
  bool ceil_mode = false;               // output size rounding (already in the output shape)
};

struct GemmParams {
  bool trans_a = false, trans_b = false;
  float alpha = 1.0f, beta = 1.0f;
};

enum class ResizeMode : uint8_t { Nearest, Linear };
enum class CoordMode : uint8_t { HalfPixel, PytorchHalfPixel, AlignCorners, Asymmetric, TfHalfPixelForNn };
enum class NearestMode : uint8_t { RoundPreferFloor, RoundPreferCeil, Floor, Ceil };

struct ResizeParams {
  ResizeMode mode = ResizeMode::Nearest;
  CoordMode coord = CoordMode::HalfPixel;
  NearestMode nearest = NearestMode::RoundPreferFloor;
  std::vector<float> scales;  // per axis, output / input (from the scales input, or sizes / input)
};

enum class PadMode : uint8_t { Constant, Reflect, Edge };

// The ONNX ops that only relabel a tensor's dims (OpKind::Copy): the bytes stay as they are.
enum class Reshaping : uint8_t { Identity, Reshape, Flatten, Squeeze, Unsqueeze };

// ONNX auto_pad of Conv, ConvTranspose and the pools; the bind turns it into explicit pads.
enum class AutoPad : uint8_t { NotSet, Valid, SameUpper, SameLower };

// The attributes of an N-D op (OpParams::nd). The frontend fills what the node says; the bind
// (graph/nd_bind.h) derives the shape-dependent parts (conv and pool pads from auto_pad, slice
// starts and steps, resize scales, axes made non-negative) for the bound input shapes.
struct NdAttrs {
  UnaryFn unary = UnaryFn::Identity;
  BinaryFn binary = BinaryFn::Add;
  ReduceFn reduce = ReduceFn::Sum;
  Epilogue epi;           // Unary's arguments (alpha, bounds); Conv's, MatMul's and Binary's fused activation
  ConvParams conv;
  PoolParams pool;
  GemmParams gemm;
  ResizeParams resize;
  AutoPad auto_pad = AutoPad::NotSet;
  int64_t axis = 0;       // as written (negative counts from the end); the bind normalizes `axis_n`
  int64_t axis_n = 0;
  std::vector<int64_t> axes;   // Reduce, Squeeze, Unsqueeze: as written; the bind: sorted, >= 0
  std::vector<int64_t> perm;   // Transpose (empty: reversed)
  std::vector<int64_t> starts, steps, pads;  // bound: Slice's and Pad's normalized values
  std::vector<int64_t> sizes;  // Split: bound part sizes along axis
  Reshaping reshaping = Reshaping::Identity;
  bool keepdims = true;
  bool noop_with_empty_axes = false;
  bool largest = true, sorted = true;   // TopK; Trilu: largest = upper
  bool is_max = true, select_last = false;  // ArgMax / ArgMin
  bool log = false;       // LogSoftmax
  bool coerce_2d = false; // Softmax before opset 13: over every axis from `axis` on
  bool mean = false;      // Variadic Mean
  bool allowzero = false; // Reshape
  int64_t k = 0;          // TopK (bound from its input); ShapeOf: `end` (axis: `start`)
  PadMode pad_mode = PadMode::Constant;
  double value = 0;       // Pad's constant; Range's start (bound)
  double delta = 0;       // Range (bound)
  std::vector<int64_t> output_shape;  // ConvTranspose's output_shape attribute
  DType to = DType::F32;  // Cast
  float eps = 1e-5f;      // BatchNormalization, LayerNormalization
  // Conv with a BatchNormalization folded in: the BN's inputs follow the conv's (scale, bias,
  // mean, var), and the conv applies them per output channel before its epilogue.
  bool folded_bn = false;
  float bn_eps = 1e-5f;
};

}  // namespace edgerun
