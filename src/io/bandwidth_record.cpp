// Per-device record of iobench's result (see bandwidth_record.h).
#include "io/bandwidth_record.h"

#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace edgerun {

std::optional<std::string> device_key(const std::string& file) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) return std::nullopt;
  return std::to_string(major(st.st_dev)) + ":" + std::to_string(minor(st.st_dev));
}

nlohmann::json read_record(const std::string& path) {
  std::ifstream f(path);
  if (!f) return nlohmann::json::object();
  std::stringstream ss;
  ss << f.rdbuf();
  nlohmann::json j = nlohmann::json::parse(ss.str(), nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("devices") || !j["devices"].is_object()) return nlohmann::json::object();
  return j;
}

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string record_dir() {
  if (const char* d = std::getenv("EDGERUN_CACHE_DIR"); d && *d) return d;
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return std::string(x) + "/edgerun";
  if (const char* h = std::getenv("HOME"); h && *h) return std::string(h) + "/.cache/edgerun";
  return "";
}

bool write_record(const std::string& path, const nlohmann::json& j) {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream f(tmp, std::ios::trunc);
    if (!(f << j.dump(2) << "\n")) {
      std::filesystem::remove(tmp, ec);
      return false;
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::filesystem::remove(tmp, ec);
    return false;
  }
  return true;
}

std::string bandwidth_record_path() {
  const std::string d = record_dir();
  return d.empty() ? "" : d + "/iobench.json";
}

std::optional<RecordedBandwidth> recorded_bandwidth(const std::string& file) {
  const std::string path = bandwidth_record_path();
  const auto key = device_key(file);
  if (path.empty() || !key) return std::nullopt;
  const nlohmann::json j = read_record(path);
  if (!j.contains("devices") || !j["devices"].contains(*key)) return std::nullopt;
  const nlohmann::json& e = j["devices"][*key];
  if (!e.is_object() || !e.contains("read_bytes_per_s") || !e["read_bytes_per_s"].is_number()) return std::nullopt;
  RecordedBandwidth r;
  r.read_bytes_per_s = e["read_bytes_per_s"].get<double>();
  if (!(r.read_bytes_per_s > 0) || r.read_bytes_per_s > 1e12) return std::nullopt;  // not a measurement
  if (e.contains("measured_at") && e["measured_at"].is_string()) r.measured_at = e["measured_at"].get<std::string>();
  if (e.contains("file") && e["file"].is_string()) r.file = e["file"].get<std::string>();
  return r;
}

bool record_bandwidth(const std::string& file, double read_bytes_per_s) {
  const std::string path = bandwidth_record_path();
  const auto key = device_key(file);
  if (path.empty() || !key || !(read_bytes_per_s > 0)) return false;
  std::error_code ec;
  nlohmann::json j = read_record(path);
  if (!j.contains("devices")) j["devices"] = nlohmann::json::object();
  j["devices"][*key] = {{"read_bytes_per_s", read_bytes_per_s},
                        {"measured_at", utc_now()},
                        {"file", std::filesystem::absolute(file, ec).string()}};
  return write_record(path, j);
}

}  // namespace edgerun
