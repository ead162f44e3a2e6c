// Typed access to a Hugging Face config.json (untrusted): every getter names the file and key
// when a value is missing or has the wrong type.
#pragma once
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace edgerun {

class ConfigJson {
 public:
  // Reads and parses `path`; FormatError on malformed JSON or a non-object top level.
  static ConfigJson load(const std::string& path);
  ConfigJson(std::string path, nlohmann::json j) : path_(std::move(path)), j_(std::move(j)) {}

  const std::string& path() const { return path_; }
  bool has(const char* key) const { return j_.contains(key) && !j_[key].is_null(); }
  int64_t get_int(const char* key) const;
  int64_t get_int(const char* key, int64_t dflt) const;
  // Positive integer in [1, max]: sizes from a stranger's file bound what we allocate.
  int64_t get_size(const char* key, int64_t max = int64_t{1} << 24) const;
  int64_t get_size(const char* key, int64_t dflt, int64_t max) const;
  double get_float(const char* key, double dflt) const;
  bool get_bool(const char* key, bool dflt) const;
  std::string get_string(const char* key) const;
  std::string get_string(const char* key, const std::string& dflt) const;
  std::map<int64_t, std::string> get_id2label() const;  // empty when absent
  const nlohmann::json& json() const { return j_; }

 private:
  std::string path_;
  nlohmann::json j_;
};

}  // namespace edgerun
