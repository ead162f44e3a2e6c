// Token embeddings: gathered word rows + token-type rows + position rows. Additions follow
// transformers' order (BERT: (word + type) + position; GPT-2: word + position).
#include "kernels/cpu/kernels.h"

namespace edgerun::kernels {

void embeddings(const float* word_rows, int64_t B, int64_t T, int64_t D, const float* pos_table,
                int64_t past, const float* type_table, const int64_t* tt, float* out) {
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < T; ++t) {
      const int64_t r = b * T + t;
      const float* w = word_rows + r * D;
      const float* p = pos_table + (past + t) * D;
      float* o = out + r * D;
      if (type_table) {
        const float* ty = type_table + tt[r] * D;
        for (int64_t j = 0; j < D; ++j) o[j] = (w[j] + ty[j]) + p[j];
      } else {
        for (int64_t j = 0; j < D; ++j) o[j] = w[j] + p[j];
      }
    }
}

}  // namespace edgerun::kernels
