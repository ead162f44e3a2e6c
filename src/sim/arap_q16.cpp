// The ARAP simulator's own q16 arithmetic (see arap_q16.h): written from the contract, not
// shared with src/kernels, so that the bit-exact test between the two means something.
#include "sim/arap_q16.h"

#include <cmath>

namespace edgerun::sim::arapq {

i128 round_shift(i128 x, int s) {
  if (s <= 0) return x * (static_cast<i128>(1) << -s);
  if (s >= 120) return 0;  // |x| < 2^100: nothing survives, and half an ulp never reaches 1
  const bool neg = x < 0;
  const i128 mag = neg ? -x : x;
  const i128 r = (mag + (static_cast<i128>(1) << (s - 1))) >> s;  // half away: on the magnitude
  return neg ? -r : r;
}

int16_t sat16(i128 x) {
  if (x > kQMax) return static_cast<int16_t>(kQMax);
  if (x < -kQMax) return static_cast<int16_t>(-kQMax);
  return static_cast<int16_t>(x);
}

FixedMult fixed_mult(double c) {
  FixedMult f;
  if (!(c > 0) || !std::isfinite(c)) return f;  // callers check: a zero multiplier is refused
  // Scale c by exact powers of two into [2^30, 2^31), then round once.
  int shift = 0;
  double v = c;
  while (v >= 0x1p31) v *= 0.5, --shift;
  while (v < 0x1p30) v *= 2.0, ++shift;
  double r = std::floor(v + 0.5);  // v > 0: half away from zero
  if (r >= 0x1p31) r *= 0.5, --shift;
  f.mult = static_cast<int64_t>(r);
  f.shift = shift;
  return f;
}

int16_t quantize16(float v, int e) {
  if (std::isnan(v)) return 0;
  const double x = std::ldexp(static_cast<double>(v), -e);
  if (x >= static_cast<double>(kQMax)) return static_cast<int16_t>(kQMax);
  if (x <= -static_cast<double>(kQMax)) return static_cast<int16_t>(-kQMax);
  const double r = x < 0 ? -std::floor(-x + 0.5) : std::floor(x + 0.5);
  return static_cast<int16_t>(r);
}

int64_t bias_to_acc(float b, int e) {
  if (std::isnan(b)) return 0;
  const double x = std::ldexp(static_cast<double>(b), -e);
  constexpr double lim = 0x1p62;
  if (x >= lim) return static_cast<int64_t>(lim);
  if (x <= -lim) return -static_cast<int64_t>(lim);
  const double r = x < 0 ? -std::floor(-x + 0.5) : std::floor(x + 0.5);
  return static_cast<int64_t>(r);
}

int64_t pow2_q15(int64_t d) {
  // d = -(integer part) * 2^15 + fraction with fraction in [0, 2^15): 2^d = (1 + f) >> ip.
  const int64_t ip = -((-d + 32767) / 32768);  // floor(d / 2^15) for d <= 0
  const int64_t frac = d - ip * 32768;
  const int64_t sh = -ip;
  if (sh >= 62) return 0;
  return static_cast<int64_t>(round_shift(32768 + frac, static_cast<int>(sh)));
}

int64_t log2_q15(int64_t x) {
  int msb = 0;
  for (uint64_t v = static_cast<uint64_t>(x); v > 1; v >>= 1) ++msb;
  const int64_t mant = x - (int64_t{1} << msb);
  return static_cast<int64_t>(msb - 15) * 32768 + static_cast<int64_t>(round_shift(mant, msb - 15));
}

int exponent_for(double amax) {
  if (!(amax > 0) || !std::isfinite(amax)) return -15;
  int e = -60;  // the exponent range a q16 sidecar may hold: [-60, 60]
  while (e < 60 && std::ldexp(amax, -e) > static_cast<double>(kQMax)) ++e;
  return e;
}

}  // namespace edgerun::sim::arapq
