// Least-squares fits for the cost model and their JSON form.
#include "runtime/cost_model.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "core/error.h"

namespace edgerun {

LinearFit fit_linear(const std::vector<Sample>& samples, int holdout_every) {
  std::vector<const Sample*> fit, hold;
  for (size_t i = 0; i < samples.size(); ++i)
    (holdout_every > 1 && i % static_cast<size_t>(holdout_every) == 0 && samples.size() >= 4 ? hold : fit)
        .push_back(&samples[i]);
  return fit_linear(fit, hold);
}

LinearFit fit_linear(const std::vector<const Sample*>& fit, const std::vector<const Sample*>& hold) {
  LinearFit f;
  f.n_fit = static_cast<int>(fit.size());
  f.n_holdout = static_cast<int>(hold.size());
  if (fit.empty()) return f;
  // Normalise columns so the ridge term is scale-free.
  double sx = 0, sd = 0;
  for (const Sample* s : fit) {
    sx = std::max(sx, std::fabs(s->x));
    sd = std::max(sd, std::fabs(s->d));
  }
  sx = sx > 0 ? sx : 1;
  sd = sd > 0 ? sd : 1;
  double A[3][3] = {}, b[3] = {};
  for (const Sample* s : fit) {
    const double r[3] = {s->x / sx, s->d / sd, 1.0};
    for (int i = 0; i < 3; ++i) {
      b[i] += r[i] * s->y;
      for (int j = 0; j < 3; ++j) A[i][j] += r[i] * r[j];
    }
  }
  for (int i = 0; i < 2; ++i) A[i][i] += 1e-9 * (A[i][i] + 1.0);
  // Gaussian elimination with partial pivoting on the 3x3 system.
  int idx[3] = {0, 1, 2};
  double M[3][4];
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 3; ++j) M[i][j] = A[i][j];
    M[i][3] = b[i];
  }
  for (int c = 0; c < 3; ++c) {
    int p = c;
    for (int r = c + 1; r < 3; ++r)
      if (std::fabs(M[r][c]) > std::fabs(M[p][c])) p = r;
    for (int j = 0; j < 4; ++j) std::swap(M[c][j], M[p][j]);
    if (std::fabs(M[c][c]) < 1e-300) continue;
    for (int r = 0; r < 3; ++r) {
      if (r == c) continue;
      double k = M[r][c] / M[c][c];
      for (int j = c; j < 4; ++j) M[r][j] -= k * M[c][j];
    }
  }
  (void)idx;
  double sol[3];
  for (int i = 0; i < 3; ++i) sol[i] = std::fabs(M[i][i]) < 1e-300 ? 0 : M[i][3] / M[i][i];
  f.coef = {sol[0] / sx, sol[1] / sd, sol[2]};
  double mean = 0;
  for (const Sample* s : fit) mean += s->y;
  mean /= static_cast<double>(fit.size());
  double ss_res = 0, ss_tot = 0;
  for (const Sample* s : fit) {
    double e = s->y - f.predict(s->x, s->d);
    ss_res += e * e;
    ss_tot += (s->y - mean) * (s->y - mean);
  }
  f.r2 = ss_tot > 0 ? 1.0 - ss_res / ss_tot : 1.0;
  double mape = 0;
  for (const Sample* s : hold) mape += std::fabs(f.predict(s->x, s->d) - s->y) / std::max(std::fabs(s->y), 1e-12);
  f.mape_holdout = hold.empty() ? 0 : mape / static_cast<double>(hold.size());
  return f;
}

FitQuality judge(const std::vector<double>& predicted, const std::vector<double>& measured) {
  FitQuality q;
  q.n = static_cast<int>(std::min(predicted.size(), measured.size()));
  if (q.n == 0) return q;
  double mean = 0;
  for (int i = 0; i < q.n; ++i) mean += measured[i] / q.n;
  double ss_res = 0, ss_tot = 0;
  for (int i = 0; i < q.n; ++i) {
    const double e = measured[i] - predicted[i];
    ss_res += e * e;
    ss_tot += (measured[i] - mean) * (measured[i] - mean);
    q.mape += std::fabs(e) / std::max(std::fabs(measured[i]), 1e-12) / q.n;
  }
  q.r2 = ss_tot > 0 ? 1.0 - ss_res / ss_tot : 1.0;
  return q;
}

