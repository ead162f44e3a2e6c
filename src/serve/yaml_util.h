// A checked view of a yaml-cpp node for config files: typed reads with ranges, required and
// optional keys, a closed set of allowed keys, and errors (InputError: a config is the user's
// input) that name the file, the line and the key path.
#pragma once
#include <yaml-cpp/yaml.h>

#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>

#include "edgerun/errors.h"
#include "edgerun/format.h"

namespace edgerun {

class Yaml {
 public:
  static Yaml load(const std::string& path) {
    try {
      return Yaml(YAML::LoadFile(path), std::make_shared<const std::string>(path), "");
    } catch (const YAML::BadFile&) {
      throw InputError(path + ": cannot read the file");
    } catch (const YAML::Exception& e) {
      throw InputError(path + ":" + std::to_string(e.mark.line + 1) + ": malformed YAML: " + e.msg);
    }
  }

  [[noreturn]] void fail(const std::string& msg) const {
    const YAML::Mark m = n_.Mark();
    std::string at = *path_;
    if (m.line >= 0) at += ":" + std::to_string(m.line + 1);
    throw InputError(at + ": " + (where_.empty() ? "" : where_ + ": ") + msg);
  }

  // Must be a map whose keys are all in `allowed`.
  void keys(std::initializer_list<const char*> allowed) const {
    if (!n_.IsMap()) fail("must be a mapping of keys to values");
    for (const auto& kv : n_) {
      const std::string k = kv.first.Scalar();
      bool ok = false;
      std::string names;
      for (const char* a : allowed) {
        ok |= k == a;
        names += (names.empty() ? "" : ", ") + std::string(a);
      }
      if (!ok) Yaml(kv.first, path_, where_).fail("unknown key '" + k + "' (the keys: " + names + ")");
    }
  }
  std::optional<Yaml> opt(const char* key) const {
    if (!n_.IsMap()) fail("must be a mapping of keys to values");
    YAML::Node c = n_[key];
    if (!c.IsDefined() || c.IsNull()) return std::nullopt;
    return Yaml(c, path_, where_.empty() ? key : where_ + "." + key);
  }
  Yaml req(const char* key) const {
    auto c = opt(key);
    if (!c) fail(std::string("needs '") + key + "'");
    return *c;
  }
  size_t size() const {
    if (!n_.IsSequence()) fail("must be a list");
    return n_.size();
  }
  Yaml at(size_t i) const { return Yaml(n_[i], path_, where_ + "[" + std::to_string(i) + "]"); }

  std::string str() const {
    if (!n_.IsScalar()) fail("must be a single value");
    return n_.Scalar();
  }
  double number(double lo, double hi) const {
    const std::string s = str();
    size_t used = 0;
    double v = 0;
    try {
      v = std::stod(s, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != s.size() || !std::isfinite(v)) fail("'" + s + "' is not a number");
    if (v < lo || v > hi) fail(s + " is outside [" + trim(lo) + ", " + trim(hi) + "]");
    return v;
  }
  int64_t integer(int64_t lo, int64_t hi) const {
    const std::string s = str();
    size_t used = 0;
    long long v = 0;
    try {
      v = std::stoll(s, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != s.size()) fail("'" + s + "' is not an integer");
    if (v < lo || v > hi) fail(s + " is outside [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
    return v;
  }
  bool boolean() const {
    const std::string s = str();
    if (s == "true" || s == "yes" || s == "on") return true;
    if (s == "false" || s == "no" || s == "off") return false;
    fail("'" + s + "' is not true or false");
  }
  // f(str()), its InputError given this node's place.
  template <typename F>
  auto parsed(F f) const -> decltype(f(std::string())) {
    try {
      return f(str());
    } catch (const InputError& e) {
      fail(e.what());
    }
  }
  uint64_t bytes() const { return parsed([](const std::string& s) { return parse_bytes(s); }); }

 private:
  Yaml(YAML::Node n, std::shared_ptr<const std::string> path, std::string where)
      : n_(std::move(n)), path_(std::move(path)), where_(std::move(where)) {}
  static std::string trim(double v) {
    std::string s = std::to_string(v);
    s.erase(s.find_last_not_of('0') + 1);
    if (!s.empty() && s.back() == '.') s.pop_back();
    return s;
  }
  YAML::Node n_;
  std::shared_ptr<const std::string> path_;
  std::string where_;
};

}  // namespace edgerun
