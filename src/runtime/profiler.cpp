// profile_model: cold load timings per layer and per block under a limited, committed budget
// with the executors' reader, compute timings per layer at several token counts (and one held
// out), and the cost-model fits.
#include "runtime/profiler.h"

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "core/error.h"
#include "io/direct_reader.h"
#include "io/page_cache.h"
#include "runtime/baseline.h"
#include "runtime/engine.h"

namespace edgerun {

namespace {
double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}
double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

// A pass input of batch B and T tokens for this model (deterministic ids, zero pixels); for an
// N-D (ONNX) graph, zeros of each input's declared shape with a symbolic batch axis set to B.
struct DummyInput {
  HostArray ids, px;
  std::vector<HostArray> named;
  RunRequest req;
  DummyInput(const ModelInfo& info, const Graph& g, int64_t B, int64_t T) {
    if (g.nd) {
      for (ValueId v : g.nd_inputs) {
        const Value& val = g.values[v];
        Shape d = val.declared;
        for (size_t k = 0; k < d.size(); ++k) {
          if (d[k] >= 0) continue;
          if (k != 0)
            ER_THROW(InputError, "profile: input '", val.name, "' dimension ", k,
                     val.dim_params.size() > k && !val.dim_params[k].empty() ? " ('" + val.dim_params[k] + "')" : "",
                     " is symbolic: the profile runs a model whose only symbolic axis is its batch");
          d[k] = B;
        }
        named.emplace_back(val.dtype, d);
      }
      for (size_t i = 0; i < named.size(); ++i) req.named.emplace_back(g.values[g.nd_inputs[i]].name, &named[i]);
    } else if (info.family == Family::Vit) {
      px = HostArray(DType::F32, {B, info.num_channels, info.image_size, info.image_size});
      req.pixel_values = &px;
    } else {
      ids = HostArray(DType::I64, {B, T});
      for (int64_t i = 0; i < B * T; ++i) ids.as<int64_t>()[i] = (i * 7919 + 3) % info.vocab_size;
      req.input_ids = &ids;
    }
  }
};
}  // namespace

namespace {
// A block of consecutive layers loaded as one sample, and the pages its load takes.
struct Block {
  size_t first = 0;
  int k = 1;
  uint64_t bytes = 0, huge = 0, small = 0;
};

// The pass shapes of the compute samples: those fitted, ascending (the last gives the per-layer
// column), and one between the two largest that is held out to judge the fits.
struct Shapes {
  std::vector<std::pair<int64_t, int64_t>> fit;  // (B, T)
  std::optional<std::pair<int64_t, int64_t>> holdout;
};

Shapes pass_shapes(const ModelInfo& info, const Graph& g) {
  Shapes s;
  if (g.nd) {
    // ONNX graphs: batches of 1, 2 and 4 where the batch axis is symbolic, else the one shape.
    bool symbolic_batch = false;
    for (ValueId v : g.nd_inputs)
      symbolic_batch |= !g.values[v].declared.empty() && g.values[v].declared[0] < 0;
    for (int64_t B : {1, 2, 4})
      if (B == 1 || symbolic_batch) s.fit.emplace_back(B, 0);
    if (symbolic_batch) s.holdout = {3, 0};
  } else if (info.family == Family::Vit) {
    const int64_t T = (info.image_size / info.patch_size) * (info.image_size / info.patch_size) + 1;
    for (int64_t B : {1, 2, 4}) s.fit.emplace_back(B, T);
    s.holdout = {3, T};
  } else {
    for (int64_t T : {8, 32, 128})
      if (T <= info.max_positions) s.fit.emplace_back(1, T);
    if (s.fit.size() == 3) s.holdout = {1, 64};
  }
  return s;
}
}  // namespace

