// The cost models `edgerun profile` fitted, recorded beside iobench's bandwidth record
// (cost_models.json in the same cache folder: $EDGERUN_CACHE_DIR, else $XDG_CACHE_HOME/edgerun,
// else ~/.cache/edgerun) so that sessions plan with them without being given a file. Keyed by
// the device that holds the model's weights (st_dev, as the bandwidth record) and by what the
// times depend on: the model (its weight file), precision, attention, the backends that run its
// ops and the compute threads. A cache, never an error: an unreadable record is ignored.
#pragma once
#include <optional>
#include <string>

#include "runtime/cost_model.h"

namespace edgerun {

class Engine;
struct ModelGraph;

// What a recorded cost model was measured for.
struct CostModelKey {
  std::string weights;   // the model's first weight file, absolute (also names the device)
  std::string family, precision, attention;
  std::string backends;  // ops per backend, e.g. "cpu:40,onednn:12"
  int threads = 0;       // compute threads
  std::string id() const;  // the record's key within its device
};

// The key of a model built as `mg` and run by `engine` (its backends, the BLAS thread count).
CostModelKey cost_model_key(const ModelGraph& mg, const Engine& engine);

struct RecordedCostModel {
  CostModel model;
  std::string measured_at;  // UTC, ISO 8601
};

std::string cost_model_record_path();
// Replaces the record for `key` (atomically, as iobench's); false when it cannot be written.
bool record_cost_model(const CostModelKey& key, const CostModel& m);
// The record for `key`; nullopt when there is none or it cannot be read as a cost model.
std::optional<RecordedCostModel> recorded_cost_model(const CostModelKey& key);

}  // namespace edgerun
