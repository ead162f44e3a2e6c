// `edgerun sim systolic` and `edgerun sim samm`: cost a GEMM topology or a model on the SAMM
// systolic-array model and on the SAMM ASIC (docs/SIM.md); `edgerun sim arap`: run ViT encoder
// layers on the reconfigurable array's simulator (docs/ARAP.md). Thin: parsing, the library's
// calls (edgerun/sim.h; for arap --model, the host steps of edgerun/tools.h) and printing.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "edgerun/preprocess.h"
#include "edgerun/sim.h"
#include "edgerun/tools.h"

namespace edgerun::cli {

namespace {

struct SystolicArgs {
  sim::SystolicRequest req;
  std::string precision = "q16";
  std::string attention = "softmax";
  bool json = false;
};

struct ArapArgs {
  sim::ArapRequest req;
  bool json = false;
};

struct SammArgs {
  sim::SammRequest req;
  std::string precision = "q16";
  bool json = false;
};

int print(const sim::SimOutput& o, bool json) {
  if (json && !o.json.empty())
    std::printf("%s\n", o.json.c_str());
  else
    std::printf("%s", o.text.c_str());
  return 0;
}

int run_systolic(SystolicArgs& a) {
  check_output_folder("--out", a.req.out);
  a.req.precision = parse_precision(a.precision);
  a.req.attention = parse_attn_variant(a.attention);
  a.req.bind_onnx = bind_onnx_shapes;
  return print(sim::run_systolic(a.req), a.json);
}

int run_samm(SammArgs& a) {
  check_output_folder("--out", a.req.out);
  a.req.precision = parse_precision(a.precision);
  return print(sim::run_samm(a.req), a.json);
}

int run_arap(const ArapArgs& a) {
  // With a model, the host's work is the CPU backend's, as in the engine.
  std::unique_ptr<VitHostSteps> host;
  sim::ArapHostOps ops;
  if (!a.req.model.empty() && !a.req.isa) {
    host = VitHostSteps::open(a.req.model);
    const VitHostSteps* h = host.get();
    ops.layernorm = [h](const float* x, int64_t rows, int64_t d, const float* g, const float* b, float eps, float* y) {
      h->layernorm(x, rows, d, g, b, eps, y);
    };
    ops.activation = [h](const float* x, int64_t n, float* y) { h->activation(x, n, y); };
    ops.embed = [h](const HostArray& px) { return h->embed(px); };
    ops.head = [h](const std::vector<float>& x) { return h->head(x); };
    ops.engine_logits = [h](const HostArray& px) { return h->engine_logits(px); };
    ops.engine = VitHostSteps::kEngine;
  }
  return print(sim::run_arap(a.req, host ? &ops : nullptr), a.json);
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
  s->add_option("--topology", sa->req.topology, "SCALE-Sim GEMM topology CSV (Layer, M, N, K,)");
  s->add_option("--model", sa->req.model, "Hugging Face model folder (ViT, BERT, GPT-2), or an .onnx file (or a folder holding model.onnx)");
  s->add_option("--input-shape", sa->req.input_shapes,
                "ONNX models: NAME=DIMS (e.g. x=1x3x224x224) per input whose shape is symbolic beyond its batch (default batch 1)");
  s->add_option("--seq", sa->req.seq, "tokens per sequence (BERT, GPT-2; a ViT's come from its image)");
  s->add_option("--attention", sa->attention, "attention variant: softmax | taylor | sima")
      ->capture_default_str();
  s->add_option("--array", sa->req.array, "array shape ROWSxCOLS")->capture_default_str();
  s->add_option("--dataflow", sa->req.dataflow, "os | ws | is")->capture_default_str();
  s->add_option("--out", sa->req.out, "write COMPUTE_REPORT.csv and SIM_REPORT.json here");
  s->add_option("--ifmap-sram", sa->req.ifmap_kb, "ifmap SRAM, KB (default: no-stall size)");
  s->add_option("--filter-sram", sa->req.filter_kb, "filter SRAM, KB (default: no-stall size)");
  s->add_option("--ofmap-sram", sa->req.ofmap_kb, "ofmap SRAM, KB (default: no-stall size)");
  s->add_option("--bandwidth", sa->req.bandwidth, "DRAM words per cycle (default 0: unlimited)");
  s->add_option("--precision", sa->precision, "q16 | fp32 (word size and energies)")
      ->capture_default_str();
  s->add_option("--beta", sa->req.beta, "idle energy of a clock-gated PE, fraction of active");
  s->add_flag("--json", sa->json, "print the JSON report");

  CLI::App* m = sim->add_subcommand(
      "samm", "The SAMM ViT ASIC (17x32, 16x32, 17x1 arrays): Taylor attention, gating sweep");
  m->add_option("--model", ma->req.model, "Hugging Face ViT (or BERT, with --seq) folder")->required();
  m->add_option("--seq", ma->req.seq, "BERT: tokens per sequence (a ViT's come from its image)")
      ->check(CLI::Range(1, 1 << 20));
  m->add_option("--out", ma->req.out, "write SAMM_REPORT.json here");
  m->add_option("--precision", ma->precision, "q16 | fp32")->capture_default_str();
  m->add_option("--beta", ma->req.beta, "idle energy of a clock-gated PE, fraction of active");
  m->add_flag("--json", ma->json, "print the JSON report");

  CLI::App* r = sim->add_subcommand(
      "arap", "The reconfigurable 4x4 PE array (four 2x2 groups): assemble and run a program, 4 groups vs 1");
  r->add_option("--program", aa->req.program, "ARAP assembly file (default: the bundled encoder-layer program)");
  r->add_option("--model", aa->req.model,
                "ViT folder with its q16 calibration: run every encoder layer on the ARAP and check the logits "
                "against the engine");
  r->add_option("--input", aa->req.input, "pixel values .npy, float32 (N, C, H, W) (default: the model's samples)");
  r->add_option("--image", aa->req.image, "which image of --input")->capture_default_str();
  r->add_flag("--json", aa->json, "print the JSON report");
  r->add_flag("--listing", aa->req.listing, "print the assembled program (disassembly and 44-bit words)");
  r->add_flag("--emit-program", aa->req.emit_program, "print the bundled program's text and stop");
  r->add_flag("--isa", aa->req.isa, "print the instruction-set table (Markdown) and stop");

  return [sa, ma, aa, s, m, r]() -> int {
    if (s->parsed()) {
      if (!sa->req.model.empty()) sa->req.model = resolve_model_folder(sa->req.model);
      return run_systolic(*sa);
    }
    if (m->parsed()) {
      ma->req.model = resolve_model_folder(ma->req.model);
      return run_samm(*ma);
    }
    if (r->parsed()) {
      if (!aa->req.model.empty()) aa->req.model = resolve_model_folder(aa->req.model);
      return run_arap(*aa);
    }

    fail<InternalError>("sim: no sim subcommand ran");
  };
}

}  // namespace edgerun::cli
