// `sim arap` as a library call (edgerun/sim.h run_arap): assemble a program and run it on four
// groups and on one; with a model, every ViT encoder layer on the ARAP and the host's fp32 work
// around them through the caller's ArapHostOps, then the logits against the engine's.
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "edgerun/preprocess.h"
#include "edgerun/sim.h"
#include "io/file.h"
#include "sim/arap_asm.h"
#include "sim/arap_isa.h"
#include "sim/arap_sim.h"
#include "sim/arap_vit.h"
#include "sim/text.h"

namespace edgerun::sim {

namespace {

struct ArapRun {
  arap::ArapResult four, one;
  bool same = true;  // one group computed what four did
};

// Runs `prog` on four groups and on one; with a layer, on its data, else on zero-filled memory.
ArapRun run_both(const arap::Program& prog, const arap::VitLayer* l, const ArapHostOps* host,
                 const std::vector<float>* x0, std::vector<float>* y) {
  ArapRun r;
  std::vector<float> ys[2];
  for (int pass = 0; pass < 2; ++pass) {
    arap::ArapMachine m(prog, {pass == 0 ? arap::kNumPegs : 1});
    if (l) {
      m.set_fp32_ops({host->layernorm, host->activation});
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
HostArray arap_image(const ArapRequest& a, const ModelInfo& info, std::string* source) {
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

}  // namespace

SimOutput run_arap(const ArapRequest& a, const ArapHostOps* host) {
  if (a.isa) return {arap::isa_markdown(), ""};
  std::unique_ptr<ModelGraph> mg;
  arap::VitLayerShape shape;  // the digits ViT's, without a model
  std::vector<arap::VitLayer> layers;
  if (!a.model.empty()) {
    if (!host) ER_THROW(InternalError, "sim arap --model needs the host's fp32 steps");
    mg = std::make_unique<ModelGraph>(arap::build_arap_model(a.model));
    for (int64_t i = 0; i < mg->info.n_layer; ++i) layers.push_back(arap::load_vit_layer(*mg, i));
    if (layers.empty()) ER_THROW(UnsupportedError, a.model, ": the model has no encoder layers");
    shape = layers[0].shape;
  }
  const std::string generated = arap::vit_layer_program(shape);
  if (a.emit_program) return {generated, ""};
  const std::string text = a.program.empty() ? generated : read_text_file(a.program, arap::kMaxProgramBytes);
  const std::string name = a.program.empty() ? "bundled:vit_layer" : a.program;
  nlohmann::json j;
  j["program"] = name;
  j["shape"] = {{"tokens", shape.tokens}, {"d_model", shape.d_model}, {"n_head", shape.n_head}, {"d_ff", shape.d_ff}};

  ArapRun first;
  std::unique_ptr<arap::Program> first_prog;
  if (!mg) {  // timing only: data memory zero-filled, parameters at their defaults
    first_prog = std::make_unique<arap::Program>(arap::assemble(text, name));
    first = run_both(*first_prog, nullptr, nullptr, nullptr, nullptr);
  } else {
    // Every encoder layer on the ARAP; the host does the rest; then the engine itself runs the
    // same image for the bit-exact check.
    std::string source;
    const HostArray px = arap_image(a, mg->info, &source);
    std::vector<float> x = host->embed(px);
    nlohmann::json per_layer = nlohmann::json::array();
    bool same = true;
    for (const arap::VitLayer& l : layers) {
      auto prog = std::make_unique<arap::Program>(arap::assemble(text, name, arap::vit_layer_params(l), true));
      std::vector<float> y;
      ArapRun r = run_both(*prog, &l, host, &x, &y);
      same = same && r.same;
      per_layer.push_back({{"layer", l.layer}, {"four_groups_cycles", r.four.cycles}, {"one_group_cycles", r.one.cycles}});
      if (!first_prog) {
        first = std::move(r);
        first_prog = std::move(prog);
      }
      x = std::move(y);
    }
    const std::vector<float> logits = host->head(x);
    const HostArray ref = host->engine_logits(px);
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
                  {"engine", host->engine},
                  {"engine_logits", std::vector<float>(ref.as<float>(), ref.as<float>() + ref.numel())},
                  {"bit_exact_vs_engine", exact}};
  }
  const double speedup =
      first.four.cycles > 0 ? static_cast<double>(first.one.cycles) / static_cast<double>(first.four.cycles) : 0.0;
  j["instructions"] = first_prog->code.size();
  j["dm_words"] = first_prog->dm_words_used;
  j["four_groups"] = arap::arap_result_json(first.four, *first_prog);
  j["one_group"] = {{"cycles", first.one.cycles},       {"macs", first.one.macs},
                    {"pe_util", first.one.pe_util},     {"active_pe_util", first.one.active_pe_util},
                    {"mac_util", first.one.mac_util}};
  j["speedup_four_over_one"] = speedup;

  std::string s = a.listing ? arap::listing(*first_prog) : "";
  add(s, "ARAP, 4x4 PEs as four 2x2 groups: %s, %zu instructions, %lld data words\n", name.c_str(),
      first_prog->code.size(), static_cast<long long>(first_prog->dm_words_used));
  add(s, "  four groups: %lld cycles per layer, PE utilization %.1f%% (MACs %.1f%%)\n",
      static_cast<long long>(first.four.cycles), 100 * first.four.pe_util, 100 * first.four.mac_util);
  add(s, "  one group:   %lld cycles per layer (the same program, every stream on PEG0), that group %.1f%% busy\n",
      static_cast<long long>(first.one.cycles), 100 * first.one.active_pe_util);
  add(s, "  speedup of four groups over one: %.3fx\n", speedup);
  for (size_t g = 0; g < first.four.pegs.size(); ++g) {
    const arap::PegStats& p = first.four.pegs[g];
    const arap::StreamStats& st = first.four.streams[g];
    add(s, "  PEG%zu: %lld runs, busy %lld cycles (%lld reconfiguring), %lld cycles waiting at handshakes, done at %lld\n",
        g, static_cast<long long>(p.runs), static_cast<long long>(p.busy_cycles),
        static_cast<long long>(p.reconfig_cycles), static_cast<long long>(st.wait_cycles),
        static_cast<long long>(st.end));
  }
  if (mg) {
    const nlohmann::json& m = j["model"];
    add(s, "model %s, %s: %zu encoder layers on the ARAP (host: patch embedding, final LayerNorm, classifier)\n",
        a.model.c_str(), m["input"].get<std::string>().c_str(), layers.size());
    add(s, "  predicted class %lld; one group computed the same values as four: %s\n",
        static_cast<long long>(m["predicted"].get<int64_t>()), m["one_group_equals_four_groups"].get<bool>() ? "yes" : "NO");
    add(s, "  logits bit-identical to `%s`: %s\n", host->engine.c_str(), m["bit_exact_vs_engine"].get<bool>() ? "yes" : "NO");
  } else {
    s += "  (timing only: no --model, so data memory is zero-filled and parameters keep their defaults)\n";
  }
  return {s, j.dump(2)};
}

}  // namespace edgerun::sim
