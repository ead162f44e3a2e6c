// The backend registry (see backend.h).
#include "graph/backend.h"

#include <algorithm>
#include <mutex>

#include "core/error.h"

namespace edgerun {

namespace {
std::mutex& registry_mutex() {
  static std::mutex m;
  return m;
}
std::vector<Backend*>& registry() {
  static std::vector<Backend*> r;
  return r;
}
}  // namespace

void register_backend(Backend* b) {
  ER_CHECK(b != nullptr);
  std::lock_guard<std::mutex> lock(registry_mutex());
  auto& r = registry();
  if (std::find(r.begin(), r.end(), b) == r.end()) r.push_back(b);
}

void unregister_backend(Backend* b) {
  std::lock_guard<std::mutex> lock(registry_mutex());
  auto& r = registry();
  r.erase(std::remove(r.begin(), r.end(), b), r.end());
}

const std::vector<Backend*>& backends() { return registry(); }

Backend* find_backend(const std::string& name) {
  for (Backend* b : registry())
    if (name == b->name()) return b;
  return nullptr;
}

std::vector<Backend*> assign_backends(const Graph& g) {
  std::vector<Backend*> out(g.ops.size(), nullptr);
  for (size_t i = 0; i < g.ops.size(); ++i) {
    const Op& op = g.ops[i];
    std::string why;
    for (Backend* b : registry()) {
      Support s = b->supports(g, op);
      if (s.ok) {
        out[i] = b;
        break;
      }
      why += std::string(why.empty() ? "" : "; ") + b->name() + ": " + s.reason;
    }
    if (!out[i])
      ER_THROW(UnsupportedError, op_kind_name(op.kind), " op '", op.name, "' (", to_string(op_precision(g, op)),
               ") is supported by no backend", registry().empty() ? std::string(" (none registered)") : " (" + why + ")");
  }
  return out;
}

}  // namespace edgerun
