// CPU kernels, one op per .cpp file, run by the CPU backend (cpu_backend.h). Every optimized
// kernel has a plain-loop `*_ref` beside it (copies and single sums are their own reference);
// tests/test_ops.cpp checks each op against its reference on odd shapes. All arrays are
// row-major fp32 unless said otherwise; shapes are given in the comments as (rows, cols).
#pragma once
#include <cstdint>

#include "edgerun/types.h"
#include "graph/op_kind.h"

namespace edgerun::kernels {

// Sets the BLAS thread count used by the GEMM-backed kernels (OpenBLAS).
void set_blas_threads(int n);
int get_blas_threads();
// OpenBLAS kernel set in use ("Haswell", "SkylakeX", ...).
const char* blas_core_name();

// y (M, N) = x (M, K) . W^T + b, W stored (N, K); or x . W + b with W stored (K, N) (w_in_out).
// bias may be null. ldy: row stride of y in floats (0: N), for writing a column chunk of a wider
// output in place.
void linear(const float* x, int64_t M, int64_t K, const float* w, int64_t N, bool w_in_out,
            const float* bias, float* y, int64_t ldy = 0);
void linear_ref(const float* x, int64_t M, int64_t K, const float* w, int64_t N, bool w_in_out,
                const float* bias, float* y, int64_t ldy = 0);

// A row tile of a (K, N) weight (OpParams::k_begin): y (M, N) += x (M, kt) . w (kt, N), x's rows
// lda floats apart; with `first`, y = x . w + bias (bias may be null) instead.
void linear_row_tile(const float* x, int64_t M, int64_t lda, int64_t kt, const float* w, int64_t N,
                     const float* bias, bool first, float* y);
void linear_row_tile_ref(const float* x, int64_t M, int64_t lda, int64_t kt, const float* w, int64_t N,
                         const float* bias, bool first, float* y);

// y (M, D) = (x - mean) / sqrt(var + eps) * gamma + beta, per row (biased variance).
void layernorm(const float* x, int64_t M, int64_t D, const float* gamma, const float* beta,
               float eps, float* y);
void layernorm_ref(const float* x, int64_t M, int64_t D, const float* gamma, const float* beta,
                   float eps, float* y);

// y (n) = act(x (n)); y may alias x.
void activation(const float* x, int64_t n, ActKind act, float* y);
void activation_ref(const float* x, int64_t n, ActKind act, float* y);

// y (n) = a (n) + b (n); y may alias a or b.
void add(const float* a, const float* b, int64_t n, float* y);

// Row selection: out (B, D) = row `pick` of each sequence of x (B*T, D) (SelectFirst: 0,
// SelectLast: T - 1). A copy: it is its own reference.
void select_rows(const float* x, int64_t B, int64_t T, int64_t D, int64_t pick, float* out);
// out (B, D) = per sequence b, the row of x (B*T, D) of its rightmost token whose id (ids (B, T))
// is not pad_id, row 0 when every token is padding (transformers' argmax of t * (id != pad));
// pad_id < 0: the last row. A copy: it is its own reference.
void select_last_non_pad(const float* x, const int64_t* ids, int64_t B, int64_t T, int64_t D, int64_t pad_id,
                         float* out);

// Token embeddings: out (B*T, D) = word[ids] (+ type[tt]) + pos[past + t]. Rows come from
// `word_rows` (B*T, D) already gathered by the caller (the table itself is never loaded whole).
// type_table (n_type, D) and tt (B*T) may be null; ids are checked by the caller.
void embeddings(const float* word_rows, int64_t B, int64_t T, int64_t D, const float* pos_table,
                int64_t past, const float* type_table, const int64_t* tt, float* out);

// ViT patch embedding: pixels (B, C, H, W) -> out (B*(1+Np), D) where row 0 of each image is
// cls (D) and rows 1..Np are conv(kernel = stride = P)(pixels) + bias, all plus pos (1+Np, D).
// w is the conv weight (D, C, P, P). scratch holds (Np, C*P*P) floats for im2col.
void patch_embed(const float* pixels, int64_t B, int64_t C, int64_t H, int64_t W, int64_t P,
                 const float* w, const float* bias, const float* cls, const float* pos,
                 int64_t D, float* scratch, float* out);
void patch_embed_ref(const float* pixels, int64_t B, int64_t C, int64_t H, int64_t W, int64_t P,
                     const float* w, const float* bias, const float* cls, const float* pos,
                     int64_t D, float* out);

// Multi-head softmax attention. q/k/v rows are strided (a fused qkv buffer has stride 3*D).
struct AttentionArgs {
  int64_t B = 0, T = 0;        // batch, new tokens (query rows per sequence)
  int64_t past = 0;            // tokens already in the KV cache
  int64_t n_head = 0, head_dim = 0;
  const float* q = nullptr;  int64_t q_stride = 0;   // (B*T, >= H*hd)
  const float* k = nullptr;  int64_t k_stride = 0;
  const float* v = nullptr;  int64_t v_stride = 0;
  float* out = nullptr;                               // (B*T, H*hd)
  float scale = 1.0f;          // applied to Q K^T
  bool causal = false;         // key j visible to query i iff j <= past + i
  const int64_t* key_mask = nullptr;  // (B, past+T): 0 = padding key; null = all valid
  float* k_cache = nullptr;    // (B, H, cache_cap, hd); null = no cache (past must be 0)
  float* v_cache = nullptr;
  int64_t cache_cap = 0;
  float* scratch = nullptr;    // attention_scratch_floats() floats
  // Whether key j of sequence b takes part: key_mask is (B, past + T), nonzero = a real token.
  // The one definition every attention kernel (fp32 and q16) masks by.
  bool key_valid(int64_t b, int64_t j) const { return !key_mask || key_mask[b * (past + T) + j] != 0; }
};
int64_t attention_scratch_floats(int64_t T, int64_t keys);
void attention(const AttentionArgs& a);
void attention_ref(const AttentionArgs& a);

// Attention variants (DESIGN.md "Numerics"), one file each, same arguments as attention() but
// never causal and without a KV cache (the model builders refuse those). With a key_mask, the
// key mean, sums, n and L1 norms run over valid tokens only; a sequence with no valid token is
// taken whole (softmax gives it a uniform distribution instead). The references are plain
// double loops over the unsimplified formulas (the quadratic forms for taylor and sima).
// taylor: Z = 1 v_sum^T / n + (scale / n) Q (K^T V) with K mean-centred over the n tokens.
void attention_taylor(const AttentionArgs& a);
void attention_taylor_ref(const AttentionArgs& a);
int64_t attention_taylor_scratch_floats(int64_t T, int64_t head_dim);
// sima: Q^ = Q / (||Q||_1 + eps), K^ likewise, column-wise over tokens; Z = Q^ (K^^T V).
constexpr float kSimaEps = 1e-6f;
void attention_sima(const AttentionArgs& a);
void attention_sima_ref(const AttentionArgs& a);
int64_t attention_sima_scratch_floats(int64_t T, int64_t head_dim);
// shiftmax: base-2 softmax with log2(e) folded into the scale, 2^u as (1 + frac u) 2^floor(u)
// and log2 of the row sum by Mitchell's approximation; see pow2_shift / log2_mitchell.
void attention_shiftmax(const AttentionArgs& a);
void attention_shiftmax_ref(const AttentionArgs& a);
// The approximations shiftmax uses, exposed for tests: 2^u for u <= 0 (0 below -126), and
// log2(s) for a normal s > 0.
float pow2_shift(float u);
float log2_mitchell(float s);

// Dispatch on the variant: scratch floats for T queries over `keys` keys, and the optimized kernel.
int64_t attention_scratch_floats(AttnVariant v, int64_t T, int64_t keys, int64_t head_dim);
void attention(AttnVariant v, const AttentionArgs& a);

}  // namespace edgerun::kernels
