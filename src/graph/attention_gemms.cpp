// GEMM decomposition of the attention variants (see attention_gemms.h). Shapes only: no data,
// no masks (a padding mask changes which tokens count, not the GEMM shapes the hardware runs).
#include "graph/attention_gemms.h"

#include "core/error.h"

namespace edgerun {

namespace {

// Sizes far past any transformer: keeps every product below in int64 range.
constexpr int64_t kMaxTokens = 1 << 20;
constexpr int64_t kMaxHeads = 1 << 12;
constexpr int64_t kMaxHeadDim = 1 << 14;

void check_sizes(int64_t tokens, int64_t n_head, int64_t head_dim) {
  if (tokens <= 0 || tokens > kMaxTokens)
    ER_THROW(InputError, "attention: token count ", tokens, " is outside [1, ", kMaxTokens, "]");
  if (n_head <= 0 || n_head > kMaxHeads)
    ER_THROW(InputError, "attention: head count ", n_head, " is outside [1, ", kMaxHeads, "]");
  if (head_dim <= 0 || head_dim > kMaxHeadDim)
    ER_THROW(InputError, "attention: head_dim ", head_dim, " is outside [1, ", kMaxHeadDim, "]");
}

std::string head_name(const std::string& prefix, int64_t h, const char* what) {
  return prefix + ".h" + std::to_string(h) + "." + what;
}

// K^T V then Q (K^T V): the linear-attention pair shared by taylor and sima.
void add_linear_pair(AttentionWork& w, const std::string& prefix, int64_t T, int64_t H,
                     int64_t hd) {
  for (int64_t h = 0; h < H; ++h) {
    w.gemms.push_back({head_name(prefix, h, "ktv"), hd, hd, T});  // (hd x T)(T x hd)
    w.gemms.push_back({head_name(prefix, h, "qktv"), T, hd, hd});  // (T x hd)(hd x hd)
  }
}

}  // namespace

AttentionWork softmax_attention_gemms(int64_t T, int64_t H, int64_t hd,
                                    const std::string& prefix) {
  check_sizes(T, H, hd);
  AttentionWork w;
  for (int64_t h = 0; h < H; ++h) {
    w.gemms.push_back({head_name(prefix, h, "qk"), T, T, hd});  // S = Q K^T
    w.gemms.push_back({head_name(prefix, h, "pv"), T, hd, T});  // O = P V
  }
  // Per score: scale, subtract the row max, divide by the row sum; one exp each.
  w.elementwise = 3 * H * T * T;
  w.exps = H * T * T;
  w.col_adds = H * T * T;  // the row sums of exp (a reduction, priced as additions)
  return w;
}

AttentionWork taylor_attention_gemms(int64_t T, int64_t H, int64_t hd,
                                    const std::string& prefix) {
  check_sizes(T, H, hd);
  AttentionWork w;
  add_linear_pair(w, prefix, T, H, hd);
  const int64_t d = H * hd;
  // Column accumulator: sum of K over tokens (the mean) and v_sum; centring subtracts the mean
  // from every key; Z = v_sum / n + Q (K^T V) / (n sqrt d) is a scale and an add per output.
  w.col_adds = 2 * T * d;
  w.elementwise = T * d + 2 * T * d;
  return w;
}

AttentionWork sima_attention_gemms(int64_t T, int64_t H, int64_t hd,
                                    const std::string& prefix) {
  check_sizes(T, H, hd);
  AttentionWork w;
  add_linear_pair(w, prefix, T, H, hd);
  const int64_t d = H * hd;
  // L1 norms of Q and K columns over tokens (|x| then add), then one divide per element of Q
  // and K. No softmax, no 1/sqrt(d).
  w.col_adds = 2 * T * d;
  w.elementwise = 2 * T * d;
  return w;
}

AttentionWork attention_gemms(const std::string& variant, int64_t tokens, int64_t n_head,
                              int64_t head_dim, const std::string& prefix) {
  if (variant == "softmax") return softmax_attention_gemms(tokens, n_head, head_dim, prefix);
  if (variant == "taylor") return taylor_attention_gemms(tokens, n_head, head_dim, prefix);
  if (variant == "sima") return sima_attention_gemms(tokens, n_head, head_dim, prefix);
  ER_THROW(InputError, "unknown attention variant '", variant,
           "' (expected softmax, taylor or sima)");
}

}  // namespace edgerun
