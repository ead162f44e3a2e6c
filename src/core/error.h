// The macros that throw edgerun's errors (edgerun/errors.h): ER_CHECK for invariants (InternalError),
// ER_THROW for a typed error with streamed context.
#pragma once
#include <sstream>
#include <string>

#include "edgerun/errors.h"

namespace edgerun {

namespace detail {
template <typename... Args>
std::string cat(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}
}  // namespace detail

}  // namespace edgerun

// Always-on invariant check (not compiled out in Release).
#define ER_CHECK(cond, ...)                                                                  \
  do {                                                                                       \
    if (!(cond))                                                                             \
      throw ::edgerun::InternalError(::edgerun::detail::cat(__FILE__, ":", __LINE__,         \
                                                            ": check failed: " #cond " ",    \
                                                            ##__VA_ARGS__));                 \
  } while (0)

// Throw a typed error with streamed context: ER_THROW(FormatError, path, ": bad header").
#define ER_THROW(Type, ...) throw ::edgerun::Type(::edgerun::detail::cat(__VA_ARGS__))
