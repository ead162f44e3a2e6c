// The engine-backed model tools of edgerun/tools.h: profile (over runtime/profiler.h) and
// convert (q16 calibration from runtime/convert.h, folders written by models/quantize.h).
#include "edgerun/tools.h"

#include <filesystem>
#include <memory>

#include "core/error.h"
#include "edgerun/preprocess.h"
#include "edgerun/tasks.h"
#include "models/model.h"
#include "runtime/convert.h"
#include "runtime/cost_model_record.h"
#include "runtime/engine.h"
#include "runtime/profiler.h"

namespace edgerun {

namespace {
CostFit fit_of(const LinearFit& f) { return {f.coef, f.r2, f.mape_holdout, f.n_fit, f.n_holdout}; }
}  // namespace

ProfileReport profile(const std::string& model_dir, const ProfileRequest& req) {
  const ProfileResult r = profile_model(model_dir, req);
  ProfileReport out;
  for (const LayerProfile& l : r.layers) out.layers.push_back({l.name, l.bytes, l.flops, l.load_ms, l.compute_ms});
  out.t_in = fit_of(r.cost.t_in);
  out.t_ex = fit_of(r.cost.t_ex);
  out.t_out = fit_of(r.cost.t_out);
  out.t_ex_layers.r2 = r.cost.layers_holdout.r2;
  out.t_ex_layers.mape_holdout = r.cost.layers_holdout.mape;
  out.t_ex_layers.n_holdout = r.cost.layers_holdout.n;
  out.read_bytes_per_s = r.cost.read_bytes_per_s;
  out.flops_per_s = r.cost.flops_per_s;
  out.budget_bytes = r.budget_bytes;
  out.committed_bytes = r.committed_bytes;
  out.huge_pages = r.huge_pages;
  out.io_engine = r.io_engine;
  out.backends = r.key.backends;
  out.threads = r.threads;
  if (req.record && record_cost_model(r.key, r.cost)) out.recorded_in = cost_model_record_path();
  out.csv = r.to_csv();
  out.json = r.to_json();
  out.cost_model_json = r.cost.to_json();
  return out;
}

void bind_onnx_shapes(ModelGraph& mg, const std::vector<std::string>& input_shapes) {
  Graph& g = mg.graph;
  if (!g.nd) ER_THROW(InputError, "--input-shape applies to ONNX models");
  ModelSummary m;
  m.family = "onnx";
  for (ValueId v : g.nd_inputs) {
    const Value& val = g.values[v];
    m.inputs.push_back({val.name, val.dtype, val.declared, val.dim_params});
  }
  const Inputs in = planning_input(m, 1, 0, input_shapes);
  RunRequest req;
  for (const auto& [name, arr] : in.named) req.named.emplace_back(name, &arr);
  {
    MemoryBudget budget;
    Engine engine(mg, budget, EngineOptions{});
    engine.bind(req);
  }
  // The engine's budget held the constants' bytes; what the bind folded stays in the graph.
  for (Constant& c : g.constants)
    if (!c.from_bind) c.data = nullptr;
}

ConvertReport convert(const ConvertRequest& a) {
  std::unique_ptr<Q16Sidecar> sc;
  if (!a.calib_npy.empty()) {
    HostArray x = read_npy(a.calib_npy), m;
    if (!a.calib_mask_npy.empty()) m = read_npy(a.calib_mask_npy);
    sc = std::make_unique<Q16Sidecar>(calibrate_q16(a.model, x, a.calib_mask_npy.empty() ? nullptr : &m, a.batch,
                                                     std::filesystem::path(a.calib_npy).filename().string(),
                                                     a.headroom_bits));
  } else if (!a.calib_mask_npy.empty()) {
    ER_THROW(InputError, "--calib-mask needs --calib");
  }
  if (a.sidecar_only) {
    if (!sc) ER_THROW(InputError, "--sidecar-only needs --calib INPUTS.npy");
    if (!a.out.empty() || !a.dtype.empty()) ER_THROW(InputError, "--sidecar-only writes into MODEL; drop --out and --dtype");
    ConvertReport out;
    out.sidecar = (std::filesystem::path(a.model) / kQ16SidecarName).string();
    write_text_file_atomic(out.sidecar, sc->to_json());
    out.samples = sc->samples;
    return out;
  }
  if (a.dtype.empty() || a.out.empty()) ER_THROW(InputError, "convert needs --dtype bf16|q16 and --out DIR");
  if (sc && a.dtype != "q16") ER_THROW(InputError, "--calib applies to --dtype q16 only");
  ConvertReport out = convert_model(a.model, a.out, a.dtype, sc.get(), a.progress);
  if (sc) out.samples = sc->samples;
  return out;
}

}  // namespace edgerun
