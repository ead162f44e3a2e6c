// One ViT encoder layer on the ARAP: the program generator (docs/ARAP.md "Schedule": four heads
// on four groups, then FFN and residual work split over the groups with handshakes), and the
// host side that reads a Hugging Face ViT layer, quantizes it per docs/q16.md with the model's
// calibrated exponents (edgerun_q16.json, shiftmax attention) and loads the data memory.
// Leaves out: the patch embedding and the classifier head (host work, not ARAP programs).
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "models/model.h"
#include "sim/arap_sim.h"

namespace edgerun::sim::arap {

struct VitLayerShape {
  int64_t tokens = 17, d_model = 32, n_head = 4, d_ff = 64;
};
// InputError unless the layer maps onto the ARAP: 4 heads (one per group), d_model and d_ff
// multiples of 4, tokens >= 4, and everything inside the field ranges and the data memory.
void check_vit_layer_shape(const VitLayerShape& s);

// The assembly text of one encoder layer for this shape (programs/arap/vit_digits_layer.s is
// this text for the digits ViT; a test keeps the two equal).
std::string vit_layer_program(const VitLayerShape& s);

// A ViT encoder layer as the host loads it.
struct VitLayer {
  std::string model_dir;
  int64_t layer = 0;
  VitLayerShape shape;
  ActKind act = ActKind::GeluErf;
  float ln1_eps = 1e-12f, ln2_eps = 1e-12f;
  float scale = 1.0f;  // multiplies Q K^T
  std::vector<float> ln1_g, ln1_b, ln2_g, ln2_b;  // (D)
  // Linear weights (N, K) as int16 on their exponents, biases as stored (fp32).
  std::vector<int16_t> wq, wk, wv, wo, w1, w2;
  std::vector<float> bq, bk, bv, bo, b1, b2;
  // The calibrated exponents (value = k 2^e), as the engine applies them:
  int e_x1 = 0;                          // LN1 output quantized for the Q/K/V Linears
  int e_wq = 0, e_wk = 0, e_wv = 0, e_q = 0, e_k = 0, e_v = 0;
  int e_ctx = 0;                         // attention output = output-projection input
  int e_wo = 0, e_o = 0;
  int e_x2 = 0, e_w1 = 0, e_f1 = 0;      // LN2 output, FC1 weight, FC1 output
  int e_x3 = 0, e_w2 = 0, e_f2 = 0;      // activation output, FC2 weight, FC2 output
};

// Reads layer `layer` of the ViT in `dir` with its q16 calibration (DIR/edgerun_q16.json, the
// shiftmax exponents). InputError / FormatError / UnsupportedError naming what is missing or
// does not fit (no sidecar, not a ViT, not 4 heads, a layer out of range).
VitLayer load_vit_layer(const std::string& dir, int64_t layer);
// The model as the ARAP runs it: built with --precision q16 and shiftmax attention.
ModelGraph build_arap_model(const std::string& dir);
// Layer `layer` of a model build_arap_model built (build once, read every layer).
VitLayer load_vit_layer(const ModelGraph& mg, int64_t layer);

// The values of the program's .param names for this layer (shifts and the shiftmax multiplier).
std::map<std::string, int64_t> vit_layer_params(const VitLayer& l);

// Host interface: writes the weights, biases (rounded onto their accumulators' exponents),
// LayerNorm parameters and the layer input x0 (T, D) fp32 into the machine.
void load_vit_layer_data(ArapMachine& m, const VitLayer& l, const std::vector<float>& x0);

// What a layer run leaves in data memory: the output and every q16 intermediate.
struct VitLayerResult {
  std::vector<float> y;                              // (T, D) the layer output (residual stream)
  std::vector<int64_t> xq, q, k, v, p, ctx, o, x2q, f1, x3q, f2;  // int16 values
};
VitLayerResult read_vit_layer_result(const ArapMachine& m);

// The host's tensors (patch embedding, head): models/model.h.
using edgerun::read_model_tensor;

}  // namespace edgerun::sim::arap
