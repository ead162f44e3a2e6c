// The JSON of a Report (Session::report_json, `edgerun run --json`) and the typed view of a
// plan: one place that spells each key.
#pragma once
#include <nlohmann/json.hpp>

#include "edgerun/edgerun.h"
#include "runtime/planner.h"

namespace edgerun {

nlohmann::json report_json_object(const Report& r);
PlanSummary plan_summary(const PlanResult& p);
// Session::plan_json; with the model and budget added, `edgerun plan --json` (edgerun/tasks.h).
nlohmann::json plan_json_object(const PlanSummary& p);

}  // namespace edgerun