ProfileResult profile_model(const std::string& dir, const ProfileRequest& o) {
  auto say = [&](const std::string& s) {
    if (o.progress) o.progress(s);
  };
  ModelGraph mg = build_model(dir);
  const Graph& g = mg.graph;
  // A limited budget, as the streaming executors run under: read buffers in huge pages (where
  // the kernel has them) and pages committed before the clock starts, as Session::commit_plan
  // does. Its limit leaves room for the whole model resident (the compute passes) and more.
  MemoryBudget budget(2 * g.model_weight_bytes() + (1ull << 30), HugePages::WhenLimited);
  EngineOptions eo;
  eo.threads = o.threads;
  Engine engine(mg, budget, eo);
  ProfileResult r;
  r.model = dir;
  r.key = cost_model_key(mg, engine);
  r.budget_bytes = budget.limit();
  r.huge_pages = budget.huge_pages();
  r.threads = r.key.threads;
  {
    // The executors' reader: direct I/O (io_uring where allowed) at the session's defaults.
    auto files = open_weight_files_direct(mg.weights, o.io_depth, o.io_chunk_bytes, o.io_engine);
    if (!files.empty()) r.io_engine = read_engine(*files.front());
    engine.loader().set_files(std::move(files));
  }
  const size_t n = g.layers.size();
  r.layers.resize(n);
  auto make_cold = [&] {
    if (!o.cold) return;
    for (const std::string& path : mg.weights.paths) edgerun::make_cold(path);
  };

  // Loads: every layer alone, then blocks of 2..k layers; freeing timed as t_out.
  WeightLoader& L = engine.loader();
  std::vector<Block> blocks;
  uint64_t huge_need = 0, small_need = 0;
  for (int k = 1; k <= std::max(1, o.max_block_layers); ++k)
    for (size_t first = 0; first + static_cast<size_t>(k) <= n; first += (k == 1 ? 1 : static_cast<size_t>(k))) {
      Block b{first, k, 0, 0, 0};
      for (int j = 0; j < k; ++j) {
        const auto l = static_cast<int32_t>(first + j);
        const LayerFootprint fp = L.footprint(l);
        b.bytes += g.layer_weight_bytes(l);
        b.huge += fp.huge;
        b.small += fp.peak - fp.huge;
      }
      if (b.bytes == 0) continue;
      huge_need = std::max(huge_need, b.huge);
      small_need = std::max(small_need, b.small);
      blocks.push_back(b);
    }
  {
    const int threads = std::max(1, r.threads);
    if (huge_need) r.committed_bytes += budget.commit(huge_need, PageKind::Huge, threads);
    r.committed_bytes += budget.commit(small_need, PageKind::Small, threads);
  }
  // Rounds over every block, so that the disk's drift spreads over all of them; medians.
  const int rounds = std::max(1, o.repeats);
  std::vector<std::vector<double>> ins(blocks.size()), outs(blocks.size());
  for (int round = 0; round < rounds; ++round) {
    for (size_t b = 0; b < blocks.size(); ++b) {
      const Block& bl = blocks[b];
      make_cold();
      auto t0 = std::chrono::steady_clock::now();
      std::vector<ResidentLayer> res;
      for (int j = 0; j < bl.k; ++j) res.push_back(L.load(static_cast<int32_t>(bl.first + j)));
      ins[b].push_back(ms_since(t0));
      auto t1 = std::chrono::steady_clock::now();
      for (int j = 0; j < bl.k; ++j) L.unbind(static_cast<int32_t>(bl.first + j));
      res.clear();
      outs[b].push_back(ms_since(t1));
    }
    say("load samples: round " + std::to_string(round + 1) + " of " + std::to_string(rounds) + ", " +
        std::to_string(blocks.size()) + " blocks of 1.." + std::to_string(std::max(1, o.max_block_layers)) + " layers");
  }
  for (size_t b = 0; b < blocks.size(); ++b) {
    const Block& bl = blocks[b];
    const double t_in = median(ins[b]), t_out = median(outs[b]);
    r.in_samples.push_back({static_cast<double>(bl.bytes), static_cast<double>(bl.first), t_in});
    r.out_samples.push_back({static_cast<double>(bl.bytes), static_cast<double>(bl.first), t_out});
    if (bl.k == 1) {
      r.layers[bl.first].load_ms = t_in;
      r.layers[bl.first].free_ms = t_out;
    }
  }

  // Compute: resident passes at several token counts (ViT and ONNX: batch sizes).
  const ModelInfo& info = mg.info;
  const Shapes shapes = pass_shapes(info, g);
  std::vector<std::pair<int64_t, int64_t>> runs = shapes.fit;
  if (shapes.holdout) runs.push_back(*shapes.holdout);
  r.cost.layer_compute.assign(n, {});
  std::vector<double> held_predicted, held_measured;
  for (size_t s = 0; s < runs.size(); ++s) {
    const auto [B, T] = runs[s];
    const bool held = s >= shapes.fit.size();
    DummyInput in(info, g, B, T);
    std::vector<std::vector<double>> per_layer(n);
    engine.forward(in.req);  // warm-up (loads the weights once)
    for (int rep = 0; rep < std::max(1, o.repeats); ++rep) {
      engine.forward(in.req);
      for (size_t l = 0; l < n; ++l) per_layer[l].push_back(engine.stats().layer_compute_ms[l]);
    }
    std::vector<double> flops(n), ms(n);
    for (size_t l = 0; l < n; ++l) {
      flops[l] = g.layer_flops(static_cast<int32_t>(l), B, T, 0);
      ms[l] = median(per_layer[l]);
      if (held) continue;
      r.layers[l].flops = flops[l];
      r.layers[l].compute_ms = ms[l];
      r.cost.layer_compute[l].points.emplace_back(flops[l], ms[l]);
    }
    // Samples: blocks of 1..k consecutive weight-bearing layers (embedding gathers and heads
    // with no weights are I/O or bookkeeping, not compute, and are left out of the fit).
    for (int k = 1; k <= std::max(1, o.max_block_layers); ++k)
      for (size_t first = 0; first + static_cast<size_t>(k) <= n; first += static_cast<size_t>(k)) {
        double f = 0, y = 0, predicted = 0;
        bool ok = true;
        for (int j = 0; j < k; ++j) {
          const size_t l = first + static_cast<size_t>(j);
          ok &= g.layer_weight_bytes(static_cast<int32_t>(l)) > 0 && g.layers[l].name != "embeddings";
          f += flops[l];
          y += ms[l];
          if (held) predicted += r.cost.layer_compute[l].predict(flops[l]);
        }
        if (!ok) continue;
        (held ? r.ex_holdout_samples : r.ex_samples).push_back({f, static_cast<double>(first), y});
        if (held) held_predicted.push_back(predicted), held_measured.push_back(y);
      }
    if (!held) r.B = B, r.T = T;
    say(std::string(held ? "held-out compute samples" : "compute samples") + ": B=" + std::to_string(B) +
        (g.nd ? "" : " T=" + std::to_string(T)));
  }
  for (size_t l = 0; l < n; ++l) {
    r.layers[l].name = g.layers[l].name;
    r.layers[l].depth = static_cast<int32_t>(l);
    r.layers[l].bytes = g.layer_weight_bytes(static_cast<int32_t>(l));
    std::sort(r.cost.layer_compute[l].points.begin(), r.cost.layer_compute[l].points.end());
  }

  r.cost.t_in = fit_linear(r.in_samples);
  {
    // t_ex: fitted on the profiled shapes, judged on the held-out one (none: every 4th sample).
    std::vector<const Sample*> fit, hold;
    for (const Sample& s : r.ex_samples) fit.push_back(&s);
    for (const Sample& s : r.ex_holdout_samples) hold.push_back(&s);
    r.cost.t_ex = hold.empty() ? fit_linear(r.ex_samples) : fit_linear(fit, hold);
  }
  r.cost.layers_holdout = judge(held_predicted, held_measured);
  r.cost.t_out = fit_linear(r.out_samples);
  double bytes = 0, ms = 0, flops = 0, cms = 0;
  for (const Sample& s : r.in_samples) bytes += s.x, ms += s.y;
  for (const auto& l : r.layers) flops += l.flops, cms += l.compute_ms;
  r.cost.read_bytes_per_s = ms > 0 ? bytes / (ms / 1e3) : r.cost.read_bytes_per_s;
  r.cost.flops_per_s = cms > 0 ? flops / (cms / 1e3) : r.cost.flops_per_s;
  r.cost.measured = true;
  return r;
}

