// The q16 number format's limits (docs/q16.md): value = int16 * 2^e with the exponents a
// calibration sidecar may hold. The arithmetic on it is the CPU backend's (kernels/cpu/q16.h);
// the limits live here because models reads and checks sidecars without running kernels.
#pragma once

namespace edgerun::q16 {

constexpr int kMinExp = -60, kMaxExp = 60;  // exponents a sidecar may hold

}  // namespace edgerun::q16
