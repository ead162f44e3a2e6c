// Conv and ConvTranspose over 1 to 3 spatial axes, on the 3-D geometry of nd::lift_window. The
// fast conv is im2col + one sgemm per group per image; conv_ref and conv_transpose are plain
// loops.
#include <cblas.h>

#include <algorithm>
#include <cstring>

#include "kernels/cpu/nd_common.h"
#include "kernels/cpu/nd_kernels.h"

namespace edgerun::kernels {

using namespace nd;

namespace {

struct Geo : Window3 {
  int64_t N = 0, C = 0, M = 0, group = 1, Cg = 0, Mg = 0;
};

// in: x's spatial extent, out: y's, for both ops. w is (M, C / group, kernel...) for Conv,
// (C, M / group, kernel...) for ConvTranspose.
Geo geometry(const char* op, const Tensor& x, const Tensor& w, const ConvParams& p, const Tensor& y,
             bool transpose) {
  require_f32(op, x);
  require_f32(op, w);
  require_f32(op, y);
  Geo g;
  static_cast<Window3&>(g) = lift_window(op, x.shape, y.shape, p.kernel, p.strides, p.dilations, p.pads);
  ER_CHECK(w.shape.size() == x.shape.size(), op, ": w ", shape_str(w.shape), " for x ", shape_str(x.shape));
  g.group = p.group;
  g.N = x.shape[0];
  g.C = x.shape[1];
  g.M = transpose ? w.shape[1] * p.group : w.shape[0];
  ER_CHECK(g.group >= 1 && g.C % g.group == 0 && g.M % g.group == 0 && y.shape[0] == g.N &&
               y.shape[1] == g.M,
           op, ": channels of x ", shape_str(x.shape), ", w ", shape_str(w.shape), ", y ",
           shape_str(y.shape), " with group ", g.group);
  g.Cg = g.C / g.group;
  g.Mg = g.M / g.group;
  ER_CHECK(transpose ? w.shape[0] == g.C : w.shape[1] == g.Cg, op, ": w ", shape_str(w.shape));
  for (size_t i = 0; i < p.kernel.size(); ++i)
    ER_CHECK(w.shape[2 + i] == p.kernel[i], op, ": w ", shape_str(w.shape), " and the kernel");
  return g;
}

// y (N, M, out) = bias per channel, or 0.
void fill_bias(const Geo& g, const float* bias, float* y) {
  const int64_t os = g.out_size();
  for (int64_t n = 0; n < g.N; ++n)
    for (int64_t m = 0; m < g.M; ++m) std::fill_n(y + (n * g.M + m) * os, os, bias ? bias[m] : 0.0f);
}

// col (Cg * k_size, p1 - p0): row (c, kernel position), column output position p0 .. p1 - 1
// (flattened over the output's spatial axes); zero where the window reads padding.
void im2col(const Geo& g, const float* x, float* col, int64_t p0, int64_t p1) {
  const int64_t n = p1 - p0;
  for (int64_t c = 0; c < g.Cg; ++c)
    for (int64_t k0 = 0; k0 < g.k[0]; ++k0)
      for (int64_t k1 = 0; k1 < g.k[1]; ++k1)
        for (int64_t k2 = 0; k2 < g.k[2]; ++k2) {
          float* dst = col + ((c * g.k[0] + k0) * g.k[1] * g.k[2] + k1 * g.k[2] + k2) * n;
          const float* xc = x + c * g.in_size();
          int64_t o2 = p0 % g.out[2], o1 = (p0 / g.out[2]) % g.out[1], o0 = p0 / (g.out[2] * g.out[1]);
          for (int64_t j = 0; j < n;) {
            // One run along the last axis at a time.
            const int64_t run = std::min(n - j, g.out[2] - o2);
            const int64_t i0 = o0 * g.s[0] - g.pb[0] + k0 * g.d[0];
            const int64_t i1 = o1 * g.s[1] - g.pb[1] + k1 * g.d[1];
            if (i0 < 0 || i0 >= g.in[0] || i1 < 0 || i1 >= g.in[1]) {
              std::fill_n(dst + j, run, 0.0f);
            } else {
              const float* src = xc + (i0 * g.in[1] + i1) * g.in[2];
              for (int64_t r = 0; r < run; ++r) {
                const int64_t i2 = (o2 + r) * g.s[2] - g.pb[2] + k2 * g.d[2];
                dst[j + r] = (i2 >= 0 && i2 < g.in[2]) ? src[i2] : 0.0f;
              }
            }
            j += run;
            o2 += run;
            if (o2 == g.out[2]) {
              o2 = 0;
              if (++o1 == g.out[1]) o1 = 0, ++o0;
            }
          }
        }
}

// Output positions per im2col tile: the col buffer stays within kColBytes whatever the image
// size (a 3x3 conv of 64 channels at 224x224 would otherwise take 116 MB of the budget).
constexpr uint64_t kColBytes = uint64_t{4} << 20;
int64_t tile_positions(const Geo& g) {
  const int64_t kk = g.Cg * g.k_size();
  return std::max<int64_t>(1, std::min<int64_t>(g.out_size(), static_cast<int64_t>(kColBytes / (static_cast<uint64_t>(kk) * 4))));
}

// A 1x1 kernel with stride 1 and no padding reads x as the col matrix itself.
bool pointwise(const Geo& g) {
  for (int i = 0; i < 3; ++i)
    if (g.k[i] != 1 || g.s[i] != 1 || g.pb[i] != 0 || g.in[i] != g.out[i]) return false;
  return true;
}

}  // namespace

uint64_t conv_scratch_bytes(const Tensor& x, const Tensor& w, const ConvParams& p, const Tensor& y) {
  const Geo g = geometry("Conv", x, w, p, y, false);
  if (pointwise(g)) return 0;
  return static_cast<uint64_t>(g.Cg * g.k_size() * tile_positions(g)) * sizeof(float);
}

void conv(const Tensor& x, const Tensor& w, const float* bias, const ConvParams& p, const Tensor& y,
          void* scratch) {
  const Geo g = geometry("Conv", x, w, p, y, false);
  const bool pw = pointwise(g);
  ER_CHECK(pw || scratch, "Conv: no scratch buffer");
  const float* px = x.f32();
  const float* pw_ = w.f32();
  float* py = y.f32();
  float* col = static_cast<float*>(scratch);
  fill_bias(g, bias, py);
  const int64_t os = g.out_size(), kk = g.Cg * g.k_size();
  const int64_t tile = pw ? os : tile_positions(g);
  for (int64_t n = 0; n < g.N; ++n)
    for (int64_t gr = 0; gr < g.group; ++gr) {
      const float* xg = px + (n * g.C + gr * g.Cg) * g.in_size();
      for (int64_t p0 = 0; p0 < os; p0 += tile) {
        const int64_t p1 = std::min(os, p0 + tile);
        if (!pw) im2col(g, xg, col, p0, p1);
        // y_g (Mg, p0 .. p1) += w_g (Mg, kk) . col (kk, p1 - p0)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(g.Mg),
                    static_cast<int>(p1 - p0), static_cast<int>(kk), 1.0f, pw_ + gr * g.Mg * kk,
                    static_cast<int>(kk), pw ? xg : col, static_cast<int>(pw ? os : p1 - p0), 1.0f,
                    py + (n * g.M + gr * g.Mg) * os + p0, static_cast<int>(os));
      }
    }
  apply_epilogue(py, y.numel(), p.epi);
}

