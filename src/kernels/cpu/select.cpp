// Row selection (SelectFirst / SelectLast): one row per sequence.
#include <cstring>

#include "kernels/cpu/kernels.h"

namespace edgerun::kernels {

void select_rows(const float* x, int64_t B, int64_t T, int64_t D, int64_t pick, float* out) {
  for (int64_t b = 0; b < B; ++b)
    std::memcpy(out + b * D, x + (b * T + pick) * D, static_cast<size_t>(D) * 4);
}

}  // namespace edgerun::kernels