std::string ProfileResult::to_csv() const {
  std::ostringstream os;
  os << "layer,depth,bytes,flops,load_ms,compute_ms,free_ms\n";
  for (const auto& l : layers)
    os << l.name << ',' << l.depth << ',' << l.bytes << ',' << l.flops << ',' << l.load_ms << ','
       << l.compute_ms << ',' << l.free_ms << '\n';
  return os.str();
}

std::string ProfileResult::to_json() const {
  nlohmann::json ls = nlohmann::json::array();
  for (const auto& l : layers)
    ls.push_back({{"name", l.name}, {"depth", l.depth}, {"bytes", l.bytes}, {"flops", l.flops},
                  {"load_ms", l.load_ms}, {"compute_ms", l.compute_ms}, {"free_ms", l.free_ms}});
  auto samples = [](const std::vector<Sample>& v) {
    nlohmann::json a = nlohmann::json::array();
    for (const Sample& s : v) a.push_back({s.x, s.d, s.y});
    return a;
  };
  nlohmann::json j = {{"model", model}, {"batch", B}, {"tokens", T}, {"layers", ls},
                      {"measured_with", {{"budget_bytes", budget_bytes}, {"huge_pages", huge_pages},
                                         {"committed_bytes", committed_bytes}, {"io_engine", io_engine},
                                         {"threads", threads}, {"backends", key.backends},
                                         {"family", key.family}, {"precision", key.precision}}},
                      {"cost_model", nlohmann::json::parse(cost.to_json())},
                      {"samples", {{"t_in", samples(in_samples)}, {"t_ex", samples(ex_samples)},
                                   {"t_out", samples(out_samples)},
                                   {"t_ex_holdout", samples(ex_holdout_samples)}}}};
  return j.dump(2);
}

}  // namespace edgerun
