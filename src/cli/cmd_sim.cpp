// `edgerun sim systolic` and `edgerun sim samm`: cost a GEMM topology or a model on the SAMM
// systolic-array model and on the SAMM ASIC (docs/SIM.md); `edgerun sim arap`: run ViT encoder
// layers on the reconfigurable array's simulator (docs/ARAP.md). Thin: parsing and printing
// only (the arap part also does the host's fp32 work with edgerun's CPU kernels).
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "core/error.h"
#include "edgerun/edgerun.h"
#include "io/file.h"
#include "kernels/cpu/kernels.h"
#include "kernels/cpu/q16.h"
#include "models/model.h"
#include "sim/arap_vit.h"
#include "sim/gemm_shapes.h"
#include "sim/samm_asic.h"
#include "sim/sim_report.h"
#include "sim/systolic.h"
#include "sim/topology_csv.h"

namespace edgerun::cli {

namespace {

struct SystolicArgs {
  std::string topology, model, attention = "softmax", array = "32x32", dataflow = "os", out;
  std::string precision = "q16";
  int64_t seq = 0;
  int64_t ifmap_kb = sim::kNoStallSramKb, filter_kb = sim::kNoStallSramKb,
          ofmap_kb = sim::kNoStallSramKb;
  double bandwidth = 0;
  double beta = -1;  // < 0: the energy table's value
  bool json = false;
};

struct ArapArgs {
  std::string program, model, input;
  int64_t image = 0;
  bool json = false, listing = false, emit_program = false, isa = false;
};

struct SammArgs {
  std::string model, out, precision = "q16";
  double beta = -1;
  bool json = false;
};

sim::EnergyParams energy_from(const std::string& precision, double beta) {
  sim::EnergyParams e = sim::energy_params(parse_precision(precision));
  if (beta != -1.0) {  // -1: not given
    if (!(beta >= 0 && beta <= 1)) ER_THROW(InputError, "--beta ", beta, ": must be in [0, 1]");
    e.beta = beta;
  }
  return e;
}

void print_systolic_text(const sim::SystolicReport& r, const std::string& source, double sim_us) {
  const sim::SystolicConfig& c = r.cfg;
  std::printf("systolic %lldx%lld %s, %s, on %s: %zu GEMMs costed in %.1f us\n",
              (long long)c.rows, (long long)c.cols, sim::dataflow_name(c.dataflow),
              to_string(r.energy.precision), source.c_str(), r.gemms.size(), sim_us);
  std::printf("%5s  %-44s %7s %7s %7s %8s %12s %8s %8s\n", "id", "gemm", "M", "N", "K", "folds",
              "cycles", "util %", "map %");
  const size_t shown = std::min<size_t>(r.gemms.size(), 40);
  for (size_t i = 0; i < shown; ++i) {
    const sim::GemmCost& g = r.gemms[i];
    std::string name = g.gemm.name.size() > 44 ? "..." + g.gemm.name.substr(g.gemm.name.size() - 41)
                                               : g.gemm.name;
    std::printf("%5zu  %-44s %7lld %7lld %7lld %8lld %12lld %8.2f %8.2f\n", i, name.c_str(),
                (long long)g.gemm.m, (long long)g.gemm.n, (long long)g.gemm.k,
                (long long)g.geo.folds, (long long)g.total_cycles, g.overall_util_pct,
                g.mapping_eff_pct);
  }
  if (shown < r.gemms.size())
    std::printf("  ... %zu more rows (all in COMPUTE_REPORT.csv / --json)\n",
                r.gemms.size() - shown);
  const sim::EnergyBreakdown& e = r.total_energy;
  std::printf("total: %lld cycles (%lld stall), %lld MACs, utilization %.2f%%\n",
              (long long)r.total_cycles, (long long)r.stall_cycles, (long long)r.macs,
              r.overall_util_pct);
  std::printf("SRAM %lld words, DRAM %lld words\n", (long long)r.mem.sram_total(),
              (long long)r.mem.dram_total());
  std::printf("energy: %.4g pJ without clock gating, %.4g pJ gated (beta %.2f): %.2f%% less\n",
              e.total_ungated(), e.total_gated(), r.energy.beta,
              e.total_ungated() > 0 ? (e.total_ungated() - e.total_gated()) / e.total_ungated() * 100
                                    : 0.0);
}

int run_systolic(const SystolicArgs& a) {
  if (a.topology.empty() == a.model.empty())
    ER_THROW(InputError, "sim systolic: give exactly one of --topology FILE.csv or --model DIR");
  sim::SystolicConfig cfg;
  sim::ArrayShape shape = sim::parse_array_shape(a.array);
  cfg.rows = shape.rows;
  cfg.cols = shape.cols;
  cfg.dataflow = sim::parse_dataflow(a.dataflow);
  cfg.ifmap_sram_kb = a.ifmap_kb;
  cfg.filter_sram_kb = a.filter_kb;
  cfg.ofmap_sram_kb = a.ofmap_kb;
  cfg.bandwidth = a.bandwidth;
  cfg.validate();
  const sim::EnergyParams e = energy_from(a.precision, a.beta);

  std::vector<sim::LayerGemm> gemms;
  std::string source;
  nlohmann::json workload;
  if (!a.topology.empty()) {
    for (GemmShape& g : sim::read_topology_csv(a.topology)) gemms.push_back({"", std::move(g)});
    source = a.topology;
  } else {
    ModelGraph mg = build_model(a.model);
    const int64_t T = sim::model_tokens(mg.info, a.seq);
    sim::ModelWorkload w = sim::graph_workload(mg.graph, T, a.attention);
    gemms = std::move(w.gemms);
    source = a.model + " (" + std::to_string(T) + " tokens, " + a.attention + " attention)";
    workload = {{"model", a.model},           {"tokens", T},
                {"attention", a.attention},   {"attention_ops", w.n_attention},
                {"col_adds", w.col_adds},     {"elementwise_ops", w.elementwise},
                {"exps", w.exps}};
  }
  const auto t0 = std::chrono::steady_clock::now();
  sim::SystolicReport r = sim::simulate_systolic(cfg, gemms, e);
  const double sim_us =
      std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
  nlohmann::json j = sim::systolic_json(r);
  j["source"] = source;
  if (!workload.is_null()) j["workload"] = workload;
  j["sim_time_us"] = sim_us;
  if (!a.out.empty()) {
    // Both files are complete before either is renamed into place.
    sim::write_report_files(a.out, {{"COMPUTE_REPORT.csv", sim::compute_report_csv(r)},
                                    {"SIM_REPORT.json", j.dump(2) + "\n"}});
  }
  if (a.json)
    std::printf("%s\n", j.dump(2).c_str());
  else
    print_systolic_text(r, source, sim_us);
  return 0;
}

int run_samm(const SammArgs& a) {
  const sim::EnergyParams e = energy_from(a.precision, a.beta);
  ModelGraph mg = build_model(a.model);
  const int64_t T = sim::model_tokens(mg.info, 0);
  sim::SammReport r = sim::simulate_samm(mg, T, sim::SammConfig{}, e);
  nlohmann::json j = sim::samm_json(r);
  if (!a.out.empty()) sim::write_report_files(a.out, {{"SAMM_REPORT.json", j.dump(2) + "\n"}});
  if (a.json)
    std::printf("%s\n", j.dump(2).c_str());
  else
    std::printf("%s", sim::samm_text(r).c_str());
  return 0;
}

// ---- sim arap ----

namespace arap = sim::arap;

// The SFU's fp32 steps through the engine's own kernels (docs/q16.md keeps them in fp32).
arap::Fp32Ops engine_fp32_ops(ActKind act) {
  arap::Fp32Ops o;
  o.layernorm = [](const float* x, int64_t rows, int64_t d, const float* g, const float* b, float eps, float* y) {
    kernels::layernorm(x, rows, d, g, b, eps, y);
  };
  o.activation = [act](const float* x, int64_t n, float* y) { kernels::activation(x, n, act, y); };
  return o;
}

struct ArapRun {
  arap::ArapResult four, one;
  bool same = true;  // one group computed what four did
};

// Runs `prog` on four groups and on one; with a layer, on its data, else on zero-filled memory.
ArapRun run_both(const arap::Program& prog, const arap::VitLayer* l, const std::vector<float>* x0,
                 std::vector<float>* y) {
  ArapRun r;
  std::vector<float> ys[2];
  for (int pass = 0; pass < 2; ++pass) {
    arap::ArapMachine m(prog, {pass == 0 ? arap::kNumPegs : 1});
    if (l) {
      m.set_fp32_ops(engine_fp32_ops(l->act));
      arap::load_vit_layer_data(m, *l, *x0);
    } else {
      m.zero_fill();
    }
    (pass == 0 ? r.four : r.one) = m.run();
    if (l) ys[pass] = m.read_tensor_f32("y");
  }
  if (l) {
    r.same = ys[0].size() == ys[1].size() &&
             std::memcmp(ys[0].data(), ys[1].data(), ys[0].size() * sizeof(float)) == 0;
    *y = std::move(ys[0]);
  }
  return r;
}

// The pixels of one image: --input (N, C, H, W) float32, else the model's samples.
HostArray arap_image(const ArapArgs& a, const ModelInfo& info, std::string* source) {
  namespace fs = std::filesystem;
  std::string path = a.input;
  if (path.empty()) {
    for (const char* cand : {"samples/one_of_each.npy", "test_x.npy"})
      if (fs::exists(fs::path(a.model) / cand)) {
        path = (fs::path(a.model) / cand).string();
        break;
      }
    if (path.empty())
      ER_THROW(InputError, "sim arap: ", a.model, " has no samples/one_of_each.npy or test_x.npy; give --input PIXELS.npy");
  }
  HostArray x = read_npy(path);
  const int64_t C = info.num_channels, S = info.image_size;
  const int64_t per = C * S * S;
  if (x.dtype != DType::F32 || x.numel() == 0 || x.numel() % per != 0)
    ER_THROW(InputError, path, ": needs float32 pixel values of shape (N, ", C, ", ", S, ", ", S, ")");
  const int64_t n = x.numel() / per;
  if (a.image < 0 || a.image >= n) ER_THROW(InputError, path, ": --image ", a.image, " outside [0, ", n, ")");
  HostArray one(DType::F32, {1, C, S, S});
  std::memcpy(one.bytes.data(), x.bytes.data() + a.image * per * 4, static_cast<size_t>(per) * 4);
  *source = path + " image " + std::to_string(a.image);
  return one;
}

// Host work around the layers: the patch embedding (fp32) of one image.
std::vector<float> arap_embed(const std::string& dir, const ModelInfo& mi, const HostArray& px, int64_t T) {
  const int64_t C = mi.num_channels, S = mi.image_size, P = mi.patch_size, D = mi.hidden;
  const std::vector<float> w = arap::read_model_tensor(dir, "embeddings.patch_embeddings.projection.weight"),
                           b = arap::read_model_tensor(dir, "embeddings.patch_embeddings.projection.bias"),
                           cls = arap::read_model_tensor(dir, "embeddings.cls_token"),
                           pos = arap::read_model_tensor(dir, "embeddings.position_embeddings");
  std::vector<float> x(static_cast<size_t>(T * D)), scratch(static_cast<size_t>((T - 1) * C * P * P));
  kernels::patch_embed(px.as<float>(), 1, C, S, S, P, w.data(), b.data(), cls.data(), pos.data(), D,
                       scratch.data(), x.data());
  return x;
}

// Host work after the layers: final LayerNorm (fp32) of the [CLS] row and the classifier (q16).
std::vector<float> arap_head(const std::string& dir, const ModelGraph& mg, const std::vector<float>& x) {
  const Op* ln = nullptr;
  const Op* head = nullptr;
  for (const Op& op : mg.graph.ops) {
    if (op.name == "layernorm") ln = &op;
    if (op.name == "classifier") head = &op;
  }
  if (!ln || !head || !head->p.q16)
    ER_THROW(UnsupportedError, dir, ": sim arap --model needs a ViTForImageClassification (final layernorm, classifier)");
  const int64_t D = mg.info.hidden, L = mg.graph.values[head->output].cols;
  const std::vector<float> lg = arap::read_model_tensor(dir, "layernorm.weight"),
                           lb = arap::read_model_tensor(dir, "layernorm.bias"),
                           hw = arap::read_model_tensor(dir, "classifier.weight"),
                           hb = arap::read_model_tensor(dir, "classifier.bias");
  std::vector<float> z(static_cast<size_t>(D)), logits(static_cast<size_t>(L));
  kernels::layernorm(x.data(), 1, D, lg.data(), lb.data(), ln->p.eps, z.data());
  std::vector<char> scratch(q16::linear_scratch_bytes(1, D, L, false) + 64);
  q16::linear(z.data(), 1, D, hw.data(), nullptr, L, hb.data(), {head->p.q_x[0], head->p.q_w, head->p.q_out},
              logits.data(), scratch.data());
  return logits;
}

int run_arap(const ArapArgs& a) {
  if (a.isa) {
    std::printf("%s", arap::isa_markdown().c_str());
    return 0;
  }
  std::unique_ptr<ModelGraph> mg;
  arap::VitLayerShape shape;  // the digits ViT's, without a model
  std::vector<arap::VitLayer> layers;
  if (!a.model.empty()) {
    BuildOptions bo;
    bo.attention = AttnVariant::Shiftmax;
    bo.precision = Precision::Q16;
    mg = std::make_unique<ModelGraph>(build_model(a.model, bo));
    for (int64_t i = 0; i < mg->info.n_layer; ++i) layers.push_back(arap::load_vit_layer(a.model, i));
    if (layers.empty()) ER_THROW(UnsupportedError, a.model, ": the model has no encoder layers");
    shape = layers[0].shape;
  }
  const std::string generated = arap::vit_layer_program(shape);
  if (a.emit_program) {
    std::printf("%s", generated.c_str());
    return 0;
  }
  const std::string text = a.program.empty() ? generated : read_text_file(a.program, arap::kMaxProgramBytes);
  const std::string name = a.program.empty() ? "bundled:vit_layer" : a.program;
  nlohmann::json j;
  j["program"] = name;
  j["shape"] = {{"tokens", shape.tokens}, {"d_model", shape.d_model}, {"n_head", shape.n_head}, {"d_ff", shape.d_ff}};

  ArapRun first;
  std::unique_ptr<arap::Program> first_prog;
  if (!mg) {  // timing only: data memory zero-filled, parameters at their defaults
    first_prog = std::make_unique<arap::Program>(arap::assemble(text, name));
    first = run_both(*first_prog, nullptr, nullptr, nullptr);
  } else {
    // Every encoder layer on the ARAP; the host does the rest with the engine's kernels; then
    // the engine itself runs the same image for the bit-exact check.
    std::string source;
    const HostArray px = arap_image(a, mg->info, &source);
    std::vector<float> x = arap_embed(a.model, mg->info, px, shape.tokens);
    nlohmann::json per_layer = nlohmann::json::array();
    bool same = true;
    for (const arap::VitLayer& l : layers) {
      auto prog = std::make_unique<arap::Program>(arap::assemble(text, name, arap::vit_layer_params(l), true));
      std::vector<float> y;
      ArapRun r = run_both(*prog, &l, &x, &y);
      same = same && r.same;
      per_layer.push_back({{"layer", l.layer}, {"four_groups_cycles", r.four.cycles}, {"one_group_cycles", r.one.cycles}});
      if (!first_prog) {
        first = std::move(r);
        first_prog = std::move(prog);
      }
      x = std::move(y);
    }
    const std::vector<float> logits = arap_head(a.model, *mg, x);
    SessionOptions so;
    so.threads = 1;
    so.precision = Precision::Q16;
    so.attention = AttnVariant::Shiftmax;
    Inputs in;
    in.pixel_values = px;
    const HostArray ref = Session::open(a.model, so)->run(in);
    const int64_t L = static_cast<int64_t>(logits.size());
    const bool exact = ref.numel() == L && std::memcmp(ref.bytes.data(), logits.data(), logits.size() * 4) == 0;
    int64_t pred = 0;
    for (int64_t i = 1; i < L; ++i)
      if (logits[static_cast<size_t>(i)] > logits[static_cast<size_t>(pred)]) pred = i;
    j["model"] = {{"dir", a.model},
                  {"input", source},
                  {"layers", per_layer},
                  {"logits", logits},
                  {"predicted", pred},
                  {"one_group_equals_four_groups", same},
                  {"engine", "edgerun run --precision q16 --attention shiftmax"},
                  {"engine_logits", std::vector<float>(ref.as<float>(), ref.as<float>() + ref.numel())},
                  {"bit_exact_vs_engine", exact}};
  }
  if (a.listing && !a.json) std::printf("%s", arap::listing(*first_prog).c_str());
  const double speedup =
      first.four.cycles > 0 ? static_cast<double>(first.one.cycles) / static_cast<double>(first.four.cycles) : 0.0;
  j["instructions"] = first_prog->code.size();
  j["dm_words"] = first_prog->dm_words_used;
  j["four_groups"] = arap::arap_result_json(first.four, *first_prog);
  j["one_group"] = {{"cycles", first.one.cycles},       {"macs", first.one.macs},
                    {"pe_util", first.one.pe_util},     {"active_pe_util", first.one.active_pe_util},
                    {"mac_util", first.one.mac_util}};
  j["speedup_four_over_one"] = speedup;
  if (a.json) {
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  std::printf("ARAP, 4x4 PEs as four 2x2 groups: %s, %zu instructions, %lld data words\n", name.c_str(),
              first_prog->code.size(), static_cast<long long>(first_prog->dm_words_used));
  std::printf("  four groups: %lld cycles per layer, PE utilization %.1f%% (MACs %.1f%%)\n",
              static_cast<long long>(first.four.cycles), 100 * first.four.pe_util, 100 * first.four.mac_util);
  std::printf("  one group:   %lld cycles per layer (the same program, every stream on PEG0), that group %.1f%% busy\n",
              static_cast<long long>(first.one.cycles), 100 * first.one.active_pe_util);
  std::printf("  speedup of four groups over one: %.3fx\n", speedup);
  for (size_t g = 0; g < first.four.pegs.size(); ++g) {
    const arap::PegStats& p = first.four.pegs[g];
    const arap::StreamStats& st = first.four.streams[g];
    std::printf("  PEG%zu: %lld runs, busy %lld cycles (%lld reconfiguring), %lld cycles waiting at handshakes, done at %lld\n",
                g, static_cast<long long>(p.runs), static_cast<long long>(p.busy_cycles),
                static_cast<long long>(p.reconfig_cycles), static_cast<long long>(st.wait_cycles),
                static_cast<long long>(st.end));
  }
  if (mg) {
    const nlohmann::json& m = j["model"];
    std::printf("model %s, %s: %zu encoder layers on the ARAP (host: patch embedding, final LayerNorm, classifier)\n",
                a.model.c_str(), m["input"].get<std::string>().c_str(), layers.size());
    std::printf("  predicted class %lld; one group computed the same values as four: %s\n",
                static_cast<long long>(m["predicted"].get<int64_t>()),
                m["one_group_equals_four_groups"].get<bool>() ? "yes" : "NO");
    std::printf("  logits bit-identical to `edgerun run --precision q16 --attention shiftmax`: %s\n",
                m["bit_exact_vs_engine"].get<bool>() ? "yes" : "NO");
  } else {
    std::printf("  (timing only: no --model, so data memory is zero-filled and parameters keep their defaults)\n");
  }
  return 0;
}

}  // namespace

Runner add_sim(CLI::App& app) {
  auto sa = std::make_shared<SystolicArgs>();
  auto ma = std::make_shared<SammArgs>();
  auto aa = std::make_shared<ArapArgs>();
  CLI::App* sim = app.add_subcommand("sim", "Cost a model or GEMM list on accelerator models");
  sim->require_subcommand(1);

  CLI::App* s = sim->add_subcommand(
      "systolic", "R x C systolic array (os/ws/is): cycles as SCALE-Sim counts them, traffic, energy");
  s->add_option("--topology", sa->topology, "SCALE-Sim GEMM topology CSV (Layer, M, N, K,)");
  s->add_option("--model", sa->model, "Hugging Face model folder (ViT, BERT, GPT-2)");
  s->add_option("--seq", sa->seq, "tokens per sequence (BERT, GPT-2; a ViT's come from its image)");
  s->add_option("--attention", sa->attention, "attention variant: softmax | taylor | sima")
      ->capture_default_str();
  s->add_option("--array", sa->array, "array shape ROWSxCOLS")->capture_default_str();
  s->add_option("--dataflow", sa->dataflow, "os | ws | is")->capture_default_str();
  s->add_option("--out", sa->out, "write COMPUTE_REPORT.csv and SIM_REPORT.json here");
  s->add_option("--ifmap-sram", sa->ifmap_kb, "ifmap SRAM, KB (default: no-stall size)");
  s->add_option("--filter-sram", sa->filter_kb, "filter SRAM, KB (default: no-stall size)");
  s->add_option("--ofmap-sram", sa->ofmap_kb, "ofmap SRAM, KB (default: no-stall size)");
  s->add_option("--bandwidth", sa->bandwidth, "DRAM words per cycle (default 0: unlimited)");
  s->add_option("--precision", sa->precision, "q16 | fp32 (word size and energies)")
      ->capture_default_str();
  s->add_option("--beta", sa->beta, "idle energy of a clock-gated PE, fraction of active");
  s->add_flag("--json", sa->json, "print the JSON report");

  CLI::App* m = sim->add_subcommand(
      "samm", "The SAMM ViT ASIC (17x32, 16x32, 17x1 arrays): Taylor attention, gating sweep");
  m->add_option("--model", ma->model, "Hugging Face ViT (or BERT) folder")->required();
  m->add_option("--out", ma->out, "write SAMM_REPORT.json here");
  m->add_option("--precision", ma->precision, "q16 | fp32")->capture_default_str();
  m->add_option("--beta", ma->beta, "idle energy of a clock-gated PE, fraction of active");
  m->add_flag("--json", ma->json, "print the JSON report");

  CLI::App* r = sim->add_subcommand(
      "arap", "The reconfigurable 4x4 PE array (four 2x2 groups): assemble and run a program, 4 groups vs 1");
  r->add_option("--program", aa->program, "ARAP assembly file (default: the bundled encoder-layer program)");
  r->add_option("--model", aa->model,
                "ViT folder with its q16 calibration: run every encoder layer on the ARAP and check the logits "
                "against the engine");
  r->add_option("--input", aa->input, "pixel values .npy, float32 (N, C, H, W) (default: the model's samples)");
  r->add_option("--image", aa->image, "which image of --input")->capture_default_str();
  r->add_flag("--json", aa->json, "print the JSON report");
  r->add_flag("--listing", aa->listing, "print the assembled program (disassembly and 44-bit words)");
  r->add_flag("--emit-program", aa->emit_program, "print the bundled program's text and stop");
  r->add_flag("--isa", aa->isa, "print the instruction-set table (Markdown) and stop");

  return [sa, ma, aa, s, m, r]() -> int {
    if (s->parsed()) return run_systolic(*sa);
    if (m->parsed()) return run_samm(*ma);
    if (r->parsed()) return run_arap(*aa);

    return 2;
  };
}

}  // namespace edgerun::cli
