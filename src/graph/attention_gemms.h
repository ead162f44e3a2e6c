// Each attention variant as the GEMMs it runs, one function per variant, so that the engine, the
// systolic-array model and the ASIC model all see the same shapes (DESIGN.md, "Accelerator
// models"). Counts are for one sequence of T tokens (batch 1, no KV cache: a prefill). The Q/K/V
// and output projections are Linear ops of their own and are not included here.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace edgerun {

// C (m x n) = A (m x k) * B (k x n), SCALE-Sim's "Layer, M, N, K" convention.
struct GemmShape {
  std::string name;
  int64_t m = 0, n = 0, k = 0;
};

// An attention variant's work for one attention op: its GEMMs (one entry per head) plus the
// scalar work outside them, counted in operations so that energy models can price it.
struct AttentionWork {
  std::vector<GemmShape> gemms;
  int64_t col_adds = 0;     // additions along the token axis (column sums: key mean, v_sum, L1)
  int64_t elementwise = 0;  // per-element scale / subtract / add / divide outside the GEMMs
  int64_t exps = 0;         // exponentials (softmax only)
};

// Exact softmax: per head S = Q K^T (T x hd x T), P = softmax(S), O = P V (T x T x hd).
AttentionWork softmax_attention_gemms(int64_t tokens, int64_t n_head, int64_t head_dim,
                                    const std::string& prefix = "attention");
// ViTALiTy first-order Taylor with keys mean-centred over tokens: per head K^T V is
// (hd x T)(T x hd), then Q (K^T V) is (T x hd)(hd x hd); the column accumulator sums K (for the
// mean) and V (v_sum). O(T d^2).
AttentionWork taylor_attention_gemms(int64_t tokens, int64_t n_head, int64_t head_dim,
                                    const std::string& prefix = "attention");
// SimA: Q and K L1-normalised column-wise over tokens, then Q (K^T V): the same two GEMMs per
// head as taylor, with L1 column sums of Q and K instead of the key mean. O(T d^2).
AttentionWork sima_attention_gemms(int64_t tokens, int64_t n_head, int64_t head_dim,
                                    const std::string& prefix = "attention");

// Dispatch on "softmax" | "taylor" | "sima"; throws InputError for any other name and for
// non-positive or absurd sizes. `prefix` starts every GEMM name ("<prefix>.h<i>.qk").
AttentionWork attention_gemms(const std::string& variant, int64_t tokens, int64_t n_head,
                              int64_t head_dim, const std::string& prefix = "attention");

}  // namespace edgerun
