// Implemented in src/core/
//
// The error types every edgerun call may throw (DESIGN.md "Style": three tiers). Bad input and
// I/O failures carry their context (file, tensor, offset) in what(); InternalError is a bug in
// edgerun. The CLI maps each type to an exit code (README "Exit codes").
#pragma once
#include <stdexcept>

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

}  // namespace edgerun
