// The engine-backed model tools of edgerun/tools.h: profile (over runtime/profiler.h) and
// convert (q16 calibration from runtime/convert.h, folders written by models/quantize.h).
#include "edgerun/tools.h"

#include <filesystem>
#include <memory>

#include "core/error.h"
#include "edgerun/preprocess.h"
#include "runtime/convert.h"
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
  out.read_bytes_per_s = r.cost.read_bytes_per_s;
  out.flops_per_s = r.cost.flops_per_s;
  out.csv = r.to_csv();
  out.json = r.to_json();
  out.cost_model_json = r.cost.to_json();
  return out;
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
