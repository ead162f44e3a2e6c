// printf into a std::string: the simulators' text reports are built line by line.
#pragma once
#include <cstdio>
#include <string>

namespace edgerun::sim {

template <typename... A>
void add(std::string& s, const char* fmt, A... a) {
  const int n = std::snprintf(nullptr, 0, fmt, a...);
  std::string buf(static_cast<size_t>(n) + 1, '\0');
  std::snprintf(buf.data(), buf.size(), fmt, a...);
  buf.resize(static_cast<size_t>(n));
  s += buf;
}

}  // namespace edgerun::sim
