// ConfigJson: checked getters over a parsed config.json.
#include "models/config.h"

#include "core/error.h"
#include "formats/json_strict.h"
#include "io/file.h"

namespace edgerun {

ConfigJson ConfigJson::load(const std::string& path) {
  std::string text = read_text_file(path, 16ull << 20);
  nlohmann::json j = parse_json_strict(text, path, "config");
  if (!j.is_object()) ER_THROW(FormatError, path, ": top level is not a JSON object");
  return ConfigJson(path, std::move(j));
}

int64_t ConfigJson::get_int(const char* key) const {
  if (!has(key)) ER_THROW(FormatError, path_, ": missing key \"", key, "\"");
  const auto& v = j_[key];
  if (!v.is_number_integer()) ER_THROW(FormatError, path_, ": \"", key, "\" is not an integer");
  return v.get<int64_t>();
}

int64_t ConfigJson::get_int(const char* key, int64_t dflt) const {
  return has(key) ? get_int(key) : dflt;
}

int64_t ConfigJson::get_size(const char* key, int64_t max) const {
  int64_t v = get_int(key);
  if (v < 1 || v > max)
    ER_THROW(FormatError, path_, ": \"", key, "\" = ", v, " is outside [1, ", max, "]");
  return v;
}

int64_t ConfigJson::get_size(const char* key, int64_t dflt, int64_t max) const {
  return has(key) ? get_size(key, max) : dflt;
}

double ConfigJson::get_float(const char* key, double dflt) const {
  if (!has(key)) return dflt;
  const auto& v = j_[key];
  if (!v.is_number()) ER_THROW(FormatError, path_, ": \"", key, "\" is not a number");
  return v.get<double>();
}

bool ConfigJson::get_bool(const char* key, bool dflt) const {
  if (!has(key)) return dflt;
  const auto& v = j_[key];
  if (!v.is_boolean()) ER_THROW(FormatError, path_, ": \"", key, "\" is not true/false");
  return v.get<bool>();
}

std::string ConfigJson::get_string(const char* key) const {
  if (!has(key)) ER_THROW(FormatError, path_, ": missing key \"", key, "\"");
  const auto& v = j_[key];
  if (!v.is_string()) ER_THROW(FormatError, path_, ": \"", key, "\" is not a string");
  return v.get<std::string>();
}

std::string ConfigJson::get_string(const char* key, const std::string& dflt) const {
  return has(key) ? get_string(key) : dflt;
}

std::map<int64_t, std::string> ConfigJson::get_id2label() const {
  std::map<int64_t, std::string> out;
  if (!has("id2label")) return out;
  const auto& m = j_["id2label"];
  if (!m.is_object()) ER_THROW(FormatError, path_, ": \"id2label\" is not an object");
  for (auto it = m.begin(); it != m.end(); ++it) {
    int64_t id = 0;
    try {
      size_t used = 0;
      id = std::stoll(it.key(), &used);
      if (used != it.key().size()) throw std::invalid_argument("trailing");
    } catch (const std::exception&) {
      ER_THROW(FormatError, path_, ": id2label key \"", it.key(), "\" is not an integer");
    }
    if (!it.value().is_string())
      ER_THROW(FormatError, path_, ": id2label[", it.key(), "] is not a string");
    out[id] = it.value().get<std::string>();
  }
  return out;
}

}  // namespace edgerun
