// Error types of edgerun: three tiers (DESIGN.md "Style").
// Invariant checks (ER_CHECK) throw InternalError; bad input and I/O throw typed errors carrying
// context (file, tensor, offset); the CLI maps them to a message and an exit code.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace edgerun {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};
// A model file or folder is malformed or inconsistent (untrusted input).
class FormatError : public Error { using Error::Error; };
// A read/open/write failed at the OS level.
class IoError : public Error { using Error::Error; };
// A user-supplied input (image, ids, text, option) is invalid.
class InputError : public Error { using Error::Error; };
// The model uses something edgerun does not implement (dtype, variant, model_type).
class UnsupportedError : public Error { using Error::Error; };
// A memory request cannot be satisfied inside the budget.
class BudgetError : public Error { using Error::Error; };
// A broken invariant: a bug in edgerun, never the user's fault.
class InternalError : public Error { using Error::Error; };

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
