// Row selection (SelectFirst / SelectLast / SelectLastNonPad): one row per sequence.
#include <cstring>

#include "kernels/cpu/kernels.h"

namespace edgerun::kernels {

void select_rows(const float* x, int64_t B, int64_t T, int64_t D, int64_t pick, float* out) {
  for (int64_t b = 0; b < B; ++b)
    std::memcpy(out + b * D, x + (b * T + pick) * D, static_cast<size_t>(D) * 4);
}

void select_last_non_pad(const float* x, const int64_t* ids, int64_t B, int64_t T, int64_t D, int64_t pad_id,
                         float* out) {
  for (int64_t b = 0; b < B; ++b) {
    int64_t pick = T - 1;
    if (pad_id >= 0)
      while (pick > 0 && ids[b * T + pick] == pad_id) --pick;
    std::memcpy(out + b * D, x + (b * T + pick) * D, static_cast<size_t>(D) * 4);
  }
}

}  // namespace edgerun::kernels
