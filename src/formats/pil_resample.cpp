// Separable convolution resampling as Pillow does it on 8-bit images: per output pixel a window
// of normalized filter weights (support widened by the downscale factor), weights converted to
// 22-bit fixed point, each pass rounded and clipped to uint8. Pass order, bounds and every
// floating-point expression follow Pillow 13's Resample.c so the results are identical.
#include "formats/pil_resample.h"

#include <cmath>
#include <numbers>
#include <limits>

#include "core/error.h"

namespace edgerun {

namespace {

// Filter kernels, written as in Pillow (the float literals of hamming included): the weights
// must round the same way for the fixed-point coefficients to agree.
double box_filter(double x) { return (x > -0.5 && x <= 0.5) ? 1.0 : 0.0; }
double bilinear_filter(double x) {
  if (x < 0.0) x = -x;
  return x < 1.0 ? 1.0 - x : 0.0;
}
double hamming_filter(double x) {
  if (x < 0.0) x = -x;
  if (x == 0.0) return 1.0;
  if (x >= 1.0) return 0.0;
  x = x * std::numbers::pi;
  return std::sin(x) / x * (static_cast<double>(0.54f) + static_cast<double>(0.46f) * std::cos(x));
}
double bicubic_filter(double x) {
  constexpr double a = -0.5;
  if (x < 0.0) x = -x;
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
  if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
  return 0.0;
}
double sinc_filter(double x) {
  if (x == 0.0) return 1.0;
  x = x * std::numbers::pi;
  return std::sin(x) / x;
}
double lanczos_filter(double x) {
  if (-3.0 <= x && x < 3.0) return sinc_filter(x) * sinc_filter(x / 3);
  return 0.0;
}
double mks2013_filter(double x) {
  if (x < 0) x = -x;
  if (x < 0.5) return 17.0 / 16.0 - 7.0 / 4.0 * std::pow(x, 2);
  if (x < 1.5) return (1.0 - x) * (7.0 / 4.0 - x);
  if (x < 2.5) return -1.0 / 8.0 * std::pow(x - 5.0 / 2.0, 2);
  return 0;
}
double mks2021_filter(double x) {
  if (x < 0) x = -x;
  if (x < 0.5) return 577.0 / 576.0 - 239.0 / 144.0 * std::pow(x, 2);
  if (x < 1.5) return 35.0 / 36.0 * (x - 1.0) * (x - 239.0 / 140.0);
  if (x < 2.5) return 1.0 / 6.0 * (x - 2.0) * (65.0 / 24.0 - x);
  if (x < 3.5) return 1.0 / 36.0 * (x - 3.0) * (x - 15.0 / 4.0);
  if (x < 4.5) return -1.0 / 288.0 * std::pow(x - 9.0 / 2.0, 2);
  return 0;
}

struct Filter {
  double (*fn)(double);
  double support;
};

Filter filter_for(PilFilter f) {
  switch (f) {
    case PilFilter::kBox: return {box_filter, 0.5};
    case PilFilter::kBilinear: return {bilinear_filter, 1.0};
    case PilFilter::kHamming: return {hamming_filter, 1.0};
    case PilFilter::kBicubic: return {bicubic_filter, 2.0};
    case PilFilter::kLanczos: return {lanczos_filter, 3.0};
    case PilFilter::kMks2013: return {mks2013_filter, 2.5};
    case PilFilter::kMks2021: return {mks2021_filter, 4.5};
    case PilFilter::kNearest: break;
  }
  ER_CHECK(false, "no convolution filter for PIL filter ", static_cast<int>(f));
}

// 8 bits of result, 2 bits of headroom for negative lobes and sums over 1 (Pillow's comment).
constexpr int kPrecisionBits = 32 - 8 - 2;

// Per output index: first input index, number of taps, and ksize fixed-point weights.
struct Coeffs {
  int ksize = 0;
  std::vector<int> bounds;  // (out_size, 2): xmin, count
  std::vector<int32_t> k;   // (out_size, ksize)
};

Coeffs precompute_coeffs(int in_size, int out_size, const Filter& filter) {
  // Pillow passes the box as floats: in0 = 0, in1 = in_size.
  const float in0 = 0.0f, in1 = static_cast<float>(in_size);
  double scale = static_cast<double>(in1 - in0) / out_size;
  double filterscale = scale < 1.0 ? 1.0 : scale;
  const double support = filter.support * filterscale;
  Coeffs c;
  c.ksize = static_cast<int>(std::ceil(support)) * 2 + 1;
  c.bounds.resize(static_cast<size_t>(out_size) * 2);
  c.k.assign(static_cast<size_t>(out_size) * c.ksize, 0);
  std::vector<double> w(static_cast<size_t>(c.ksize));
  const double inv_filterscale = 1.0 / filterscale;
  for (int xx = 0; xx < out_size; ++xx) {
    double center = in0 + (xx + 0.5) * scale;
    double ww = 0.0;
    int xmin = static_cast<int>(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    int xmax = static_cast<int>(center + support + 0.5);
    if (xmax > in_size) xmax = in_size;
    xmax -= xmin;
    ER_CHECK(xmax <= c.ksize, "resample window wider than ksize");
    for (int x = 0; x < xmax; ++x) {
      double v = filter.fn((x + xmin - center + 0.5) * inv_filterscale);
      w[static_cast<size_t>(x)] = v;
      ww += v;
    }
    if (ww != 0.0)
      for (int x = 0; x < xmax; ++x) w[static_cast<size_t>(x)] /= ww;
    int32_t* k = &c.k[static_cast<size_t>(xx) * c.ksize];
    for (int x = 0; x < xmax; ++x) {
      double p = w[static_cast<size_t>(x)];
      k[x] = p < 0 ? static_cast<int32_t>(-0.5 + p * (1 << kPrecisionBits))
                   : static_cast<int32_t>(0.5 + p * (1 << kPrecisionBits));
    }
    c.bounds[static_cast<size_t>(xx) * 2] = xmin;
    c.bounds[static_cast<size_t>(xx) * 2 + 1] = xmax;
  }
  return c;
}

// Pillow clips through a lookup table indexed by ss >> 22 (arithmetic shift, so floor).
inline uint8_t clip8(int64_t ss) {
  int64_t v = ss >> kPrecisionBits;
  return static_cast<uint8_t>(v < 0 ? 0 : (v > 255 ? 255 : v));
}

// Horizontal pass over rows [row_offset, row_offset + out_rows) of `in`.
U8Image resample_horizontal(const U8Image& in, int64_t row_offset, int64_t out_rows,
                            int out_width, const Coeffs& c) {
  const int64_t ch = in.channels;
  U8Image out{out_width, out_rows, ch, {}};
  out.pixels.resize(static_cast<size_t>(out_width * out_rows * ch));
  for (int64_t yy = 0; yy < out_rows; ++yy) {
    const uint8_t* line = &in.pixels[static_cast<size_t>((yy + row_offset) * in.width * ch)];
    uint8_t* dst = &out.pixels[static_cast<size_t>(yy * out_width * ch)];
    for (int xx = 0; xx < out_width; ++xx) {
      const int xmin = c.bounds[static_cast<size_t>(xx) * 2];
      const int n = c.bounds[static_cast<size_t>(xx) * 2 + 1];
      const int32_t* k = &c.k[static_cast<size_t>(xx) * c.ksize];
      for (int64_t b = 0; b < ch; ++b) {
        int64_t ss = 1 << (kPrecisionBits - 1);
        for (int x = 0; x < n; ++x) ss += int64_t{line[(x + xmin) * ch + b]} * k[x];
        dst[xx * ch + b] = clip8(ss);
      }
    }
  }
  return out;
}

// Vertical pass; bounds index rows of `in` directly.
U8Image resample_vertical(const U8Image& in, int out_height, const Coeffs& c) {
  const int64_t ch = in.channels, row = in.width * ch;
  U8Image out{in.width, out_height, ch, {}};
  out.pixels.resize(static_cast<size_t>(row * out_height));
  for (int yy = 0; yy < out_height; ++yy) {
    const int ymin = c.bounds[static_cast<size_t>(yy) * 2];
    const int n = c.bounds[static_cast<size_t>(yy) * 2 + 1];
    const int32_t* k = &c.k[static_cast<size_t>(yy) * c.ksize];
    uint8_t* dst = &out.pixels[static_cast<size_t>(yy * row)];
    for (int64_t i = 0; i < row; ++i) {
      int64_t ss = 1 << (kPrecisionBits - 1);
      for (int y = 0; y < n; ++y) ss += int64_t{in.pixels[static_cast<size_t>((y + ymin) * row + i)]} * k[y];
      dst[i] = clip8(ss);
    }
  }
  return out;
}

// Image.resize(..., NEAREST): ImagingScaleAffine with a[0] = in/out, sampling positions
// accumulated in double exactly as Pillow does (a running sum, not x * scale), pixels whose
// position falls outside the source left at 0 (Pillow zero-fills the output first).
U8Image resize_nearest(const U8Image& in, int out_width, int out_height) {
  const int64_t ch = in.channels;
  const double a0 = static_cast<double>(static_cast<float>(in.width)) / out_width;
  const double a4 = static_cast<double>(static_cast<float>(in.height)) / out_height;
  auto coord = [](double v) { return v < 0.0 ? -1 : static_cast<int>(v); };
  std::vector<int> xin(static_cast<size_t>(out_width), -1);
  double xo = a0 * 0.5;
  for (int x = 0; x < out_width; ++x) {
    int xi = coord(xo);
    if (xi >= 0 && xi < in.width) xin[static_cast<size_t>(x)] = xi;
    xo += a0;
  }
  U8Image out{out_width, out_height, ch, {}};
  out.pixels.assign(static_cast<size_t>(int64_t{out_width} * out_height * ch), 0);
  double yo = a4 * 0.5;
  for (int y = 0; y < out_height; ++y) {
    int yi = coord(yo);
    if (yi >= 0 && yi < in.height) {
      const uint8_t* src = &in.pixels[static_cast<size_t>(yi * in.width * ch)];
      uint8_t* dst = &out.pixels[static_cast<size_t>(int64_t{y} * out_width * ch)];
      for (int x = 0; x < out_width; ++x) {
        int xi = xin[static_cast<size_t>(x)];
        if (xi < 0) continue;
        for (int64_t b = 0; b < ch; ++b) dst[x * ch + b] = src[xi * ch + b];
      }
    }
    yo += a4;
  }
  return out;
}

}  // namespace

U8Image pil_resize(const U8Image& in, int64_t out_width, int64_t out_height, PilFilter filter) {
  constexpr int64_t kMaxSide = std::numeric_limits<int>::max() / 64;
  ER_CHECK(in.width >= 1 && in.height >= 1 && in.channels >= 1, "empty image");
  ER_CHECK(in.pixels.size() == static_cast<size_t>(in.width * in.height * in.channels),
           "pixel buffer size disagrees with the image size");
  ER_CHECK(out_width >= 1 && out_height >= 1 && out_width <= kMaxSide && out_height <= kMaxSide &&
               in.width <= kMaxSide && in.height <= kMaxSide,
           "resize size out of range");
  const int in_w = static_cast<int>(in.width), in_h = static_cast<int>(in.height);
  const int out_w = static_cast<int>(out_width), out_h = static_cast<int>(out_height);
  if (in_w == out_w && in_h == out_h) return in;  // Image.resize returns a copy
  if (filter == PilFilter::kNearest) return resize_nearest(in, out_w, out_h);

  const Filter f = filter_for(filter);
  const bool need_horizontal = out_w != in_w;
  const bool need_vertical = out_h != in_h;
  // Pillow 13 runs the vertical pass first when the height shrinks more than twice as much as
  // the width; the uint8 rounding between passes makes the order visible in the result.
  const bool horizontal_first = !((in_h - out_h) > 0 && (in_h - out_h) > (in_w - out_w) * 2);

  if (horizontal_first) {
    Coeffs vert = precompute_coeffs(in_h, out_h, f);
    if (!need_horizontal) return resample_vertical(in, out_h, vert);
    // Only the source rows the vertical pass will read are filtered horizontally.
    const int first = vert.bounds[0];
    const int last = vert.bounds[static_cast<size_t>(out_h) * 2 - 2] +
                     vert.bounds[static_cast<size_t>(out_h) * 2 - 1];
    for (int i = 0; i < out_h; ++i) vert.bounds[static_cast<size_t>(i) * 2] -= first;
    Coeffs horiz = precompute_coeffs(in_w, out_w, f);
    U8Image tmp = resample_horizontal(in, first, last - first, out_w, horiz);
    if (!need_vertical) return tmp;
    return resample_vertical(tmp, out_h, vert);
  }
  // Vertical first (need_vertical is true here: the height shrinks).
  U8Image tmp = resample_vertical(in, out_h, precompute_coeffs(in_h, out_h, f));
  if (!need_horizontal) return tmp;
  return resample_horizontal(tmp, 0, out_h, out_w, precompute_coeffs(in_w, out_w, f));
}

}  // namespace edgerun
