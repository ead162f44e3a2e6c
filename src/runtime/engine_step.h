// Engine::Step: the per-pass arguments shared by the engine and its op interpreter (private).
#pragma once
#include <cstdint>

#include "runtime/engine.h"

namespace edgerun {

struct Engine::Step {
  PassShape shape;
  const int64_t* ids = nullptr;    // (B, T)
  const int64_t* tt = nullptr;     // (B, T) or null
  const int64_t* mask = nullptr;   // (B, past + T) or null
  const float* pixels = nullptr;   // (B, C, H, W)
};

// Activation arena granularity: cache-line aligned sub-allocations.
inline uint64_t arena_round(uint64_t n) { return (n + 63) / 64 * 64; }

}  // namespace edgerun
