// SwapNet's cost model: least-squares fits t_in ~ a*s + b*d + c (s bytes, d depth),
// t_ex ~ a*FLOPs + b*d + c, t_out ~ a*s + b*d + c, with R^2 and the mean absolute percentage
// error on held-out samples; and each layer's measured compute times (SwapNet profiles per
// block), which predict a layer's compute better than one line through every layer: layers of
// different shapes (a CNN's convolutions, an LM head) run at very different rates, and one layer
// runs small token counts at a lower rate than large ones. With direct reads into the arena,
// swap-out is a release, so its fit is close to a constant.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace edgerun {

struct LinearFit {
  std::array<double, 3> coef{0, 0, 0};  // (a, b, c)
  double r2 = 0;                        // on the fitting samples
  double mape_holdout = 0;              // mean |pred - y| / y on held-out samples
  int n_fit = 0, n_holdout = 0;
  double predict(double x, double d) const { return coef[0] * x + coef[1] * d + coef[2]; }
};

struct Sample {
  double x = 0;  // bytes or FLOPs
  double d = 0;  // depth
  double y = 0;  // seconds (or ms)
};

// Fits on samples whose index % holdout_every != 0 (all when holdout_every <= 1) and reports
// MAPE on the rest. Ridge-stabilised normal equations: transformer layers are all alike, so
// depth and size can be nearly collinear.
LinearFit fit_linear(const std::vector<Sample>& samples, int holdout_every = 4);
// Fits on `fit` and reports MAPE on `holdout` (another shape than the fitted ones).
LinearFit fit_linear(const std::vector<const Sample*>& fit, const std::vector<const Sample*>& holdout);

// How well predictions match measurements: R^2 and the mean absolute percentage error.
struct FitQuality {
  double r2 = 0, mape = 0;
  int n = 0;
};
FitQuality judge(const std::vector<double>& predicted, const std::vector<double>& measured);

// One layer's measured compute: (FLOPs, ms) at each profiled shape, FLOPs ascending.
struct LayerTimes {
  std::vector<std::pair<double, double>> points;
  // Piecewise linear in FLOPs through the points; past the last, along the last segment (or in
  // proportion to FLOPs where that segment falls or there is one point).
  double predict(double flops) const;
};

struct CostModel {
  LinearFit t_in;   // ms from (bytes, depth)
  LinearFit t_ex;   // ms from (FLOPs, depth)
  LinearFit t_out;  // ms from (bytes, depth)
  // By depth (layer index): what compute_ms uses for the layers it holds, in place of t_ex.
  // Judged on a shape that was not profiled into it (layers_holdout).
  std::vector<LayerTimes> layer_compute;
  FitQuality layers_holdout;
  double read_bytes_per_s = 1.5e9;  // storage bandwidth (direct I/O at depth)
  double flops_per_s = 5e10;        // compute rate for this thread count
  // Time of a load that does not depend on its size (first-byte latency, and the end of the
  // read, when the reader's queue drains): a second loading agent hides it behind another
  // layer's transfer. Measured: the fit's value at zero bytes.
  double read_latency_ms = 1.0;
  bool measured = false;

  double load_ms(uint64_t bytes, int32_t depth) const;
  // The part of load_ms(bytes, depth) that the storage device is not busy transferring.
  double load_latency_ms(uint64_t bytes, int32_t depth) const;
  double compute_ms(double flops, int32_t depth) const;
  std::string to_json() const;
  static CostModel from_json(const std::string& text, const std::string& path);
};

}  // namespace edgerun
