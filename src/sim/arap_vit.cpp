// One ViT encoder layer on the ARAP (arap_vit.h): the program generator and the host side.
// The exponents come from the graph build_model makes with --precision q16 and shiftmax
// attention, so they are exactly the ones the engine's q16 kernels use.
#include "sim/arap_vit.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numbers>
#include <sstream>

#include "edgerun/dtype.h"
#include "core/error.h"
#include "formats/safetensors.h"
#include "io/file.h"
#include "models/model.h"
#include "sim/arap_q16.h"

namespace edgerun::sim::arap {

void check_vit_layer_shape(const VitLayerShape& s) {
  if (s.n_head != kNumPegs)
    ER_THROW(UnsupportedError, "ARAP maps one attention head to each of its ", kNumPegs, " PE groups; this layer has ",
             s.n_head, " heads");
  if (s.d_model < 4 || s.d_model % 4 != 0 || s.d_ff < 4 || s.d_ff % 4 != 0)
    ER_THROW(UnsupportedError, "ARAP splits d_model (", s.d_model, ") and the FFN width (", s.d_ff,
             ") over 4 PE groups: both must be positive multiples of 4");
  if (s.tokens < kNumPegs)
    ER_THROW(UnsupportedError, "ARAP splits the tokens over 4 PE groups: needs at least 4, got ", s.tokens);
  // Strides are 10-bit fields, sizes 12-bit fields (arap_isa.cpp); the data memory is checked by
  // the assembler with the tensor that does not fit named.
  const int64_t widest = std::max({s.d_model, s.d_ff, s.tokens});
  if (widest > 1023)
    ER_THROW(UnsupportedError, "ARAP strides are 10-bit fields (at most 1023); this layer needs ", widest);
  if (s.n_head * s.tokens > 4095)
    ER_THROW(UnsupportedError, "ARAP sizes are 12-bit fields; ", s.n_head, " x ", s.tokens, " score rows do not fit");
}

namespace {

// Rows [r0, r0 + n) of group g when `rows` are split over the 4 groups (the first get one more).
void row_split(int64_t rows, int g, int64_t* r0, int64_t* n) {
  const int64_t base = rows / kNumPegs, extra = rows % kNumPegs;
  *n = base + (g < extra ? 1 : 0);
  *r0 = g * base + std::min<int64_t>(g, extra);
}

}  // namespace

std::string vit_layer_program(const VitLayerShape& s) {
  check_vit_layer_shape(s);
  std::ostringstream o;
  const int64_t T = s.tokens;
  // The shiftmax multiplier for a ViT's score scale 1/sqrt(head dim) (as vit.cpp computes it).
  const float scale = 1.0f / std::sqrt(static_cast<float>(s.d_model / 4));
  const int64_t default_mult = arapq::fixed_mult(static_cast<double>(scale) * std::numbers::log2e).mult;
  auto rows = [&](const char* a_tensor, const char* c_tensor, const char* cols) {
    for (int g = 0; g < kNumPegs; ++g) {
      int64_t r0 = 0, n = 0;
      row_split(T, g, &r0, &n);
      o << "@" << g << " SETA " << a_tensor << "[" << r0 << ", 0], " << cols << ", 1\n";
      o << "@" << g << " SETC " << c_tensor << "[" << r0 << ", 0], " << cols << ", 1\n";
      o << "@" << g << " DIMS " << n << ", " << cols << "\n";
    }
  };
  // Per-group descriptor lines whose operands differ only by the group index, spelled with it.
  auto per = [&](const std::string& op, const std::string& tmpl) {
    for (int g = 0; g < kNumPegs; ++g) {
      std::string t = tmpl;
      for (size_t p; (p = t.find("{g}")) != std::string::npos;) t.replace(p, 3, std::to_string(g));
      o << "@" << g << " " << op << " " << t << "\n";
    }
  };
  o << "; ARAP program: one pre-LayerNorm ViT encoder layer, four attention heads at once.\n"
    << "; Written by edgerun's generator (src/sim/arap_vit.cpp, vit_layer_program) for " << T << " tokens,\n"
    << "; d_model " << s.d_model << ", " << s.n_head << " heads of " << s.d_model / 4 << ", FFN " << s.d_ff
    << ". docs/ARAP.md explains the ISA, the schedule and the cycle model.\n"
    << "; @g sends an instruction to PE group g (@all to every group); each group runs its own\n"
    << "; stream in order. Handshake flags (SIG/WAIT): 0 LN1 rows quantized, 1 heads done,\n"
    << "; 2 residual-1 columns done, 3 LN2 rows quantized, 4 FFN hidden columns done.\n\n";
  o << ".equ T " << T << "     ; tokens\n"
    << ".equ D " << s.d_model << "     ; d_model\n"
    << ".equ HD " << s.d_model / 4 << "     ; head dim: the columns of one head\n"
    << ".equ F " << s.d_ff << "     ; FFN width\n"
    << ".equ DC " << s.d_model / 4 << "     ; model columns per group after attention (D / 4)\n"
    << ".equ FC " << s.d_ff / 4 << "     ; hidden columns per group (F / 4)\n\n";
  o << "; Exponents (value = k 2^e) and shifts the host binds from the model's q16 calibration;\n"
    << "; the defaults only serve timing runs without a model.\n"
    << ".param E_X1 -13        ; LN1 output, quantized for the Q/K/V Linears\n"
    << ".param SH_Q 15         ; e_q - (e_x1 + e_wq): the Q Linear's rescale\n"
    << ".param SH_K 15\n"
    << ".param SH_V 15\n"
    << ".param MULT_S " << default_mult << "  ; fixed_mult(scale * log2 e): the multiplier\n"
    << ".param SH_S 40         ; its shift - (e_q + e_k) - 15: scores onto Q.15 (log2 domain)\n"
    << ".param SH_PV 12        ; e_ctx - (-15 + e_v)\n"
    << ".param SH_O 15         ; e_o - (e_ctx + e_wo)\n"
    << ".param E_O -12         ; attention output exponent, for the fp32 residual add\n"
    << ".param E_X2 -13        ; LN2 output, quantized for FC1\n"
    << ".param SH_1 15         ; e_f1 - (e_x2 + e_w1)\n"
    << ".param E_F1 -12        ; FC1 output exponent\n"
    << ".param E_X3 -13        ; activation output, quantized for FC2\n"
    << ".param SH_2 15         ; e_f2 - (e_x3 + e_w2)\n"
    << ".param E_F2 -12        ; FC2 output exponent\n\n";
  o << "; Data memory. Host-loaded: x0, ln1, ln2, weights (int16, (out, in) as torch stores them)\n"
    << "; and biases (int64 on their accumulators' exponents). The host reads y.\n"
    << ".tensor x0  f32 T D    ; layer input: the residual stream\n"
    << ".tensor ln1 f32 3 D    ; LayerNorm 1: gamma, beta, and eps at [2, 0]\n"
    << ".tensor ln2 f32 3 D\n"
    << ".tensor wq  i16 D D\n.tensor wk  i16 D D\n.tensor wv  i16 D D\n.tensor wo  i16 D D\n"
    << ".tensor w1  i16 F D\n.tensor w2  i16 D F\n"
    << ".tensor bq  i64 1 D\n.tensor bk  i64 1 D\n.tensor bv  i64 1 D\n.tensor bo  i64 1 D\n"
    << ".tensor b1  i64 1 F\n.tensor b2  i64 1 D\n"
    << ".tensor h1  f32 T D    ; LN1 output\n"
    << ".tensor xq  i16 T D    ; ... quantized on E_X1\n"
    << ".tensor q   i16 T D\n.tensor k   i16 T D\n.tensor v   i16 T D\n"
    << ".tensor u   i32 4*T T  ; scores in Q.15, head g in rows g*T ..\n"
    << ".tensor p   i16 4*T T  ; shiftmax probabilities on 2^-15\n"
    << ".tensor ctx i16 T D    ; attention output, head g in columns g*HD ..\n"
    << ".tensor o   i16 T D    ; output projection\n"
    << ".tensor x1  f32 T D    ; x0 + o: residual stream after attention\n"
    << ".tensor h2  f32 T D    ; LN2 output\n"
    << ".tensor x2q i16 T D    ; ... quantized on E_X2\n"
    << ".tensor f1  i16 T F    ; FC1 output\n"
    << ".tensor g1  f32 T F    ; its activation (fp32)\n"
    << ".tensor x3q i16 T F    ; ... quantized on E_X3\n"
    << ".tensor f2  i16 T D    ; FC2 output\n"
    << ".tensor y   f32 T D    ; x1 + f2: the layer output\n\n";

  o << "; ---- phase 1: LayerNorm 1 and quantization, token rows split over the groups ----\n"
    << "@all SETB ln1, D, 1\n";
  rows("x0", "h1", "D");
  o << "@all SFU ln\n";
  rows("h1", "xq", "D");
  o << "@all SHIFT E_X1\n@all SFU qnt\n@all SIG 0\n\n";

  o << "; ---- phase 2: attention, head g on group g (every head needs every row of xq) ----\n"
    << "@all WAIT 0, 4\n"
    << "@all SETA xq, D, 1\n@all DIMS T, HD, D\n";
  const char* proj[3][3] = {{"q", "wq", "bq"}, {"k", "wk", "bk"}, {"v", "wv", "bv"}};
  const char* shift[3] = {"SH_Q", "SH_K", "SH_V"};
  for (int i = 0; i < 3; ++i) {
    o << "; " << proj[i][0] << " columns of head g = xq " << proj[i][1] << "[rows of head g]^T + bias\n";
    per("SETB", std::string(proj[i][1]) + "[{g}*HD, 0], D, 1");
    per("SETD", std::string(proj[i][2]) + "[0, {g}*HD], 0, 1");
    per("SETC", std::string(proj[i][0]) + "[0, {g}*HD], D, 1");
    o << "@all SHIFT " << shift[i] << "\n@all GEMM i16, bias\n";
  }
  o << "; scores u = round(Q K^T MULT_S 2^-SH_S): base-2 scores on Q.15\n";
  per("SETA", "q[0, {g}*HD], D, 1");
  per("SETB", "k[0, {g}*HD], D, 1");
  per("SETC", "u[{g}*T, 0], T, 1");
  o << "@all DIMS T, T, HD\n@all MULT MULT_S\n@all SHIFT SH_S\n@all GEMM i32, mul\n"
    << "; shiftmax over each row: max, 2^(u - max) by shift-and-add, Mitchell log2 of the sum\n";
  per("SETA", "u[{g}*T, 0], T, 1");
  per("SETC", "p[{g}*T, 0], T, 1");
  o << "@all DIMS T, T\n@all SMAX\n"
    << "; context = P V (V read transposed: B(n, k) = v[k, n])\n";
  per("SETA", "p[{g}*T, 0], T, 1");
  per("SETB", "v[0, {g}*HD], 1, D");
  per("SETC", "ctx[0, {g}*HD], D, 1");
  o << "@all DIMS T, HD, T\n@all SHIFT SH_PV\n@all GEMM i16\n@all SIG 1\n\n";

  o << "; ---- phase 3: output projection and residual 1, model columns split (needs every head) ----\n"
    << "@all WAIT 1, 4\n@all SETA ctx, D, 1\n";
  per("SETB", "wo[{g}*DC, 0], D, 1");
  per("SETD", "bo[0, {g}*DC], 0, 1");
  per("SETC", "o[0, {g}*DC], D, 1");
  o << "@all DIMS T, DC, D\n@all SHIFT SH_O\n@all GEMM i16, bias\n";
  per("SETA", "o[0, {g}*DC], D, 1");
  per("SETD", "x0[0, {g}*DC], D, 1");
  per("SETC", "x1[0, {g}*DC], D, 1");
  o << "@all DIMS T, DC\n@all SHIFT E_O\n@all SFU addf\n@all SIG 2\n\n";

  o << "; ---- phase 4: LayerNorm 2 and quantization, rows split (needs whole rows of x1) ----\n"
    << "@all WAIT 2, 4\n@all SETB ln2, D, 1\n";
  rows("x1", "h2", "D");
  o << "@all SFU ln\n";
  rows("h2", "x2q", "D");
  o << "@all SHIFT E_X2\n@all SFU qnt\n@all SIG 3\n\n";

  o << "; ---- phase 5: FC1 and the activation, hidden columns split (needs every row of x2q) ----\n"
    << "@all WAIT 3, 4\n@all SETA x2q, D, 1\n";
  per("SETB", "w1[{g}*FC, 0], D, 1");
  per("SETD", "b1[0, {g}*FC], 0, 1");
  per("SETC", "f1[0, {g}*FC], F, 1");
  o << "@all DIMS T, FC, D\n@all SHIFT SH_1\n@all GEMM i16, bias\n";
  per("SETA", "f1[0, {g}*FC], F, 1");
  per("SETC", "g1[0, {g}*FC], F, 1");
  o << "@all DIMS T, FC\n@all SHIFT E_F1\n@all SFU deq\n";
  per("SETA", "g1[0, {g}*FC], F, 1");
  o << "@all SFU act\n";
  per("SETC", "x3q[0, {g}*FC], F, 1");
  o << "@all SHIFT E_X3\n@all SFU qnt\n@all SIG 4\n\n";

  o << "; ---- phase 6: FC2 and residual 2, model columns split (needs every hidden column) ----\n"
    << "@all WAIT 4, 4\n@all SETA x3q, F, 1\n";
  per("SETB", "w2[{g}*DC, 0], F, 1");
  per("SETD", "b2[0, {g}*DC], 0, 1");
  per("SETC", "f2[0, {g}*DC], D, 1");
  o << "@all DIMS T, DC, F\n@all SHIFT SH_2\n@all GEMM i16, bias\n";
  per("SETA", "f2[0, {g}*DC], D, 1");
  per("SETD", "x1[0, {g}*DC], D, 1");
  per("SETC", "y[0, {g}*DC], D, 1");
  o << "@all DIMS T, DC\n@all SHIFT E_F2\n@all SFU addf\n@all HALT\n";
  return o.str();
}

namespace {

const Op& find_op(const ModelGraph& mg, const std::string& name) {
  for (const Op& op : mg.graph.ops)
    if (op.name == name) return op;
  ER_THROW(UnsupportedError, mg.info.dir, ": the graph has no op \"", name, "\" (not a ViT encoder layer as edgerun builds it)");
}

// Reads slot s as fp32 (F32, BF16, F16) or, for I16 slots, as int16 values into `i16`.
std::vector<float> read_slot(const ModelGraph& mg, SlotId s, std::vector<int16_t>* i16 = nullptr) {
  ER_CHECK(s != kNone);
  const WeightSlot& w = mg.graph.slots[static_cast<size_t>(s)];
  const std::string& path = mg.weights.paths[static_cast<size_t>(w.file)];
  std::vector<uint8_t> raw(w.nbytes());
  open_file(path)->read_at(w.begin, w.nbytes(), raw.data());
  const int64_t n = w.numel();
  std::vector<float> out(static_cast<size_t>(n));
  switch (w.file_dtype) {
    case DType::F32:
    case DType::BF16:
    case DType::F16:
      widen_to_f32(w.file_dtype, raw.data(), n, out.data());
      break;
    case DType::I16:
      if (!i16) ER_THROW(UnsupportedError, path, ": tensor \"", w.name, "\" is int16; only Linear weights may be");
      i16->resize(static_cast<size_t>(n));
      std::memcpy(i16->data(), raw.data(), static_cast<size_t>(n) * 2);
      for (int16_t v : *i16)
        if (v == -32768) ER_THROW(FormatError, path, ": tensor \"", w.name, "\" holds -32768, outside the q16 range");
      break;
    default:
      ER_THROW(UnsupportedError, path, ": tensor \"", w.name, "\" has dtype ", dtype_name(w.file_dtype));
  }
  return out;
}

// A q16 Linear's int16 weight (quantized on its exponent unless stored so) and fp32 bias.
void read_linear(const ModelGraph& mg, const Op& op, std::vector<int16_t>* w, std::vector<float>* b) {
  if (!op.p.q16) ER_THROW(InternalError, op.name, " was built without q16 exponents");
  std::vector<int16_t> stored;
  const std::vector<float> f = read_slot(mg, op.slots[0], &stored);
  if (!stored.empty()) {
    *w = std::move(stored);
  } else {
    w->resize(f.size());
    for (size_t i = 0; i < f.size(); ++i) (*w)[i] = arapq::quantize16(f[i], op.p.q_w);
  }
  *b = op.slots.size() > 1 && op.slots[1] != kNone ? read_slot(mg, op.slots[1])
                                                    : std::vector<float>(static_cast<size_t>(mg.graph.values[op.output].cols), 0.0f);
}

std::vector<int64_t> widen(const std::vector<int16_t>& v) { return {v.begin(), v.end()}; }
std::vector<int64_t> bias_words(const std::vector<float>& b, int e_acc) {
  std::vector<int64_t> out(b.size());
  for (size_t i = 0; i < b.size(); ++i) out[i] = arapq::bias_to_acc(b[i], e_acc);
  return out;
}
std::vector<float> ln_words(const std::vector<float>& g, const std::vector<float>& b, float eps) {
  std::vector<float> out(g.size() * 3, 0.0f);
  std::copy(g.begin(), g.end(), out.begin());
  std::copy(b.begin(), b.end(), out.begin() + static_cast<ptrdiff_t>(g.size()));
  out[2 * g.size()] = eps;
  return out;
}

}  // namespace

ModelGraph build_arap_model(const std::string& dir) {
  BuildOptions bo;
  bo.attention = AttnVariant::Shiftmax;
  bo.precision = Precision::Q16;
  return build_model(dir, bo);
}

VitLayer load_vit_layer(const std::string& dir, int64_t layer) { return load_vit_layer(build_arap_model(dir), layer); }

VitLayer load_vit_layer(const ModelGraph& mg, int64_t layer) {
  const std::string& dir = mg.info.dir;
  if (mg.info.family != Family::Vit)
    ER_THROW(UnsupportedError, dir, ": sim arap runs ViT encoder layers; this is a ", family_name(mg.info.family), " model");
  if (layer < 0 || layer >= mg.info.n_layer)
    ER_THROW(InputError, dir, ": layer ", layer, " does not exist (the model has ", mg.info.n_layer, ")");
  VitLayer l;
  l.model_dir = dir;
  l.layer = layer;
  const int64_t np = mg.info.image_size / mg.info.patch_size;
  const std::string p = "encoder.layer." + std::to_string(layer);
  const Op& ln1 = find_op(mg, p + ".layernorm_before");
  const Op& q = find_op(mg, p + ".attention.attention.query");
  const Op& k = find_op(mg, p + ".attention.attention.key");
  const Op& v = find_op(mg, p + ".attention.attention.value");
  const Op& att = find_op(mg, p + ".attention.attention.attention");
  const Op& out = find_op(mg, p + ".attention.output.dense");
  const Op& ln2 = find_op(mg, p + ".layernorm_after");
  const Op& fc1 = find_op(mg, p + ".intermediate.dense");
  const Op& act = find_op(mg, p + ".intermediate.act");
  const Op& fc2 = find_op(mg, p + ".output.dense");
  l.shape = {np * np + 1, mg.info.hidden, mg.info.n_head, mg.graph.values[fc1.output].cols};
  check_vit_layer_shape(l.shape);
  l.act = act.p.act;
  l.ln1_eps = ln1.p.eps;
  l.ln2_eps = ln2.p.eps;
  l.scale = att.p.scale;
  l.ln1_g = read_slot(mg, ln1.slots[0]);
  l.ln1_b = read_slot(mg, ln1.slots[1]);
  l.ln2_g = read_slot(mg, ln2.slots[0]);
  l.ln2_b = read_slot(mg, ln2.slots[1]);
  read_linear(mg, q, &l.wq, &l.bq);
  read_linear(mg, k, &l.wk, &l.bk);
  read_linear(mg, v, &l.wv, &l.bv);
  read_linear(mg, out, &l.wo, &l.bo);
  read_linear(mg, fc1, &l.w1, &l.b1);
  read_linear(mg, fc2, &l.w2, &l.b2);
  // Exponents exactly as apply_precision set them for the engine.
  if (q.p.q_x[0] != k.p.q_x[0] || q.p.q_x[0] != v.p.q_x[0])
    ER_THROW(UnsupportedError, dir, ": the Q, K and V Linears of layer ", layer, " quantize their common input on different "
             "exponents (", int{q.p.q_x[0]}, ", ", int{k.p.q_x[0]}, ", ", int{v.p.q_x[0]}, "); the ARAP program quantizes it once");
  l.e_x1 = q.p.q_x[0];
  l.e_wq = q.p.q_w, l.e_wk = k.p.q_w, l.e_wv = v.p.q_w;
  l.e_q = q.p.q_out, l.e_k = k.p.q_out, l.e_v = v.p.q_out;
  if (att.p.q_x[0] != l.e_q || att.p.q_x[1] != l.e_k || att.p.q_x[2] != l.e_v)
    ER_THROW(UnsupportedError, dir, ": attention inputs of layer ", layer, " are not on their Linears' output exponents");
  l.e_ctx = att.p.q_out;
  if (out.p.q_x[0] != l.e_ctx)
    ER_THROW(UnsupportedError, dir, ": the output projection of layer ", layer, " quantizes the attention output on 2^",
             int{out.p.q_x[0]}, " but attention writes it on 2^", l.e_ctx, "; the ARAP program feeds it on unchanged");
  l.e_wo = out.p.q_w, l.e_o = out.p.q_out;
  l.e_x2 = fc1.p.q_x[0], l.e_w1 = fc1.p.q_w, l.e_f1 = fc1.p.q_out;
  l.e_x3 = fc2.p.q_x[0], l.e_w2 = fc2.p.q_w, l.e_f2 = fc2.p.q_out;
  return l;
}

std::map<std::string, int64_t> vit_layer_params(const VitLayer& l) {
  // shiftmax's constant as the contract computes it: fixed_mult(double(scale) * log2 e).
  const arapq::FixedMult fm = arapq::fixed_mult(static_cast<double>(l.scale) * std::numbers::log2e);
  if (fm.mult == 0) ER_THROW(InputError, l.model_dir, ": attention scale ", l.scale, " is not a positive number");
  return {{"E_X1", l.e_x1},
          {"SH_Q", l.e_q - (l.e_x1 + l.e_wq)},
          {"SH_K", l.e_k - (l.e_x1 + l.e_wk)},
          {"SH_V", l.e_v - (l.e_x1 + l.e_wv)},
          {"MULT_S", fm.mult},
          {"SH_S", fm.shift - (l.e_q + l.e_k) - 15},
          {"SH_PV", l.e_ctx - (arapq::kProbExp + l.e_v)},
          {"SH_O", l.e_o - (l.e_ctx + l.e_wo)},
          {"E_O", l.e_o},
          {"E_X2", l.e_x2},
          {"SH_1", l.e_f1 - (l.e_x2 + l.e_w1)},
          {"E_F1", l.e_f1},
          {"E_X3", l.e_x3},
          {"SH_2", l.e_f2 - (l.e_x3 + l.e_w2)},
          {"E_F2", l.e_f2}};
}

void load_vit_layer_data(ArapMachine& m, const VitLayer& l, const std::vector<float>& x0) {
  m.write_tensor_f32("x0", x0);
  m.write_tensor_f32("ln1", ln_words(l.ln1_g, l.ln1_b, l.ln1_eps));
  m.write_tensor_f32("ln2", ln_words(l.ln2_g, l.ln2_b, l.ln2_eps));
  m.write_tensor("wq", widen(l.wq));
  m.write_tensor("wk", widen(l.wk));
  m.write_tensor("wv", widen(l.wv));
  m.write_tensor("wo", widen(l.wo));
  m.write_tensor("w1", widen(l.w1));
  m.write_tensor("w2", widen(l.w2));
  m.write_tensor("bq", bias_words(l.bq, l.e_x1 + l.e_wq));
  m.write_tensor("bk", bias_words(l.bk, l.e_x1 + l.e_wk));
  m.write_tensor("bv", bias_words(l.bv, l.e_x1 + l.e_wv));
  m.write_tensor("bo", bias_words(l.bo, l.e_ctx + l.e_wo));
  m.write_tensor("b1", bias_words(l.b1, l.e_x2 + l.e_w1));
  m.write_tensor("b2", bias_words(l.b2, l.e_x3 + l.e_w2));
}

VitLayerResult read_vit_layer_result(const ArapMachine& m) {
  VitLayerResult r;
  r.y = m.read_tensor_f32("y");
  r.xq = m.read_tensor("xq");
  r.q = m.read_tensor("q");
  r.k = m.read_tensor("k");
  r.v = m.read_tensor("v");
  r.p = m.read_tensor("p");
  r.ctx = m.read_tensor("ctx");
  r.o = m.read_tensor("o");
  r.x2q = m.read_tensor("x2q");
  r.f1 = m.read_tensor("f1");
  r.x3q = m.read_tensor("x3q");
  r.f2 = m.read_tensor("f2");
  return r;
}

}  // namespace edgerun::sim::arap
