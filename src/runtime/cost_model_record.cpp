// Per-device, per-model record of fitted cost models (see cost_model_record.h).
#include "runtime/cost_model_record.h"

#include <filesystem>
#include <map>

#include "core/error.h"
#include "graph/backend.h"
#include "io/bandwidth_record.h"
#include "kernels/cpu/kernels.h"
#include "models/model.h"
#include "runtime/engine.h"

namespace edgerun {

std::string CostModelKey::id() const {
  return weights + "|" + family + "|" + precision + "|" + attention + "|" + backends + "|threads=" +
         std::to_string(threads);
}

CostModelKey cost_model_key(const ModelGraph& mg, const Engine& engine) {
  CostModelKey k;
  std::error_code ec;
  if (!mg.weights.paths.empty()) k.weights = std::filesystem::absolute(mg.weights.paths.front(), ec).string();
  k.family = family_name(mg.info.family);
  k.precision = to_string(mg.info.precision);
  k.attention = to_string(mg.info.attention);
  std::map<std::string, int> ops;
  for (const Backend* b : engine.op_backends())
    if (b) ++ops[b->name()];
  for (const auto& [name, n] : ops) k.backends += (k.backends.empty() ? "" : ",") + name + ":" + std::to_string(n);
  k.threads = kernels::get_blas_threads();
  return k;
}

std::string cost_model_record_path() {
  const std::string d = record_dir();
  return d.empty() ? "" : d + "/cost_models.json";
}

bool record_cost_model(const CostModelKey& key, const CostModel& m) {
  const std::string path = cost_model_record_path();
  const auto dev = device_key(key.weights);
  if (path.empty() || !dev) return false;
  nlohmann::json j = read_record(path);
  if (!j.contains("devices")) j["devices"] = nlohmann::json::object();
  nlohmann::json& d = j["devices"][*dev];
  if (!d.is_object()) d = nlohmann::json::object();
  d[key.id()] = {{"measured_at", utc_now()}, {"weights", key.weights}, {"family", key.family},
                 {"precision", key.precision}, {"attention", key.attention}, {"backends", key.backends},
                 {"threads", key.threads}, {"cost_model", nlohmann::json::parse(m.to_json())}};
  return write_record(path, j);
}

std::optional<RecordedCostModel> recorded_cost_model(const CostModelKey& key) {
  const std::string path = cost_model_record_path();
  const auto dev = device_key(key.weights);
  if (path.empty() || !dev) return std::nullopt;
  const nlohmann::json j = read_record(path);
  if (!j.contains("devices") || !j["devices"].contains(*dev)) return std::nullopt;
  const nlohmann::json& d = j["devices"][*dev];
  if (!d.is_object() || !d.contains(key.id())) return std::nullopt;
  const nlohmann::json& e = d[key.id()];
  if (!e.is_object() || !e.contains("cost_model")) return std::nullopt;
  try {
    RecordedCostModel r;
    r.model = CostModel::from_json(e["cost_model"].dump(), path);
    if (!r.model.measured || !(r.model.read_bytes_per_s > 0) || !(r.model.flops_per_s > 0)) return std::nullopt;
    if (e.contains("measured_at") && e["measured_at"].is_string()) r.measured_at = e["measured_at"].get<std::string>();
    return r;
  } catch (const Error&) {
    return std::nullopt;  // a cache: a record that is not a cost model is as good as none
  }
}

}  // namespace edgerun
