// The q16 arithmetic of the ARAP simulator: the DESIGN.md "Numerics" contract (docs/q16.md)
// written out a second time, independently of src/kernels/cpu/q16*, so that a test comparing
// the two checks the contract rather than one piece of code against itself.
// Values are int16 k in [-32767, 32767] meaning k * 2^e; sums are exact; every rescale rounds
// half away from zero, then saturates. Leaves out: everything the ARAP datapath does not do.
#pragma once
#include <cstdint>

namespace edgerun::sim::arapq {

__extension__ typedef __int128 i128;

constexpr int64_t kQMax = 32767;
constexpr int kProbExp = -15;  // shiftmax probabilities: k * 2^-15 (1.0 saturates to 32767)

// x * 2^-s, rounded half away from zero when s > 0 (the only rounding rule); exact when s <= 0.
// Defined for |x| < 2^100 and s >= -27 (callers' values are far smaller).
i128 round_shift(i128 x, int s);
// Clamp onto [-32767, 32767].
int16_t sat16(i128 x);
// The rescale: round_shift then sat16.
inline int16_t requant16(i128 x, int s) { return sat16(round_shift(x, s)); }

// A positive constant c as mult * 2^-shift with mult in [2^30, 2^31): mult = c * 2^shift rounded
// half away from zero (bumped to the next octave when that rounding reaches 2^31).
struct FixedMult {
  int64_t mult = 0;
  int shift = 0;
};
FixedMult fixed_mult(double c);

// fp32 -> int16 on exponent e: v * 2^-e (exact in double) rounded half away, saturated; NaN -> 0.
int16_t quantize16(float v, int e);
// A Linear bias onto the accumulator's exponent e: round half away of b * 2^-e, clamped to
// +-2^62 so that a hostile file cannot overflow; NaN -> 0.
int64_t bias_to_acc(float b, int e);

// Shiftmax pieces, all on Q.15 fixed point (x * 2^-15):
// 2^(d 2^-15) for d <= 0, as (1 + fraction) shifted right by the integer part, rounded half
// away: a shifter and an adder, no exponential unit.
int64_t pow2_q15(int64_t d);
// log2(x 2^-15) for x >= 1 by Mitchell's rule: the leading-one position is the integer part and
// the bits below it, read as a fraction, the fractional part (rounded half away onto Q.15).
int64_t log2_q15(int64_t x);

// Smallest exponent e with amax * 2^-e <= 32767 (amax not positive or not finite: -15).
int exponent_for(double amax);

}  // namespace edgerun::sim::arapq