double LayerTimes::predict(double flops) const {
  if (points.empty()) return 0;
  const auto& p = points;
  auto proportional = [&](const std::pair<double, double>& q) { return q.first > 0 ? q.second * flops / q.first : q.second; };
  if (p.size() == 1) return proportional(p[0]);
  size_t i = 1;  // the segment [i - 1, i] that holds flops, or the first or last one
  while (i + 1 < p.size() && flops > p[i].first) ++i;
  const auto& [x0, y0] = p[i - 1];
  const auto& [x1, y1] = p[i];
  if (flops < x0) return proportional(p[0]);
  if (x1 <= x0 || (flops > x1 && y1 < y0)) return flops > x1 ? proportional(p[i]) : y0;
  return std::max(0.0, y0 + (y1 - y0) * (flops - x0) / (x1 - x0));
}

double CostModel::load_ms(uint64_t bytes, int32_t depth) const {
  if (measured && t_in.n_fit > 0) return std::max(0.0, t_in.predict(static_cast<double>(bytes), depth));
  return static_cast<double>(bytes) / read_bytes_per_s * 1e3;
}

double CostModel::load_latency_ms(uint64_t bytes, int32_t depth) const {
  const double fixed = measured && t_in.n_fit > 0 ? t_in.predict(0, depth) : read_latency_ms;
  return std::clamp(fixed, 0.0, load_ms(bytes, depth));
}

double CostModel::compute_ms(double flops, int32_t depth) const {
  if (depth >= 0 && static_cast<size_t>(depth) < layer_compute.size() && !layer_compute[depth].points.empty())
    return layer_compute[depth].predict(flops);
  if (measured && t_ex.n_fit > 0) return std::max(0.0, t_ex.predict(flops, depth));
  return flops / flops_per_s * 1e3;
}

namespace {
nlohmann::json fit_json(const LinearFit& f) {
  return {{"a", f.coef[0]}, {"b", f.coef[1]}, {"c", f.coef[2]}, {"r2", f.r2},
          {"mape_holdout", f.mape_holdout}, {"n_fit", f.n_fit}, {"n_holdout", f.n_holdout}};
}
LinearFit fit_from(const nlohmann::json& j) {
  LinearFit f;
  f.coef = {j.at("a").get<double>(), j.at("b").get<double>(), j.at("c").get<double>()};
  f.r2 = j.value("r2", 0.0);
  f.mape_holdout = j.value("mape_holdout", 0.0);
  f.n_fit = j.value("n_fit", 0);
  f.n_holdout = j.value("n_holdout", 0);
  return f;
}
}  // namespace

std::string CostModel::to_json() const {
  nlohmann::json layers = nlohmann::json::array();
  for (const LayerTimes& l : layer_compute) {
    nlohmann::json pts = nlohmann::json::array();
    for (const auto& [x, y] : l.points) pts.push_back({x, y});
    layers.push_back(pts);
  }
  nlohmann::json j = {{"t_in_ms", fit_json(t_in)}, {"t_ex_ms", fit_json(t_ex)}, {"t_out_ms", fit_json(t_out)},
                      {"read_bytes_per_s", read_bytes_per_s}, {"flops_per_s", flops_per_s},
                      {"measured", measured},
                      {"layer_compute_ms", {{"points", layers},
                                            {"holdout", {{"r2", layers_holdout.r2}, {"mape", layers_holdout.mape},
                                                         {"n", layers_holdout.n}}}}}};
  return j.dump(2);
}

CostModel CostModel::from_json(const std::string& text, const std::string& path) {
  try {
    auto j = nlohmann::json::parse(text);
    CostModel m;
    m.t_in = fit_from(j.at("t_in_ms"));
    m.t_ex = fit_from(j.at("t_ex_ms"));
    m.t_out = fit_from(j.at("t_out_ms"));
    m.read_bytes_per_s = j.at("read_bytes_per_s").get<double>();
    m.flops_per_s = j.at("flops_per_s").get<double>();
    m.measured = j.value("measured", false);
    // Files written before the per-layer times have none: compute_ms falls back to t_ex.
    if (j.contains("layer_compute_ms")) {
      const auto& lc = j.at("layer_compute_ms");
      for (const auto& pts : lc.at("points")) {
        LayerTimes l;
        for (const auto& p : pts) {
          const double x = p.at(0).get<double>(), y = p.at(1).get<double>();
          if (!(x >= 0) || !(y >= 0) || !std::isfinite(x) || !std::isfinite(y))
            ER_THROW(FormatError, path, ": not a cost model: a layer time is not a finite, non-negative number");
          l.points.emplace_back(x, y);
        }
        std::sort(l.points.begin(), l.points.end());
        m.layer_compute.push_back(std::move(l));
      }
      const auto& h = lc.at("holdout");
      m.layers_holdout = {h.value("r2", 0.0), h.value("mape", 0.0), h.value("n", 0)};
    }
    return m;
  } catch (const nlohmann::json::exception& e) {
    ER_THROW(FormatError, path, ": not a cost model: ", e.what());
  }
}

}  // namespace edgerun
