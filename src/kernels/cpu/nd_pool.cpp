// MaxPool, AveragePool and their global forms, on the 3-D window geometry of nd::lift_window (a
// global pool is a window over the whole spatial extent).
#include <limits>

#include "kernels/cpu/nd_common.h"
#include "kernels/cpu/nd_kernels.h"

namespace edgerun::kernels {

using namespace nd;

void pool(const Tensor& x, const PoolParams& p, const Tensor& y) {
  require_f32("pool", x);
  require_f32("pool", y);
  const bool global = p.kind == PoolKind::GlobalAverage || p.kind == PoolKind::GlobalMax;
  const bool is_max = p.kind == PoolKind::Max || p.kind == PoolKind::GlobalMax;
  ER_CHECK(x.shape.size() >= 3 && y.shape.size() == x.shape.size() && x.shape[0] == y.shape[0] &&
               x.shape[1] == y.shape[1],
           "pool: x ", shape_str(x.shape), ", y ", shape_str(y.shape));
  const Window3 g = global ? lift_window("pool", x.shape, y.shape,
                                         std::vector<int64_t>(x.shape.begin() + 2, x.shape.end()), {}, {}, {})
                           : lift_window("pool", x.shape, y.shape, p.kernel, p.strides, p.dilations, p.pads);
  const int64_t planes = x.shape[0] * x.shape[1];
  const float* px = x.f32();
  float* py = y.f32();
  for (int64_t pl = 0; pl < planes; ++pl) {
    const float* xp = px + pl * g.in_size();
    float* yp = py + pl * g.out_size();
    for (int64_t o0 = 0; o0 < g.out[0]; ++o0)
      for (int64_t o1 = 0; o1 < g.out[1]; ++o1)
        for (int64_t o2 = 0; o2 < g.out[2]; ++o2) {
          // Padding never wins a max and never adds to a sum; count_include_pad counts the
          // window positions inside the padded input (not those a ceil_mode window adds past it).
          float mx = -std::numeric_limits<float>::infinity();
          double sum = 0;
          int64_t valid = 0, padded = 0;
          for (int64_t k0 = 0; k0 < g.k[0]; ++k0) {
            const int64_t i0 = o0 * g.s[0] - g.pb[0] + k0 * g.d[0];
            for (int64_t k1 = 0; k1 < g.k[1]; ++k1) {
              const int64_t i1 = o1 * g.s[1] - g.pb[1] + k1 * g.d[1];
              for (int64_t k2 = 0; k2 < g.k[2]; ++k2) {
                const int64_t i2 = o2 * g.s[2] - g.pb[2] + k2 * g.d[2];
                const int64_t i[3] = {i0, i1, i2};
                bool inside = true, in_pad = true;
                for (int a = 0; a < 3; ++a) {
                  inside = inside && i[a] >= 0 && i[a] < g.in[a];
                  in_pad = in_pad && i[a] >= -g.pb[a] && i[a] < g.in[a] + g.pe[a];
                }
                padded += in_pad;
                if (!inside) continue;
                const float v = xp[(i0 * g.in[1] + i1) * g.in[2] + i2];
                ++valid;
                if (v > mx) mx = v;
                sum += v;
              }
            }
          }
          float& out = yp[(o0 * g.out[1] + o1) * g.out[2] + o2];
          if (is_max) {
            out = mx;
          } else {
            const int64_t div = p.count_include_pad ? padded : valid;
            out = div ? static_cast<float>(sum / static_cast<double>(div)) : 0.0f;
          }
        }
  }
}

}  // namespace edgerun::kernels
