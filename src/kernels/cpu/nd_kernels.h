// Kernels of the N-D tensor ops (graph/nd_params.h): plain references, one family per file
// (nd_elementwise.cpp, nd_conv.cpp, nd_pool.cpp, nd_matmul.cpp, nd_reduce.cpp, nd_movement.cpp,
// nd_resize.cpp, nd_norm.cpp), with an optimized kernel beside a reference where one is worth
// it (conv, matmul). Tensors are row-major core Tensors; every output Tensor arrives with the
// shape the op's schema inferred and its memory allocated, so a kernel checks what it relies on
// (ER_CHECK) but computes no shape rule of its own. Semantics are ONNX's (opset 11 to 17) for
// the attributes the frontend normalized into the params.
// Dtypes: "float" means F32; "any" means every fixed-size dtype (the op moves bytes);
// "numeric" means F32, F64, I64, I32, I8, U8 (BOOL where said).
#pragma once
#include <cstdint>
#include <vector>

#include "core/tensor.h"
#include "graph/nd_params.h"

namespace edgerun::kernels {

// y = f(x), float (Not: BOOL; Identity: any; Neg, Abs, Relu, Clip: numeric). y may alias x.
void unary(UnaryFn f, const Epilogue& args, const Tensor& x, const Tensor& y);
// y = a op b with numpy broadcasting (y's shape is the broadcast shape); numeric; Equal, Less,
// Greater write BOOL; And, Or take BOOL. Pow: float base, float or integer exponent.
void binary(BinaryFn f, const Tensor& a, const Tensor& b, const Tensor& y);
// y = cond ? a : b with broadcasting over all three; cond BOOL, a and b any (same dtype).
void where(const Tensor& cond, const Tensor& a, const Tensor& b, const Tensor& y);
// Elementwise conversion between numeric dtypes, F16, BF16 and BOOL (ONNX Cast: float to
// integer truncates toward zero, to BOOL is x != 0).
void cast(const Tensor& x, const Tensor& y);
// Variadic Sum / Max / Min / Mean with broadcasting; float.
void variadic(BinaryFn f, bool mean, const Tensor* xs, int n, const Tensor& y);

// Softmax / LogSoftmax over `axis` (opset 13 semantics: one axis); float.
void softmax(const Tensor& x, int64_t axis, bool log, const Tensor& y);
// LayerNormalization over axes [axis, rank); scale and bias broadcast over those axes (bias may
// be null); float.
void layer_norm(const Tensor& x, int64_t axis, float eps, const float* scale, const float* bias,
                const Tensor& y);
// BatchNormalization at inference over channel axis 1: y = (x - mean) / sqrt(var + eps) *
// scale + bias; float.
void batch_norm(const Tensor& x, const float* scale, const float* bias, const float* mean,
                const float* var, float eps, const Tensor& y);
// y[n, c, ...] = y[n, c, ...] * mul[c] + add[c], then the epilogue; in place; float. The fold of
// a BatchNormalization into the conv before it.
void channel_affine(const Tensor& y, const float* mul, const float* add, const Epilogue& epi);

// Convolution; bias (M) may be null; the epilogue is applied. float.
// Scratch: conv_scratch_bytes (im2col buffer of one group of one image).
uint64_t conv_scratch_bytes(const Tensor& x, const Tensor& w, const ConvParams& p, const Tensor& y);
void conv(const Tensor& x, const Tensor& w, const float* bias, const ConvParams& p, const Tensor& y,
          void* scratch);
void conv_ref(const Tensor& x, const Tensor& w, const float* bias, const ConvParams& p, const Tensor& y);
void conv_transpose(const Tensor& x, const Tensor& w, const float* bias, const ConvParams& p,
                    const Tensor& y);

// MaxPool / AveragePool / GlobalAveragePool / GlobalMaxPool over the spatial axes of
// (N, C, spatial...); float.
void pool(const Tensor& x, const PoolParams& p, const Tensor& y);

// numpy matmul: a (..., M, K) . b (..., K, N) with broadcast batch axes; 1-D operands as numpy
// promotes them; float. bias (N) may be null (a MatMul followed by a bias Add, fused).
void matmul(const Tensor& a, const Tensor& b, const float* bias, const Tensor& y);
void matmul_ref(const Tensor& a, const Tensor& b, const float* bias, const Tensor& y);
// ONNX Gemm: y = alpha op(a) op(b) + beta c, a and b 2-D, c broadcast to (M, N) or absent; float.
void gemm(const Tensor& a, const Tensor& b, const Tensor* c, const GemmParams& p, const Tensor& y);

// Reductions over `axes` (sorted, non-negative; empty: all); y has keepdims' shape or the
// squeezed one (the kernel reads only y's element count). float (Max, Min, Sum also I64).
void reduce(ReduceFn f, const Tensor& x, const std::vector<int64_t>& axes, const Tensor& y);
// ArgMax / ArgMin over one axis, I64 out; first index of the extreme unless select_last.
void arg_extreme(const Tensor& x, int64_t axis, bool is_max, bool select_last, const Tensor& y);
// TopK along axis: values (same dtype) and I64 indices; largest or smallest; sorted output
// (ties: the lower index first). float, I64.
void topk(const Tensor& x, int64_t k, int64_t axis, bool largest, const Tensor& values,
          const Tensor& indices);

// Data movement (any dtype).
void concat(const Tensor* xs, int n, int64_t axis, const Tensor& y);
void split(const Tensor& x, int64_t axis, const Tensor* ys, int n);  // sizes from the ys' shapes
void transpose(const Tensor& x, const std::vector<int64_t>& perm, const Tensor& y);
// starts / steps per axis of x (normalized: every axis present, starts clamped into range,
// steps non-zero); y's shape gives the count per axis.
void slice(const Tensor& x, const std::vector<int64_t>& starts, const std::vector<int64_t>& steps,
           const Tensor& y);
// Gather along axis with I64 or I32 indices (negative ones count from the end; out of range is
// an InputError naming the index).
void gather(const Tensor& data, const Tensor& indices, int64_t axis, const Tensor& y);
// GatherElements along axis: y (indices' shape) = data at each index's coordinates, the axis
// coordinate replaced by the index (negative wraps once; out of range: InputError).
void gather_elements(const Tensor& data, const Tensor& indices, int64_t axis, const Tensor& y);
// Trilu: the upper (c - r >= k) or lower (c - r <= k) triangle of the last two axes, zeros elsewhere.
void trilu(const Tensor& x, int64_t k, bool upper, const Tensor& y);
// Broadcast x to y's shape.
void expand(const Tensor& x, const Tensor& y);
// pads: begin for every axis, then end (negative: crop); constant value as double (cast).
void pad(const Tensor& x, const std::vector<int64_t>& pads, PadMode mode, double value,
         const Tensor& y);
// Resize of the spatial (or any) axes by p.scales with y's shape; float.
void resize(const Tensor& x, const ResizeParams& p, const Tensor& y);
// y[i] = start + i * delta; numeric (F32, F64, I64, I32).
void range(double start, double delta, const Tensor& y);
// y filled with the first element of value (a one-element Tensor of y's dtype).
void fill(const Tensor& value, const Tensor& y);

}  // namespace edgerun::kernels
