// Engine::Step: the per-pass arguments shared by the engine and its op interpreter (private).
#pragma once
#include <cstdint>

#include "runtime/engine.h"

namespace edgerun {

struct Engine::Step {
  int64_t B = 0, T = 0, past = 0;  // sequences, new tokens, tokens already in the KV cache
  bool last_only = false;          // compute TokensOrLast values for the last token only
  const int64_t* ids = nullptr;    // (B, T)
  const int64_t* tt = nullptr;     // (B, T) or null
  const int64_t* mask = nullptr;   // (B, past + T) or null
  const float* pixels = nullptr;   // (B, C, H, W)
};

}  // namespace edgerun
