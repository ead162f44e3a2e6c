// The backends this build has, registered with graph's registry (graph/backend.h) explicitly:
// the CPU backend (the reference) today; oneDNN and CUDA register here when built.
#pragma once

namespace edgerun {

// Registers every built-in backend once; safe to call from any thread, any number of times.
void register_builtin_backends();

}  // namespace edgerun
