#include "runtime/backends.h"

#include <mutex>

#include "graph/backend.h"
#include "kernels/cpu/cpu_backend.h"
#ifdef EDGERUN_HAVE_DNNL
#include "kernels/onednn/onednn_backend.h"
#endif

namespace edgerun {

void register_builtin_backends() {
  static std::once_flag once;
  std::call_once(once, [] {
    // In order of preference: oneDNN's Conv, ConvTranspose and pools first, the CPU backend for
    // everything (and for what oneDNN refuses).
#ifdef EDGERUN_HAVE_DNNL
    register_backend(&onednn::onednn_backend());
#endif
    register_backend(&kernels::cpu_backend());
  });
}

}  // namespace edgerun