void conv_ref(const Tensor& x, const Tensor& w, const float* bias, const ConvParams& p, const Tensor& y) {
  const Geo g = geometry("Conv", x, w, p, y, false);
  const float* px = x.f32();
  const float* pw = w.f32();
  float* py = y.f32();
  for (int64_t n = 0; n < g.N; ++n)
    for (int64_t m = 0; m < g.M; ++m) {
      const int64_t gr = m / g.Mg;
      for (int64_t o0 = 0; o0 < g.out[0]; ++o0)
        for (int64_t o1 = 0; o1 < g.out[1]; ++o1)
          for (int64_t o2 = 0; o2 < g.out[2]; ++o2) {
            float acc = bias ? bias[m] : 0.0f;
            for (int64_t c = 0; c < g.Cg; ++c)
              for (int64_t k0 = 0; k0 < g.k[0]; ++k0)
                for (int64_t k1 = 0; k1 < g.k[1]; ++k1)
                  for (int64_t k2 = 0; k2 < g.k[2]; ++k2) {
                    const int64_t i0 = o0 * g.s[0] - g.pb[0] + k0 * g.d[0];
                    const int64_t i1 = o1 * g.s[1] - g.pb[1] + k1 * g.d[1];
                    const int64_t i2 = o2 * g.s[2] - g.pb[2] + k2 * g.d[2];
                    if (i0 < 0 || i0 >= g.in[0] || i1 < 0 || i1 >= g.in[1] || i2 < 0 || i2 >= g.in[2])
                      continue;
                    const float xv = px[(((n * g.C + gr * g.Cg + c) * g.in[0] + i0) * g.in[1] + i1) * g.in[2] + i2];
                    const float wv = pw[(((m * g.Cg + c) * g.k[0] + k0) * g.k[1] + k1) * g.k[2] + k2];
                    acc += xv * wv;
                  }
            py[(((n * g.M + m) * g.out[0] + o0) * g.out[1] + o1) * g.out[2] + o2] = acc;
          }
    }
  apply_epilogue(py, y.numel(), p.epi);
}

