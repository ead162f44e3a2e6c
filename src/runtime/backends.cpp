#include "runtime/backends.h"

#include <mutex>

#include "graph/backend.h"
#include "kernels/cpu/cpu_backend.h"

namespace edgerun {

void register_builtin_backends() {
  static std::once_flag once;
  std::call_once(once, [] { register_backend(&kernels::cpu_backend()); });
}

}  // namespace edgerun
