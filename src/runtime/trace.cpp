// Chrome trace event output: one "X" event per span on a thread track named after its agent,
// and a "C" counter event for budget memory in use at the end of each span.
#include "runtime/trace.h"

#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/memory_budget.h"

namespace edgerun {

void Trace::span(const std::string& track, const std::string& name, double t0_us, double t1_us) {
  if (parent_) return parent_->span(prefix_ + track, name, t0_us, t1_us);
  uint64_t mem = budget_ ? budget_->in_use() : 0;
  std::lock_guard<std::mutex> lk(mu_);
  events_.push_back({track, name, t0_us, t1_us, mem});
}

size_t Trace::size() const {
  std::lock_guard<std::mutex> lk(mu_);
  return events_.size();
}

void Trace::write(const std::string& path) const {
  if (parent_) return parent_->write(path);
  std::lock_guard<std::mutex> lk(mu_);
  nlohmann::json ev = nlohmann::json::array();
  std::map<std::string, int> tids;
  for (const Event& e : events_) tids.emplace(e.track, 0);
  int next = 1;
  for (auto& [track, tid] : tids) {
    tid = next++;
    ev.push_back({{"name", "thread_name"}, {"ph", "M"}, {"pid", 1}, {"tid", tid},
                  {"args", {{"name", track}}}});
  }
  for (const Event& e : events_) {
    ev.push_back({{"name", e.name}, {"ph", "X"}, {"pid", 1}, {"tid", tids[e.track]},
                  {"ts", e.t0}, {"dur", e.t1 - e.t0}});
    ev.push_back({{"name", "budget in use (MiB)"}, {"ph", "C"}, {"pid", 1}, {"ts", e.t1},
                  {"args", {{"MiB", static_cast<double>(e.mem) / 1048576.0}}}});
  }
  nlohmann::json j = {{"traceEvents", ev}, {"displayTimeUnit", "ms"}};
  std::string text = j.dump();
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) ER_THROW(IoError, path, ": cannot write trace");
  bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  ok &= std::fclose(f) == 0;
  if (!ok) ER_THROW(IoError, path, ": write failed");
}

}  // namespace edgerun
