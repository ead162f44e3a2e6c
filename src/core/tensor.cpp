// Small Tensor helpers.
#include "core/tensor.h"

#include <sstream>

namespace edgerun {

std::string shape_str(const Shape& s) {
  std::ostringstream os;
  os << '(';
  for (size_t i = 0; i < s.size(); ++i) os << (i ? ", " : "") << s[i];
  if (s.size() == 1) os << ',';
  os << ')';
  return os.str();
}

}  // namespace edgerun
