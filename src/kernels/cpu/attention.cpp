// Multi-head softmax attention. Fast path: per (sequence, head) two sgemm calls on strided
// views (Q K^T into scratch, then P V straight into the output columns of that head) around a
// masked, max-subtracted softmax. With a KV cache the new keys/values are appended first and the
// products run over the cache. The reference is the plain loop over (b, h, i, j).
#include <cblas.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "kernels/cpu/fast_math.h"
#include "kernels/cpu/kernels.h"

namespace edgerun::kernels {

namespace {
// transformers adds finfo(float32).min to masked scores (not -inf), so a row whose keys are
// all padding still gets a uniform distribution instead of NaN; we do the same.
constexpr float kMaskedScore = std::numeric_limits<float>::lowest();

bool key_visible(const AttentionArgs& a, int64_t b, int64_t i, int64_t j) {
  return !(a.causal && j > a.past + i);
}

void append_cache(const AttentionArgs& a) {
  const int64_t H = a.n_head, hd = a.head_dim;
  for (int64_t b = 0; b < a.B; ++b)
    for (int64_t t = 0; t < a.T; ++t)
      for (int64_t h = 0; h < H; ++h) {
        const int64_t row = b * a.T + t;
        const size_t dst = static_cast<size_t>(((b * H + h) * a.cache_cap + a.past + t) * hd);
        std::memcpy(a.k_cache + dst, a.k + row * a.k_stride + h * hd, static_cast<size_t>(hd) * 4);
        std::memcpy(a.v_cache + dst, a.v + row * a.v_stride + h * hd, static_cast<size_t>(hd) * 4);
      }
}

// Key/value pointer and row stride for (b, h): the cache when present, else the strided input.
struct KV {
  const float* k;
  const float* v;
  int64_t k_ld, v_ld;
};
KV kv_for(const AttentionArgs& a, int64_t b, int64_t h) {
  if (a.k_cache) {
    const size_t off = static_cast<size_t>((b * a.n_head + h) * a.cache_cap * a.head_dim);
    return {a.k_cache + off, a.v_cache + off, a.head_dim, a.head_dim};
  }
  return {a.k + b * a.T * a.k_stride + h * a.head_dim, a.v + b * a.T * a.v_stride + h * a.head_dim,
          a.k_stride, a.v_stride};
}
}  // namespace

int64_t attention_scratch_floats(int64_t T, int64_t keys) { return T * keys; }

void attention(const AttentionArgs& a) {
  if (a.k_cache) append_cache(a);
  const int64_t H = a.n_head, hd = a.head_dim, keys = a.past + a.T, D = H * hd;
  float* s = a.scratch;
  for (int64_t b = 0; b < a.B; ++b)
    for (int64_t h = 0; h < H; ++h) {
      const float* q = a.q + b * a.T * a.q_stride + h * hd;
      KV kv = kv_for(a, b, h);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(a.T),
                  static_cast<int>(keys), static_cast<int>(hd), a.scale, q,
                  static_cast<int>(a.q_stride), kv.k, static_cast<int>(kv.k_ld), 0.0f, s,
                  static_cast<int>(keys));
      for (int64_t i = 0; i < a.T; ++i) {
        float* row = s + i * keys;
        float mx = kMaskedScore;
        for (int64_t j = 0; j < keys; ++j) {
          if (!a.key_valid(b, j)) row[j] += kMaskedScore;
          if (!key_visible(a, b, i, j)) row[j] = -INFINITY;
          mx = row[j] > mx ? row[j] : mx;
        }
        float sum = 0.0f;
        for (int64_t j = 0; j < keys; ++j) {
          row[j] = fast_exp(row[j] - mx) * (row[j] != -INFINITY);
          sum += row[j];
        }
        const float inv = 1.0f / sum;
        for (int64_t j = 0; j < keys; ++j) row[j] *= inv;
      }
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(a.T),
                  static_cast<int>(hd), static_cast<int>(keys), 1.0f, s, static_cast<int>(keys),
                  kv.v, static_cast<int>(kv.v_ld), 0.0f, a.out + b * a.T * D + h * hd,
                  static_cast<int>(D));
    }
}

void attention_ref(const AttentionArgs& a) {
  if (a.k_cache) append_cache(a);
  const int64_t H = a.n_head, hd = a.head_dim, keys = a.past + a.T, D = H * hd;
  float* s = a.scratch;
  for (int64_t b = 0; b < a.B; ++b)
    for (int64_t h = 0; h < H; ++h) {
      const float* q = a.q + b * a.T * a.q_stride + h * hd;
      KV kv = kv_for(a, b, h);
      for (int64_t i = 0; i < a.T; ++i) {
        double mx = -INFINITY;
        for (int64_t j = 0; j < keys; ++j) {
          double acc = 0;
          for (int64_t d = 0; d < hd; ++d)
            acc += static_cast<double>(q[i * a.q_stride + d]) * kv.k[j * kv.k_ld + d];
          double sc = acc * a.scale;
          if (!a.key_valid(b, j)) sc += kMaskedScore;
          if (!key_visible(a, b, i, j)) sc = -INFINITY;
          s[i * keys + j] = static_cast<float>(sc);
          mx = sc > mx ? sc : mx;
        }
        double sum = 0;
        std::vector<double> p(static_cast<size_t>(keys));
        for (int64_t j = 0; j < keys; ++j) {
          double sc = s[i * keys + j];
          p[j] = sc == -INFINITY ? 0.0 : std::exp(sc - mx);
          sum += p[j];
        }
        for (int64_t d = 0; d < hd; ++d) {
          double acc = 0;
          for (int64_t j = 0; j < keys; ++j) acc += p[j] / sum * kv.v[j * kv.v_ld + d];
          a.out[(b * a.T + i) * D + h * hd + d] = static_cast<float>(acc);
        }
      }
    }
}

}  // namespace edgerun::kernels

namespace edgerun::kernels {

int64_t attention_scratch_floats(AttnVariant v, int64_t T, int64_t keys, int64_t head_dim) {
  switch (v) {
    case AttnVariant::Softmax:
    case AttnVariant::Shiftmax: return attention_scratch_floats(T, keys);
    case AttnVariant::Taylor: return attention_taylor_scratch_floats(T, head_dim);
    case AttnVariant::Sima: return attention_sima_scratch_floats(T, head_dim);
  }
  return 0;
}

void attention(AttnVariant v, const AttentionArgs& a) {
  switch (v) {
    case AttnVariant::Softmax: attention(a); break;
    case AttnVariant::Taylor: attention_taylor(a); break;
    case AttnVariant::Sima: attention_sima(a); break;
    case AttnVariant::Shiftmax: attention_shiftmax(a); break;
  }
}

}  // namespace edgerun::kernels
