// Resize (opset 11 to 13 semantics, without tf_crop_and_resize, cubic or antialias): nearest
// with its four rounding modes, and N-linear interpolation. Each output coordinate of each axis
// is mapped to the input once (one table per axis); the walk over y then only combines tables.
#include <cmath>

#include "kernels/cpu/nd_common.h"
#include "kernels/cpu/nd_kernels.h"

namespace edgerun::kernels {

using namespace nd;

namespace {

// The input coordinate of output coordinate `o` on an axis of `in` -> `out` elements.
double source_coord(CoordMode mode, double o, double scale, int64_t in, int64_t out) {
  switch (mode) {
    case CoordMode::HalfPixel: return (o + 0.5) / scale - 0.5;
    case CoordMode::PytorchHalfPixel: return out > 1 ? (o + 0.5) / scale - 0.5 : 0.0;
    case CoordMode::AlignCorners: {
      // ONNX's length_resized is in * scale, which a non-integer scale makes fractional (the
      // backend tests expect that); with sizes it is the output length.
      double len = static_cast<double>(in) * scale;
      if (std::fabs(len - static_cast<double>(out)) < 1e-4) len = static_cast<double>(out);
      return len <= 1 ? 0.0 : o * static_cast<double>(in - 1) / (len - 1);
    }
    case CoordMode::Asymmetric: return o / scale;
    case CoordMode::TfHalfPixelForNn: return (o + 0.5) / scale;
  }
  ER_CHECK(false, "unknown CoordMode");
  return 0;
}

// The nearest input index; a coordinate exactly between two takes the mode's side (the integer
// coordinates are their own nearest whatever the mode).
int64_t nearest_index(NearestMode mode, double x) {
  const double fl = std::floor(x), frac = x - fl;
  if (frac == 0.0) return static_cast<int64_t>(fl);
  bool up = false;
  switch (mode) {
    case NearestMode::RoundPreferFloor: up = frac > 0.5; break;
    case NearestMode::RoundPreferCeil: up = frac >= 0.5; break;
    case NearestMode::Floor: up = false; break;
    case NearestMode::Ceil: up = true; break;
  }
  return static_cast<int64_t>(fl) + (up ? 1 : 0);
}

int64_t clamp_index(int64_t i, int64_t n) { return i < 0 ? 0 : (i >= n ? n - 1 : i); }

// Per output coordinate of one axis: the two input indices it reads and the weight of the
// second (nearest: both indices equal, weight 0). Out-of-range coordinates read the edge.
struct AxisTable {
  std::vector<int64_t> i0, i1;
  std::vector<double> w1;
};

AxisTable axis_table(const ResizeParams& p, double scale, int64_t in, int64_t out) {
  AxisTable t;
  t.i0.resize(out);
  t.i1.resize(out);
  t.w1.assign(out, 0.0);
  for (int64_t o = 0; o < out; ++o) {
    const double x = source_coord(p.coord, static_cast<double>(o), scale, in, out);
    if (p.mode == ResizeMode::Nearest) {
      t.i0[o] = t.i1[o] = clamp_index(nearest_index(p.nearest, x), in);
      continue;
    }
    const double fl = std::floor(x);
    t.i0[o] = clamp_index(static_cast<int64_t>(fl), in);
    t.i1[o] = clamp_index(static_cast<int64_t>(fl) + 1, in);
    t.w1[o] = x - fl;
  }
  return t;
}

}  // namespace

void resize(const Tensor& x, const ResizeParams& p, const Tensor& y) {
  require_f32("Resize", x);
  require_f32("Resize", y);
  const size_t r = x.shape.size();
  ER_CHECK(y.shape.size() == r && p.scales.size() == r, "Resize: x ", shape_str(x.shape), ", y ",
           shape_str(y.shape), ", ", p.scales.size(), " scales");
  if (y.numel() == 0) return;
  ER_CHECK(x.numel() > 0, "Resize of an empty tensor to ", shape_str(y.shape));
  std::vector<AxisTable> tables(r);
  for (size_t d = 0; d < r; ++d) {
    ER_CHECK(p.scales[d] > 0, "Resize: scale ", p.scales[d], " on axis ", d);
    tables[d] = axis_table(p, p.scales[d], x.shape[d], y.shape[d]);
  }
  const std::vector<int64_t> xs = contiguous_strides(x.shape);
  const float* px = x.f32();
  float* py = y.f32();
  std::vector<int64_t> idx(r, 0);
  for (int64_t i = 0, n = y.numel(); i < n; ++i) {
    // The 2^r corners of the cell around the source point; a corner of weight 0 is skipped, so
    // nearest and the unscaled axes cost one read.
    double acc = 0;
    for (uint32_t corner = 0; corner < (1u << r); ++corner) {
      double w = 1;
      int64_t off = 0;
      for (size_t d = 0; d < r && w != 0; ++d) {
        const AxisTable& t = tables[d];
        const bool hi = (corner >> d) & 1u;
        w *= hi ? t.w1[idx[d]] : 1.0 - t.w1[idx[d]];
        off += (hi ? t.i1[idx[d]] : t.i0[idx[d]]) * xs[d];
      }
      if (w != 0) acc += w * px[off];
    }
    py[i] = static_cast<float>(acc);
    for (size_t d = r; d-- > 0;) {
      if (++idx[d] < y.shape[d]) break;
      idx[d] = 0;
    }
  }
}

}  // namespace edgerun::kernels
