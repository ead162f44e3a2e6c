// The analytic systolic-array model (see systolic.h). Closed forms of SCALE-Sim's per-fold
// bookkeeping (scalesim/compute/systolic_compute_{os,ws,is}.py, single_layer_sim.py, v3.0.0):
// because only the last row fold and the last column fold are partial, the per-fold averages
// factor into products of sums and no loop over folds is needed.
#include "sim/systolic.h"

#include <charconv>
#include <cmath>

#include "core/error.h"

namespace edgerun::sim {

namespace {

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

int64_t parse_side(std::string_view s, std::string_view whole, const char* what) {
  int64_t v = 0;
  const char* end = s.data() + s.size();
  auto [p, ec] = std::from_chars(s.data(), end, v);
  if (s.empty() || ec != std::errc() || p != end || v <= 0 || v > kMaxArraySide)
    ER_THROW(InputError, "--array '", std::string(whole), "': ", what, " '", std::string(s),
             "' must be an integer in [1, ", kMaxArraySide, "]");
  return v;
}

}  // namespace

int64_t mul_checked(int64_t a, int64_t b, const std::string& what) {
  int64_t r = 0;
  if (__builtin_mul_overflow(a, b, &r))
    ER_THROW(InputError, what, ": the count overflows 64 bits (the GEMM is too large to cost)");
  return r;
}

int64_t add_checked(int64_t a, int64_t b, const std::string& what) {
  int64_t r = 0;
  if (__builtin_add_overflow(a, b, &r))
    ER_THROW(InputError, what, ": the count overflows 64 bits (the workload is too large)");
  return r;
}

Dataflow parse_dataflow(std::string_view s) {
  if (s == "os") return Dataflow::Os;
  if (s == "ws") return Dataflow::Ws;
  if (s == "is") return Dataflow::Is;
  ER_THROW(InputError, "unknown dataflow '", std::string(s), "' (expected os, ws or is)");
}

const char* dataflow_name(Dataflow d) {
  switch (d) {
    case Dataflow::Os: return "os";
    case Dataflow::Ws: return "ws";
    case Dataflow::Is: return "is";
  }
  return "?";
}

ArrayShape parse_array_shape(std::string_view s) {
  size_t x = s.find_first_of("xX");
  if (x == std::string_view::npos)
    ER_THROW(InputError, "--array '", std::string(s), "': expected ROWSxCOLS, e.g. 16x32");
  ArrayShape a;
  a.rows = parse_side(s.substr(0, x), s, "rows");
  a.cols = parse_side(s.substr(x + 1), s, "cols");
  if (a.rows * a.cols > kMaxArrayPes)
    ER_THROW(InputError, "--array '", std::string(s), "': ", a.rows * a.cols,
             " PEs is over the limit of ", kMaxArrayPes);
  return a;
}

void SystolicConfig::validate() const {
  if (rows <= 0 || rows > kMaxArraySide || cols <= 0 || cols > kMaxArraySide)
    ER_THROW(InputError, "array ", rows, "x", cols, ": each side must be in [1, ", kMaxArraySide,
             "]");
  if (rows * cols > kMaxArrayPes)
    ER_THROW(InputError, "array ", rows, "x", cols, ": over the limit of ", kMaxArrayPes, " PEs");
  const std::pair<const char*, int64_t> bufs[] = {
      {"--ifmap-sram", ifmap_sram_kb}, {"--filter-sram", filter_sram_kb},
      {"--ofmap-sram", ofmap_sram_kb}};
  for (auto [name, kb] : bufs)
    if (kb <= 0 || kb > kMaxSramKb)
      ER_THROW(InputError, name, " ", kb, " KB: must be in [1, ", kMaxSramKb, "] KB");
  if (!(bandwidth >= 0) || !std::isfinite(bandwidth) || bandwidth > 1e9)
    ER_THROW(InputError, "--bandwidth ", bandwidth,
             ": must be a finite number of words per cycle in (0, 1e9], or 0 for unlimited");
}

EnergyBreakdown& EnergyBreakdown::operator+=(const EnergyBreakdown& o) {
  mac += o.mac;
  idle_ungated += o.idle_ungated;
  idle_gated += o.idle_gated;
  other += o.other;
  sram += o.sram;
  dram += o.dram;
  return *this;
}

FoldGeometry fold_geometry(const SystolicConfig& c, const GemmShape& g) {
  FoldGeometry f;
  const int64_t R = c.rows, C = c.cols;
  switch (c.dataflow) {
    case Dataflow::Os:  // outputs stay: rows = M, cols = N, K streams
      f.sr = g.m, f.sc = g.n, f.t = g.k;
      f.tau = R + C + f.t - 2;
      f.util_window = R + C + f.t - 2;
      break;
    case Dataflow::Ws:  // weights stay: rows = K, cols = N, M streams
      f.sr = g.k, f.sc = g.n, f.t = g.m;
      f.tau = 2 * R + C + f.t - 2;
      f.util_window = 2 * R + 2 * C + f.t - 3;
      break;
    case Dataflow::Is:  // inputs stay: rows = K, cols = M, N streams
      f.sr = g.k, f.sc = g.m, f.t = g.n;
      f.tau = 2 * R + C + f.t - 2;
      f.util_window = 2 * R + 2 * C + f.t - 3;
      break;
  }
  f.row_folds = ceil_div(f.sr, R);
  f.col_folds = ceil_div(f.sc, C);
  f.folds = f.row_folds * f.col_folds;  // <= 2^48 for sizes within kMaxGemmDim
  return f;
}

namespace {

// First-order traffic model (edgerun's; SCALE-Sim's trace-level one is not reproduced). Folds
// run column-fold outer, row-fold inner, as in SCALE-Sim. An operand that every column fold
// re-streams is fetched from DRAM once if it fits in the active half of its double-buffered
// SRAM, else once per pass; a per-column-fold slice reused across the row folds likewise.
// Partial sums (ws, is: the K reduction is split over row folds) stay in the ofmap SRAM when a
// column fold's outputs fit, else spill to DRAM and come back.
MemoryCounts traffic(const SystolicConfig& c, const GemmShape& g, const FoldGeometry& f,
                     int64_t word_bytes, const std::string& what) {
  auto half_words = [&](int64_t kb) { return kb * 1024 / word_bytes / 2; };
  const int64_t ifmap_half = half_words(c.ifmap_sram_kb);
  const int64_t filter_half = half_words(c.filter_sram_kb);
  const int64_t ofmap_half = half_words(c.ofmap_sram_kb);
  const int64_t MK = mul_checked(g.m, g.k, what), KN = mul_checked(g.k, g.n, what),
                MN = mul_checked(g.m, g.n, what);
  MemoryCounts m;
  switch (c.dataflow) {
    case Dataflow::Os: {
      // ifmap rows (M) map to array rows and are re-streamed for every column fold; a column
      // fold's filter slice (K x C) is reused across its row folds.
      m.sram_ifmap_reads = mul_checked(f.col_folds, MK, what);
      m.sram_filter_reads = mul_checked(f.row_folds, KN, what);
      m.sram_ofmap_writes = MN;
      m.dram_ifmap_reads = MK <= ifmap_half ? MK : m.sram_ifmap_reads;
      m.dram_filter_reads = g.k * std::min(g.n, c.cols) <= filter_half ? KN : m.sram_filter_reads;
      m.dram_ofmap_writes = MN;
      break;
    }
    case Dataflow::Ws:
    case Dataflow::Is: {
      const bool ws = c.dataflow == Dataflow::Ws;
      // ws: the ifmap K-slices are re-streamed per column fold (N); is: the filter is (M folds).
      const int64_t restreamed = ws ? MK : KN, once = ws ? KN : MK;
      const int64_t restream_half = ws ? ifmap_half : filter_half;
      const int64_t sram_restream = mul_checked(f.col_folds, restreamed, what);
      const int64_t dram_restream = restreamed <= restream_half ? restreamed : sram_restream;
      m.sram_ifmap_reads = ws ? sram_restream : once;
      m.sram_filter_reads = ws ? once : sram_restream;
      m.dram_ifmap_reads = ws ? dram_restream : once;
      m.dram_filter_reads = ws ? once : dram_restream;
      // Each row fold adds a partial sum into every output of its column fold.
      m.sram_ofmap_writes = mul_checked(f.row_folds, MN, what);
      m.sram_ofmap_reads = mul_checked(f.row_folds - 1, MN, what);
      const int64_t slice = ws ? g.m * std::min(g.n, c.cols) : std::min(g.m, c.cols) * g.n;
      if (slice <= ofmap_half) {
        m.dram_ofmap_writes = MN;
      } else {
        m.dram_ofmap_writes = m.sram_ofmap_writes;
        m.dram_ofmap_reads = m.sram_ofmap_reads;
      }
      break;
    }
  }
  return m;
}

}  // namespace

GemmCost cost_gemm(const SystolicConfig& c, const GemmShape& g, const EnergyParams& e) {
  const std::string what = "GEMM '" + g.name + "'";
  if (g.m <= 0 || g.n <= 0 || g.k <= 0)
    ER_THROW(InputError, what, ": sizes M=", g.m, " N=", g.n, " K=", g.k, " must be positive");
  GemmCost r;
  r.gemm = g;
  r.geo = fold_geometry(c, g);
  const FoldGeometry& f = r.geo;
  const int64_t pes = c.rows * c.cols;
  const int64_t busy = mul_checked(f.folds, f.tau, what);  // cycles the array is streaming
  r.macs = mul_checked(mul_checked(g.m, g.n, what), g.k, what);
  r.mem = traffic(c, g, f, e.word_bytes, what);

  // Bandwidth limit (edgerun's model): double buffering hides DRAM transfers behind compute,
  // so a layer stalls only for the part of its transfer time that exceeds its compute time.
  if (c.bandwidth > 0) {
    const double transfer = std::ceil(static_cast<double>(r.mem.dram_total()) / c.bandwidth);
    if (transfer > static_cast<double>(busy)) {
      if (transfer > 9e18) ER_THROW(InputError, what, ": stall cycles overflow 64 bits");
      r.stall_cycles = static_cast<int64_t>(transfer) - busy;
    }
  }
  // SCALE-Sim reports the index of the last serviced cycle, hence the -1.
  r.total_cycles = add_checked(busy - 1, r.stall_cycles, what);
  r.pe_cycles = mul_checked(pes, add_checked(busy, r.stall_cycles, what), what);

  // Utilization as SCALE-Sim defines it. Per fold i, mapping efficiency is used_i / (R C) and
  // compute utilization used_i T / (R C window); used_i = rows_used * cols_used and only the
  // last row and column folds are partial, so the averages over F folds are Sr Sc / (F R C) and
  // Sr Sc T / (F R C window). Overall: M N K / (total_cycles R C).
  const double RC = static_cast<double>(pes), F = static_cast<double>(f.folds);
  const double used = static_cast<double>(f.sr) * static_cast<double>(f.sc);
  r.mapping_eff_pct = used / (F * RC) * 100.0;
  r.compute_util_pct =
      used * static_cast<double>(f.t) / (F * RC * static_cast<double>(f.util_window)) * 100.0;
  r.overall_util_pct =
      static_cast<double>(r.macs) * 100.0 / (static_cast<double>(r.total_cycles) * RC);

  const double idle = static_cast<double>(r.pe_cycles - r.macs);  // >= 0: tau >= T per fold
  r.energy.mac = static_cast<double>(r.macs) * e.mac_pj;
  r.energy.idle_ungated = idle * e.mac_pj * e.ungated_idle;
  r.energy.idle_gated = idle * e.mac_pj * e.beta;
  r.energy.sram = static_cast<double>(r.mem.sram_total()) * e.sram_word_pj;
  r.energy.dram = static_cast<double>(r.mem.dram_total()) * e.dram_word_pj;
  return r;
}

SystolicReport simulate_systolic(const SystolicConfig& cfg, const std::vector<LayerGemm>& gemms,
                                 const EnergyParams& e) {
  cfg.validate();
  SystolicReport rep;
  rep.cfg = cfg;
  rep.energy = e;
  rep.gemms.reserve(gemms.size());
  for (const LayerGemm& lg : gemms) {
    GemmCost c = cost_gemm(cfg, lg.gemm, e);
    c.layer = lg.layer;
    const std::string what = "workload total";
    rep.total_cycles = add_checked(rep.total_cycles, c.total_cycles, what);
    rep.stall_cycles = add_checked(rep.stall_cycles, c.stall_cycles, what);
    rep.macs = add_checked(rep.macs, c.macs, what);
    rep.pe_cycles = add_checked(rep.pe_cycles, c.pe_cycles, what);
    MemoryCounts& m = rep.mem;
    m.sram_ifmap_reads = add_checked(m.sram_ifmap_reads, c.mem.sram_ifmap_reads, what);
    m.sram_filter_reads = add_checked(m.sram_filter_reads, c.mem.sram_filter_reads, what);
    m.sram_ofmap_writes = add_checked(m.sram_ofmap_writes, c.mem.sram_ofmap_writes, what);
    m.sram_ofmap_reads = add_checked(m.sram_ofmap_reads, c.mem.sram_ofmap_reads, what);
    m.dram_ifmap_reads = add_checked(m.dram_ifmap_reads, c.mem.dram_ifmap_reads, what);
    m.dram_filter_reads = add_checked(m.dram_filter_reads, c.mem.dram_filter_reads, what);
    m.dram_ofmap_writes = add_checked(m.dram_ofmap_writes, c.mem.dram_ofmap_writes, what);
    m.dram_ofmap_reads = add_checked(m.dram_ofmap_reads, c.mem.dram_ofmap_reads, what);
    rep.total_energy += c.energy;
    rep.gemms.push_back(std::move(c));
  }
  if (rep.pe_cycles > 0)
    rep.overall_util_pct =
        static_cast<double>(rep.macs) * 100.0 / static_cast<double>(rep.pe_cycles);
  return rep;
}

}  // namespace edgerun::sim
