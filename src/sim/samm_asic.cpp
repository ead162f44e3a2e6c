// SAMM ASIC model (see samm_asic.h). A small list scheduler: every stage runs on one unit, starts
// when its unit is free and its inputs are done, and lasts its systolic fold cycles (F * tau, from
// the same model as `sim systolic`) or its accumulator / elementwise passes.
#include "sim/samm_asic.h"

#include <array>
#include <cmath>
#include <cstdio>
#include <map>

#include "core/error.h"
#include "graph/op_schema.h"
#include "sim/gemm_shapes.h"
#include "sim/sim_report.h"

namespace edgerun::sim {

const char* samm_unit_name(SammUnit u) {
  switch (u) {
    case SammUnit::A: return "A 17x32";
    case SammUnit::B: return "B 16x32";
    case SammUnit::C: return "C 17x1";
    case SammUnit::Accumulator: return "column accumulator";
    case SammUnit::Post: return "elementwise";
  }
  return "?";
}

namespace {

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

class Scheduler {
 public:
  Scheduler(const SammConfig& cfg, const EnergyParams& e) : cfg_(cfg), e_(e) {}

  ArrayShape array_of(SammUnit u) const {
    return u == SammUnit::A ? cfg_.qk_array : u == SammUnit::B ? cfg_.v_array : cfg_.out_array;
  }

  // A GEMM on one of the arrays; returns the stage index.
  int gemm(const std::string& name, SammUnit u, const GemmShape& g, int64_t useful_macs,
           std::initializer_list<int> deps) {
    const ArrayShape a = array_of(u);
    SystolicConfig c;
    c.rows = a.rows;
    c.cols = a.cols;
    c.dataflow = cfg_.dataflow;
    GemmCost gc = cost_gemm(c, g, e_);
    SammStage s;
    s.name = name;
    s.unit = u;
    s.gemm = g;
    s.macs = gc.macs;
    s.useful_macs = useful_macs;
    s.sram_words = gc.mem.sram_total();
    return push(std::move(s), gc.pe_cycles / (a.rows * a.cols), deps);
  }

  // Accumulator or elementwise work over a (tokens x width) block, `lanes` columns per cycle.
  int scalar(const std::string& name, SammUnit u, int64_t tokens, int64_t width, int64_t lanes,
             int64_t adds, int64_t mults, int64_t sram_words, std::initializer_list<int> deps) {
    SammStage s;
    s.name = name;
    s.unit = u;
    s.scalar_adds = adds;
    s.scalar_mults = mults;
    s.sram_words = sram_words;
    return push(std::move(s), tokens * ceil_div(width, lanes), deps);
  }

  void add_scalar_work(int id, int64_t adds, int64_t mults) {
    stages_[static_cast<size_t>(id)].scalar_adds += adds;
    stages_[static_cast<size_t>(id)].scalar_mults += mults;
  }

  std::vector<SammStage> take() { return std::move(stages_); }

 private:
  int push(SammStage s, int64_t duration, std::initializer_list<int> deps) {
    int64_t start = free_[static_cast<size_t>(s.unit)];
    for (int d : deps)
      if (d >= 0) start = std::max(start, stages_[static_cast<size_t>(d)].end);
    s.start = start;
    s.end = add_checked(start, duration, "SAMM schedule");
    free_[static_cast<size_t>(s.unit)] = s.end;
    stages_.push_back(std::move(s));
    return static_cast<int>(stages_.size() - 1);
  }

