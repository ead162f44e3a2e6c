// The storage bandwidth `edgerun iobench` measured, recorded per device so that runs can plan
// with it and report their physical bound against it (DESIGN.md: max(S/B, C) + fill, B from
// iobench) instead of the cost model's default. One small JSON file,
// $EDGERUN_CACHE_DIR/iobench.json (else $XDG_CACHE_HOME/edgerun, else ~/.cache/edgerun), keyed by
// the device (st_dev) that holds the file measured.
#pragma once
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "edgerun/iobench.h"

namespace edgerun {

struct RecordedBandwidth {
  double read_bytes_per_s = 0;
  std::string measured_at;  // UTC, ISO 8601
  std::string file;         // the file iobench read
};

// What iobench last recorded for the device holding `file`; nullopt when nothing was (or the
// record cannot be read: it is a cache, never an error).
std::optional<RecordedBandwidth> recorded_bandwidth(const std::string& file);
// bandwidth_record_path, record_bandwidth: edgerun/iobench.h.

// Shared with the other records kept beside this one (runtime/cost_model_record.h):
// The folder that holds the records; empty when no cache folder is known.
std::string record_dir();
// The device that holds `file`, as "major:minor"; nullopt when it cannot be stat'ed.
std::optional<std::string> device_key(const std::string& file);
// The time now, UTC, ISO 8601.
std::string utc_now();
// A record file's JSON when it is an object with an object "devices", else an empty object.
nlohmann::json read_record(const std::string& path);
// Writes `j` to `path` through a temporary file and a rename; false when it cannot.
bool write_record(const std::string& path, const nlohmann::json& j);

}  // namespace edgerun
