// The serve config file (YAML, docs/SERVE.md "Config") and workload files, read with yaml-cpp.
// Every key is checked: an unknown one (a typo) is an error naming it and its line.
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <set>

#include "edgerun/format.h"
#include "edgerun/serve.h"
#include "serve/yaml_util.h"

namespace edgerun {

namespace {
ModelSpec read_model(const Yaml& y, const std::filesystem::path& dir) {
  y.keys({"name", "path", "quota", "weight", "priority", "deadline_ms", "max_queue", "max_batch", "threads",
          "executor", "attention", "precision", "tokens"});
  ModelSpec m;
  m.name = y.req("name").str();
  const std::string path = y.req("path").str();
  m.path = std::filesystem::path(path).is_absolute() ? path : (dir / path).string();
  if (!std::filesystem::exists(m.path))
    y.req("path").fail("model '" + m.name + "': " + m.path + " does not exist");
  if (auto q = y.opt("quota")) m.quota_bytes = q->bytes();
  if (auto w = y.opt("weight")) m.weight = w->number(1e-6, 1e6);
  if (auto p = y.opt("priority")) m.priority = static_cast<int>(p->integer(-1000, 1000));
  if (auto d = y.opt("deadline_ms")) m.deadline_ms = d->number(0, 3.6e6);
  if (auto q = y.opt("max_queue")) m.max_queue = static_cast<int>(q->integer(1, 4096));
  if (auto b = y.opt("max_batch")) m.max_batch = static_cast<int>(b->integer(1, 256));
  if (auto t = y.opt("threads")) m.threads = static_cast<int>(t->integer(0, 1024));
  if (auto t = y.opt("tokens")) m.tokens = t->integer(1, 1 << 20);
  if (auto e = y.opt("executor")) m.executor = e->parsed(parse_executor);
  if (auto a = y.opt("attention")) m.attention = a->parsed(parse_attn_variant);
  if (auto p = y.opt("precision")) m.precision = p->parsed(parse_precision);
  if (m.quota_bytes && y.opt("weight")) y.req("weight").fail("model '" + m.name + "': give a quota or a weight, not both");
  return m;
}
}  // namespace

ServeConfig load_serve_config(const std::string& path) {
  const Yaml root = Yaml::load(path);
  root.keys({"budget", "policy", "reject_predicted_misses", "listen", "trace", "huge_pages", "commit_budget",
             "direct_io", "server", "models"});
  ServeConfig c;
  c.path = path;
  const std::filesystem::path dir = std::filesystem::path(path).parent_path();
  if (auto b = root.opt("budget")) c.scheduler.budget_bytes = b->bytes();
  if (auto p = root.opt("policy")) c.scheduler.policy = p->parsed(parse_policy);
  if (auto r = root.opt("reject_predicted_misses")) c.scheduler.reject_predicted_misses = r->boolean();
  if (auto h = root.opt("huge_pages")) c.scheduler.huge_pages = h->boolean();
  if (auto h = root.opt("commit_budget")) c.scheduler.commit_budget = h->boolean();
  if (auto h = root.opt("direct_io")) c.scheduler.direct_io = h->boolean();
  if (auto l = root.opt("listen")) c.listen = l->str();
  if (auto t = root.opt("trace")) c.scheduler.trace_path = t->str();
  if (auto s = root.opt("server")) {
    s->keys({"max_body", "threads", "queue", "read_timeout_s", "write_timeout_s", "keep_alive_s", "keep_alive_max"});
    if (auto v = s->opt("max_body")) c.limits.max_body_bytes = v->bytes();
    if (auto v = s->opt("threads")) c.limits.threads = static_cast<int>(v->integer(1, 256));
    if (auto v = s->opt("queue")) c.limits.queue = static_cast<int>(v->integer(1, 4096));
    if (auto v = s->opt("read_timeout_s")) c.limits.read_timeout_s = static_cast<int>(v->integer(1, 3600));
    if (auto v = s->opt("write_timeout_s")) c.limits.write_timeout_s = static_cast<int>(v->integer(1, 3600));
    if (auto v = s->opt("keep_alive_s")) c.limits.keep_alive_s = static_cast<int>(v->integer(1, 3600));
    if (auto v = s->opt("keep_alive_max")) c.limits.keep_alive_max = static_cast<int>(v->integer(1, 1 << 20));
  }
  const Yaml models = root.req("models");
  if (models.size() == 0) models.fail("needs at least one model");
  std::set<std::string> names;
  for (size_t i = 0; i < models.size(); ++i) {
    const Yaml y = models.at(i);
    ModelSpec m = read_model(y, dir);
    if (!names.insert(m.name).second) y.req("name").fail("model name '" + m.name + "' is given twice");
    c.models.push_back(std::move(m));
  }
  return c;
}

uint64_t allowance_bytes(const ServeConfig& c) {
  int64_t admitted = 0;
  for (const ModelSpec& m : c.models) admitted += m.max_queue + m.max_batch;
  // A body being read and its decoded tensors per connection thread; per admitted request its
  // tensors and its response (tensors and the body made from them, bounded like a request).
  return c.limits.max_body_bytes * 2 * static_cast<uint64_t>(c.limits.threads) +
         c.limits.max_body_bytes * 2 * static_cast<uint64_t>(admitted);
}

Workload load_workload(const std::string& path) {
  const Yaml root = Yaml::load(path);
  root.keys({"config", "streams"});
  Workload w;
  w.path = path;
  const std::filesystem::path dir = std::filesystem::path(path).parent_path();
  const std::string cfg = root.req("config").str();
  w.config = std::filesystem::path(cfg).is_absolute() ? cfg : (dir / cfg).string();
  const Yaml streams = root.req("streams");
  if (streams.size() == 0) streams.fail("needs at least one stream");
  for (size_t i = 0; i < streams.size(); ++i) {
    const Yaml y = streams.at(i);
    y.keys({"model", "input", "arrival", "rate", "count", "start_ms", "seed", "times_ms", "deadline_ms"});
    WorkloadStream s;
    s.model = y.req("model").str();
    if (auto in = y.opt("input")) {
      const std::string p = in->str();
      s.input = std::filesystem::path(p).is_absolute() ? p : (dir / p).string();
    }
    if (auto a = y.opt("arrival")) s.arrival = a->str();
    if (s.arrival != "periodic" && s.arrival != "poisson" && s.arrival != "list")
      y.req("arrival").fail("arrival must be periodic, poisson or list, not '" + s.arrival + "'");
    if (auto r = y.opt("rate")) s.rate_per_s = r->number(1e-3, 1e5);
    if (auto n = y.opt("count")) s.count = n->integer(1, 1 << 24);
    if (auto t = y.opt("start_ms")) s.start_ms = t->number(0, 3.6e6);
    if (auto d = y.opt("seed")) s.seed = static_cast<uint64_t>(d->integer(0, INT64_MAX));
    if (auto d = y.opt("deadline_ms")) s.deadline_ms = d->number(0, 3.6e6);
    if (auto t = y.opt("times_ms")) {
      for (size_t k = 0; k < t->size(); ++k) s.times_ms.push_back(t->at(k).number(0, 3.6e6));
      s.count = static_cast<int64_t>(s.times_ms.size());
    }
    if (s.arrival == "list" && s.times_ms.empty()) y.fail("an arrival list needs times_ms");
    w.streams.push_back(std::move(s));
  }
  return w;
}

}  // namespace edgerun