  const SammConfig& cfg_;
  const EnergyParams& e_;
  std::array<int64_t, 5> free_{};
  std::vector<SammStage> stages_;
};

// Builds one scope's schedule from the graph. attention_only: Q/K/V projections and the
// attention itself (the paper's SAMM stage); otherwise every GEMM of the model.
std::vector<SammStage> schedule(const Graph& g, int64_t T, bool attention_only,
                                const SammConfig& cfg, const EnergyParams& e) {
  // Which Linear ops feed an attention op, and as which operand (0 = q, 1 = k, 2 = v).
  std::map<ValueId, int> qkv_role;
  for (const Op& op : g.ops)
    if (op.kind == OpKind::Attention) {
      if (op.p.causal)
        ER_THROW(UnsupportedError, op.name, ": causal attention; the SAMM ASIC runs Taylor "
                 "attention, which is not causal (only ViT / BERT encoders)");
      if (op.inputs.size() != 3)
        ER_THROW(UnsupportedError, op.name, ": fused QKV projection; the SAMM model needs "
                 "separate q/k/v Linear ops");
      for (int r = 0; r < 3; ++r) qkv_role[op.inputs[static_cast<size_t>(r)]] = r;
    }
  Scheduler s(cfg, e);
  int last = -1;                  // the stage the next main-chain stage waits for
  std::array<int, 3> qkv = {-1, -1, -1};
  for (const Layer& layer : g.layers) {
    for (int32_t i = layer.first_op; i < layer.end_op; ++i) {
      const Op& op = g.ops[i];
      if (op.kind == OpKind::Linear || op.kind == OpKind::PatchEmbed) {
        auto role = qkv_role.find(op.output);
        const bool is_qkv = role != qkv_role.end();
        if (attention_only && !is_qkv) continue;
        const GemmShape shape = op_gemm(g, op, T);
        // Q, K and V all wait for the stage before them (not for each other; they share A).
        const int id = s.gemm(op.name, SammUnit::A, shape, shape.m * shape.n * shape.k, {last});
        if (is_qkv)
          qkv[static_cast<size_t>(role->second)] = id;
        else
          last = id;
        continue;
      }
      if (op.kind != OpKind::Attention) continue;
      const int64_t H = op.p.n_head, hd = op.p.head_dim, d = H * hd;
      // The engine's Taylor decomposition, per head; the ASIC batches the heads.
      AttentionWork w = attention_work(op, AttnVariant::Taylor, T);
      ER_CHECK(w.gemms.size() == static_cast<size_t>(2 * H));
      int64_t ktv_useful = 0, qktv_useful = 0;
      for (const GemmShape& h : w.gemms)
        (h.name.ends_with(".ktv") ? ktv_useful : qktv_useful) += h.m * h.n * h.k;
      const std::string& p = op.name;
      const int q = qkv[0], k = qkv[1], v = qkv[2];
      ER_CHECK(q >= 0 && k >= 0 && v >= 0, p, ": q/k/v projections not found");
      const int64_t lanes = cfg.accumulator_lanes;
      // Column accumulator: key sums over tokens (the mean), then v_sum.
      int ksum = s.scalar(p + ".key_mean", SammUnit::Accumulator, T, d, lanes, T * d, d, T * d,
                          {k});
      int vsum = s.scalar(p + ".v_sum", SammUnit::Accumulator, T, d, lanes, T * d, d, T * d, {v});
      // B: K_hat^T V for all heads as one (d x T)(T x d) GEMM; the diagonal hd x hd blocks are
      // the heads' results. Keys are centred (one subtract each) as they stream in.
      int ktv = s.gemm(p + ".ktv", SammUnit::B, {p + ".ktv", d, d, T}, ktv_useful, {ksum, v});
      s.add_scalar_work(ktv, T * d, 0);
      // C: the normaliser term Q_h k_hat_sum_h^T of eq. (5), head by head (T x hd)(hd x 1).
      int norm = -1;
      for (int64_t h = 0; h < H; ++h) {
        const std::string n = p + ".h" + std::to_string(h) + ".qksum";
        norm = s.gemm(n, SammUnit::C, {n, T, 1, hd}, T * hd, {q, ksum});
      }
      // A: Q (K_hat^T V) with the block-diagonal (d x d) matrix: one pass for all heads.
      int qktv = s.gemm(p + ".qktv", SammUnit::A, {p + ".qktv", T, d, d}, qktv_useful, {ktv, q});
      // Elementwise: Z = v_sum / n + Q (K^T V) * 1 / (n sqrt(d) + Q k_sum^T), per element one
      // multiply and one add, per row and head one reciprocal (priced as a multiply).
      last = s.scalar(p + ".combine", SammUnit::Post, T, d, cfg.post_lanes, T * d, T * d + T * H,
                      2 * T * d, {qktv, vsum, norm});
      qkv = {-1, -1, -1};
    }
  }
  return s.take();
}

SammScope cost_scope(const std::string& name, std::vector<SammStage> stages,
                     const SammConfig& cfg, const EnergyParams& e, int64_t dram_words) {
  SammScope sc;
  sc.name = name;
  std::array<int64_t, 3> array_macs{};
  for (const SammStage& s : stages) {
    sc.cycles = std::max(sc.cycles, s.end);
    sc.macs += s.macs;
    sc.useful_macs += s.useful_macs;
    if (s.unit == SammUnit::A || s.unit == SammUnit::B || s.unit == SammUnit::C)
      array_macs[static_cast<size_t>(s.unit)] += s.macs;
    sc.energy.mac += static_cast<double>(s.macs) * e.mac_pj;
    sc.energy.other += static_cast<double>(s.scalar_adds) * e.add_pj +
                       static_cast<double>(s.scalar_mults) * e.mult_pj;
    sc.energy.sram += static_cast<double>(s.sram_words) * e.sram_word_pj;
  }
  // Every PE of every array is clocked for the whole inference unless gated.
  const ArrayShape arrays[3] = {cfg.qk_array, cfg.v_array, cfg.out_array};
  double idle = 0;
  for (size_t a = 0; a < 3; ++a)
    idle += static_cast<double>(arrays[a].rows * arrays[a].cols) * static_cast<double>(sc.cycles) -
            static_cast<double>(array_macs[a]);
  sc.energy.idle_ungated = idle * e.mac_pj * e.ungated_idle;
  sc.energy.idle_gated = idle * e.mac_pj * e.beta;
  sc.energy.dram = static_cast<double>(dram_words) * e.dram_word_pj;
  const double ungated = sc.energy.total_ungated();
  const double pe_ungated = sc.energy.mac + sc.energy.idle_ungated;
  for (double beta : cfg.betas) {
    const double idle_gated = idle * e.mac_pj * beta;
    const double total = ungated - sc.energy.idle_ungated + idle_gated;
    const double pe = sc.energy.mac + idle_gated;
    sc.sweep.push_back({beta, total, (ungated - total) / ungated * 100.0,
                        (pe_ungated - pe) / pe_ungated * 100.0});
  }
  sc.stages = std::move(stages);
  return sc;
}

}  // namespace

SammReport simulate_samm(const ModelGraph& mg, int64_t tokens, const SammConfig& cfg,
                         const EnergyParams& e) {
  for (ArrayShape a : {cfg.qk_array, cfg.v_array, cfg.out_array}) {
    SystolicConfig c;
    c.rows = a.rows;
    c.cols = a.cols;
    c.validate();
  }
  if (cfg.accumulator_lanes <= 0 || cfg.post_lanes <= 0 || cfg.accumulator_lanes > 65536 ||
      cfg.post_lanes > 65536)
    ER_THROW(InputError, "SAMM: accumulator / elementwise lanes must be in [1, 65536]");
  if (tokens <= 0) ER_THROW(InputError, "SAMM: token count ", tokens, " must be positive");
  const Graph& g = mg.graph;
  SammReport r;
  r.cfg = cfg;
  r.energy = e;
  r.model_dir = mg.info.dir;
  r.tokens = tokens;
  r.d_model = mg.info.hidden;
  r.n_head = mg.info.n_head;
  r.head_dim = mg.info.n_head > 0 ? mg.info.hidden / mg.info.n_head : 0;
  r.n_layer = mg.info.n_layer;
  // Weights and activations live on chip (the paper's buffers); DRAM carries the input and the
  // output of an inference only.
  int64_t io_words = g.values[g.output].cols;
  if (g.pixel_values != kNone) io_words += g.values[g.pixel_values].cols;
  else io_words += tokens;  // token ids
  r.attention = cost_scope("attention", schedule(g, tokens, true, cfg, e), cfg, e, 0);
  r.all_gemms = cost_scope("all_gemms", schedule(g, tokens, false, cfg, e), cfg, e, io_words);
  return r;
}

namespace {

nlohmann::json scope_json(const SammScope& sc, const SammConfig& cfg) {
  nlohmann::json j;
  j["cycles_per_inference"] = sc.cycles;
  nlohmann::json t = nlohmann::json::object();
  for (double mhz : cfg.clocks_mhz) t[format_double(mhz) + "MHz_us"] = sc.cycles / mhz;
  j["time"] = t;
  j["macs"] = sc.macs;
  j["useful_macs"] = sc.useful_macs;
  j["energy"] = energy_json(sc.energy);
  j["energy_per_inference_no_gating_nj"] = sc.energy.total_ungated() / 1e3;
  j["energy_per_inference_gated_nj"] = sc.energy.total_gated() / 1e3;
  nlohmann::json sweep = nlohmann::json::array();
  for (const SammScope::Sweep& w : sc.sweep)
    sweep.push_back({{"beta", w.beta},
                     {"total_gated_pj", w.total_gated_pj},
                     {"saving_total_pct", w.saving_total_pct},
                     {"saving_pe_pct", w.saving_pe_pct}});
  j["gating_sweep"] = sweep;
  nlohmann::json st = nlohmann::json::array();
  for (const SammStage& s : sc.stages) {
    nlohmann::json x = {{"name", s.name},  {"unit", samm_unit_name(s.unit)},
                        {"start", s.start}, {"end", s.end},
                        {"macs", s.macs},   {"useful_macs", s.useful_macs},
                        {"scalar_adds", s.scalar_adds}, {"scalar_mults", s.scalar_mults},
                        {"sram_words", s.sram_words}};
    if (s.gemm.m > 0) x["gemm"] = {{"m", s.gemm.m}, {"n", s.gemm.n}, {"k", s.gemm.k}};
    st.push_back(std::move(x));
  }
  j["stages"] = st;
  return j;
}

}  // namespace

nlohmann::json samm_json(const SammReport& r) {
  nlohmann::json j;
  j["model"] = r.model_dir;
  j["shape"] = {{"tokens", r.tokens}, {"d_model", r.d_model}, {"n_head", r.n_head},
                {"head_dim", r.head_dim}, {"n_layer", r.n_layer}};
  auto arr = [](ArrayShape a) { return std::to_string(a.rows) + "x" + std::to_string(a.cols); };
  j["asic"] = {{"array_a", arr(r.cfg.qk_array)},
               {"array_b", arr(r.cfg.v_array)},
               {"array_c", arr(r.cfg.out_array)},
               {"accumulator_lanes", r.cfg.accumulator_lanes},
               {"post_lanes", r.cfg.post_lanes},
               {"dataflow", dataflow_name(r.cfg.dataflow)},
               {"precision", to_string(r.energy.precision)},
               {"beta", r.energy.beta},
               {"clocks_mhz", r.cfg.clocks_mhz}};
  j["attention"] = scope_json(r.attention, r.cfg);
  j["all_gemms"] = scope_json(r.all_gemms, r.cfg);
  j["comparisons"] = {
      {"gating_sweep", "this model: clock gating on vs off on the same ASIC and workload"},
      {"paper_25_8_pct", "the paper's -25.8% dynamic power is the clock-gated SAMM ASIC against "
                         "DianNao (another accelerator), not gating on vs off; >50% is against "
                         "Eyeriss. Not reproduced by this model."}};
  j["energy_table"] = energy_table_json();
  return j;
}

std::string samm_text(const SammReport& r) {
  std::string o;
  char buf[512];
  auto line = [&](const char* fmt, auto... args) {
    std::snprintf(buf, sizeof buf, fmt, args...);
    o += buf;
  };
  line("SAMM ASIC (arrays A %lldx%lld, B %lldx%lld, C %lldx%lld, %s, %s) on %s\n",
       (long long)r.cfg.qk_array.rows, (long long)r.cfg.qk_array.cols,
       (long long)r.cfg.v_array.rows, (long long)r.cfg.v_array.cols,
       (long long)r.cfg.out_array.rows, (long long)r.cfg.out_array.cols,
       dataflow_name(r.cfg.dataflow), to_string(r.energy.precision), r.model_dir.c_str());
  line("model: %lld tokens, d_model %lld, %lld heads x %lld, %lld layers; Taylor attention\n",
       (long long)r.tokens, (long long)r.d_model, (long long)r.n_head, (long long)r.head_dim,
       (long long)r.n_layer);
  for (const SammScope* sc : {&r.attention, &r.all_gemms}) {
    line("\n[%s] %s\n", sc->name.c_str(),
         sc == &r.attention ? "Q/K/V projections + Taylor attention (the paper's SAMM stage)"
                            : "every GEMM of the model (edgerun's extension; LN/GELU/adds not "
                              "modelled)");
    line("  cycles per inference  %lld\n", (long long)sc->cycles);
    for (double mhz : r.cfg.clocks_mhz)
      line("  time at %g MHz       %.3f us\n", mhz, static_cast<double>(sc->cycles) / mhz);
    line("  MACs run / useful     %lld / %lld\n", (long long)sc->macs, (long long)sc->useful_macs);
    line("  energy, no gating     %.1f pJ  (MAC %.1f, idle PEs %.1f, other units %.1f, SRAM "
         "%.1f, DRAM %.1f)\n",
         sc->energy.total_ungated(), sc->energy.mac, sc->energy.idle_ungated, sc->energy.other,
         sc->energy.sram, sc->energy.dram);
    line("  energy, gated b=%.2f  %.1f pJ\n", r.energy.beta, sc->energy.total_gated());
    line("  clock gating on vs off (same ASIC), sweep over beta:\n");
    line("    %6s %14s %16s %14s\n", "beta", "energy pJ", "saving total %", "saving PEs %");
    for (const SammScope::Sweep& w : sc->sweep)
      line("    %6.2f %14.1f %16.2f %14.2f\n", w.beta, w.total_gated_pj, w.saving_total_pct,
           w.saving_pe_pct);
  }
  o += "\nNote: the paper's -25.8% dynamic power is its clock-gated ASIC against DianNao, not\n"
       "gating on vs off; the sweep above is gating on vs off on this model.\n";
  return o;
}

}  // namespace edgerun::sim
