// ViT patch embedding as im2col + one sgemm per image, writing straight into rows 1..Np of the
// token matrix; the reference is the direct convolution loop.
#include <cstring>

#include "kernels/cpu/kernels.h"

namespace edgerun::kernels {

namespace {
void finish_tokens(int64_t B, int64_t Np, int64_t D, const float* cls, const float* pos,
                   float* out) {
  for (int64_t b = 0; b < B; ++b) {
    float* o = out + b * (Np + 1) * D;
    std::memcpy(o, cls, static_cast<size_t>(D) * 4);
    for (int64_t r = 0; r < (Np + 1) * D; ++r) o[r] += pos[r];
  }
}
}  // namespace

void patch_embed(const float* pixels, int64_t B, int64_t C, int64_t H, int64_t W, int64_t P,
                 const float* w, const float* bias, const float* cls, const float* pos,
                 int64_t D, float* scratch, float* out) {
  const int64_t gh = H / P, gw = W / P, Np = gh * gw, K = C * P * P;
  for (int64_t b = 0; b < B; ++b) {
    const float* img = pixels + b * C * H * W;
    // im2col: row = patch (py, px), column = (c, ky, kx) as the conv weight is laid out.
    for (int64_t py = 0; py < gh; ++py)
      for (int64_t px = 0; px < gw; ++px) {
        float* row = scratch + (py * gw + px) * K;
        for (int64_t c = 0; c < C; ++c)
          for (int64_t ky = 0; ky < P; ++ky)
            std::memcpy(row + (c * P + ky) * P, img + (c * H + py * P + ky) * W + px * P,
                        static_cast<size_t>(P) * 4);
      }
    linear(scratch, Np, K, w, D, /*w_in_out=*/false, bias, out + (b * (Np + 1) + 1) * D);
  }
  finish_tokens(B, Np, D, cls, pos, out);
}

void patch_embed_ref(const float* pixels, int64_t B, int64_t C, int64_t H, int64_t W, int64_t P,
                     const float* w, const float* bias, const float* cls, const float* pos,
                     int64_t D, float* out) {
  const int64_t gh = H / P, gw = W / P, Np = gh * gw;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t py = 0; py < gh; ++py)
      for (int64_t px = 0; px < gw; ++px)
        for (int64_t d = 0; d < D; ++d) {
          float acc = 0.0f;
          for (int64_t c = 0; c < C; ++c)
            for (int64_t ky = 0; ky < P; ++ky)
              for (int64_t kx = 0; kx < P; ++kx)
                acc += pixels[((b * C + c) * H + py * P + ky) * W + px * P + kx] *
                       w[((d * C + c) * P + ky) * P + kx];
          out[(b * (Np + 1) + 1 + py * gw + px) * D + d] = acc + (bias ? bias[d] : 0.0f);
        }
  finish_tokens(B, Np, D, cls, pos, out);
}

}  // namespace edgerun::kernels