void conv_transpose(const Tensor& x, const Tensor& w, const float* bias, const ConvParams& p,
                    const Tensor& y) {
  // The transposed conv scatters each input element through the kernel: input position i
  // reaches output position i * stride - pad_begin + k * dilation. output_padding only widens
  // y, whose shape already holds it.
  const Geo g = geometry("ConvTranspose", x, w, p, y, true);
  const float* px = x.f32();
  const float* pw = w.f32();
  float* py = y.f32();
  fill_bias(g, bias, py);
  for (int64_t n = 0; n < g.N; ++n)
    for (int64_t c = 0; c < g.C; ++c) {
      const int64_t gr = c / g.Cg;
      const float* xc = px + (n * g.C + c) * g.in_size();
      for (int64_t m = 0; m < g.Mg; ++m) {
        const float* wk = pw + (c * g.Mg + m) * g.k_size();
        float* yc = py + (n * g.M + gr * g.Mg + m) * g.out_size();
        for (int64_t i0 = 0; i0 < g.in[0]; ++i0)
          for (int64_t i1 = 0; i1 < g.in[1]; ++i1)
            for (int64_t i2 = 0; i2 < g.in[2]; ++i2) {
              const float xv = xc[(i0 * g.in[1] + i1) * g.in[2] + i2];
              for (int64_t k0 = 0; k0 < g.k[0]; ++k0) {
                const int64_t o0 = i0 * g.s[0] - g.pb[0] + k0 * g.d[0];
                if (o0 < 0 || o0 >= g.out[0]) continue;
                for (int64_t k1 = 0; k1 < g.k[1]; ++k1) {
                  const int64_t o1 = i1 * g.s[1] - g.pb[1] + k1 * g.d[1];
                  if (o1 < 0 || o1 >= g.out[1]) continue;
                  for (int64_t k2 = 0; k2 < g.k[2]; ++k2) {
                    const int64_t o2 = i2 * g.s[2] - g.pb[2] + k2 * g.d[2];
                    if (o2 < 0 || o2 >= g.out[2]) continue;
                    yc[(o0 * g.out[1] + o1) * g.out[2] + o2] +=
                        xv * wk[(k0 * g.k[1] + k1) * g.k[2] + k2];
                  }
                }
              }
            }
      }
    }
  apply_epilogue(py, y.numel(), p.epi);
}

}  // namespace edgerun::kernels
