// Implemented in src/sim/
//
// The accelerator simulators behind `edgerun sim` (docs/SIM.md, docs/ARAP.md): a SCALE-Sim-style
// R x C systolic array costing a GEMM topology or a model's GEMMs; the SAMM ViT ASIC; and the
// reconfigurable 4x4 PE array (ARAP) running an assembly program, with a ViT's encoder layers
// on it when given a model. Each call returns its report as the CLI prints it (text and JSON)
// and writes the report files it is asked for.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "edgerun/array.h"
#include "edgerun/types.h"

namespace edgerun {
struct ModelGraph;  // models/model.h
}

namespace edgerun::sim {

// SRAM sizes (KB) large enough that no GEMM of a model stalls on them: the default.
constexpr int64_t kNoStallSramKb = int64_t{1} << 20;

// A simulator's report: the text `edgerun sim ...` prints, and the JSON --json prints (empty
// where the command has only text: `sim arap --isa`, `--emit-program`).
struct SimOutput {
  std::string text;
  std::string json;
};

// ---- systolic ----

struct SystolicRequest {
  std::string topology;  // SCALE-Sim GEMM topology CSV; exactly one of topology and model
  std::string model;     // Hugging Face model folder (ViT, BERT, GPT-2) or an .onnx file
  int64_t seq = 0;       // BERT, GPT-2: tokens per sequence (a ViT's come from its image)
  // ONNX models: NAME=DIMS per input (as `plan --input-shape`; default: batch 1 where the batch
  // is symbolic), and the bind of the graph's shapes to them, which runs shape arithmetic on a
  // backend (the CLI passes edgerun/tools.h's bind_onnx_shapes; sim itself runs no backend).
  std::vector<std::string> input_shapes;
  std::function<void(ModelGraph&, const std::vector<std::string>&)> bind_onnx;
  AttnVariant attention = AttnVariant::Softmax;  // softmax | taylor | sima: how Attention ops decompose
  std::string array = "32x32";        // ROWSxCOLS
  std::string dataflow = "os";        // os | ws | is
  int64_t ifmap_kb = kNoStallSramKb, filter_kb = kNoStallSramKb, ofmap_kb = kNoStallSramKb;
  double bandwidth = 0;               // DRAM words per cycle; 0: unlimited
  Precision precision = Precision::Q16;  // word size and energies (q16 | fp32)
  double beta = -1;                   // idle energy of a clock-gated PE; < 0: the table's
  std::string out;                    // write COMPUTE_REPORT.csv and SIM_REPORT.json here
};
SimOutput run_systolic(const SystolicRequest& req);

// ---- SAMM ----

struct SammRequest {
  std::string model;  // a ViT (or BERT) folder
  int64_t seq = 0;    // BERT: tokens per sequence (a ViT's come from its image)
  Precision precision = Precision::Q16;
  double beta = -1;   // < 0: the table's
  std::string out;    // write SAMM_REPORT.json here
};
SimOutput run_samm(const SammRequest& req);

// ---- ARAP ----

// The host's floating-point work in `sim arap --model` (docs/q16.md keeps it in fp32), supplied
// by the caller so that the result can match an engine's bit for bit (edgerun/tools.h
// VitHostSteps gives the CPU backend's). Inside each layer: the SFU's LayerNorm and activation;
// around the layers: the patch embedding of one image and the final LayerNorm + classifier of
// the [CLS] row; and the engine's own logits for the same image, for the bit-exact check.
struct ArapHostOps {
  std::function<void(const float* x, int64_t rows, int64_t d, const float* gamma, const float* beta, float eps,
                     float* y)>
      layernorm;
  std::function<void(const float* x, int64_t n, float* y)> activation;  // the model's activation
  std::function<std::vector<float>(const HostArray& pixels)> embed;       // (1,C,H,W) -> (T, D)
  std::function<std::vector<float>(const std::vector<float>& x)> head;    // (T, D) -> logits
  std::function<HostArray(const HostArray& pixels)> engine_logits;
  std::string engine;  // how engine_logits computes, for the report
};

struct ArapRequest {
  std::string program;  // assembly file; empty: the bundled encoder-layer program
  std::string model;    // ViT folder with its q16 calibration: every encoder layer on the ARAP
  std::string input;    // pixel values .npy (N, C, H, W); empty: the model's samples
  int64_t image = 0;    // which image of input
  bool listing = false;       // text: the assembled program first
  bool emit_program = false;  // only the bundled program's text
  bool isa = false;           // only the instruction-set table (Markdown)
};
// `host` is required with a model (InputError else) and unused without one.
SimOutput run_arap(const ArapRequest& req, const ArapHostOps* host);

}  // namespace edgerun::sim
