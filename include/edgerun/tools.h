// Implemented in src/runtime/
//
// Model tools that run the engine: the layer profiler and cost-model fit (`edgerun profile`),
// conversion to bf16 / q16 with the q16 calibration (`edgerun convert`), and the host steps of
// a q16 ViT whose encoder layers run elsewhere (`edgerun sim arap --model`).
#pragma once
#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "edgerun/array.h"
#include "edgerun/types.h"

namespace edgerun {

// ---- profile ----

struct ProfileRequest {
  int threads = 0;
  int repeats = 3;           // compute passes per token count, and cold loads per block (median)
  int max_block_layers = 4;  // load samples: blocks of 1..k consecutive layers
  bool cold = true;          // drop the page cache before every load sample
  // The reader, as SessionOptions (0: the session's defaults).
  int io_depth = 0;
  uint64_t io_chunk_bytes = 0;
  IoEngine io_engine = IoEngine::Auto;
  bool record = true;  // record the cost model for the device and model (sessions use it)
  std::function<void(const std::string&)> progress;  // one line per step
};

struct ProfiledLayer {
  std::string name;
  uint64_t bytes = 0;
  double flops = 0;       // at the profile's largest token count
  double load_ms = 0;     // cold, direct I/O, this layer alone
  double compute_ms = 0;  // at the profile's largest token count
};

// A fitted time model: ms = coef[0] * x + coef[1] * depth + coef[2].
struct CostFit {
  std::array<double, 3> coef{0, 0, 0};
  double r2 = 0;            // on the fitting samples
  double mape_holdout = 0;  // mean |pred - y| / y on held-out samples
  int n_fit = 0, n_holdout = 0;
};

struct ProfileReport {
  std::vector<ProfiledLayer> layers;
  CostFit t_in, t_ex, t_out;  // load (bytes), compute (FLOPs), free (bytes)
  // The per-layer compute times that plans use, judged on the held-out shape (coef unused;
  // r2 and mape_holdout both on the held-out blocks, n_holdout of them).
  CostFit t_ex_layers;
  double read_bytes_per_s = 0, flops_per_s = 0;
  // How the loads ran: the budget's limit, its huge pages, the bytes committed before timing,
  // the reader (io_uring | threads | buffered), the compute threads, ops per backend.
  uint64_t budget_bytes = 0, committed_bytes = 0;
  bool huge_pages = false;
  std::string io_engine, backends;
  int threads = 0;
  std::string recorded_in;  // the record file the cost model went to; empty when not recorded
  // The files `edgerun profile` writes: profile.csv, profile.json, cost_model.json (the one
  // `plan|run --cost-model` read).
  std::string csv, json, cost_model_json;
};

ProfileReport profile(const std::string& model_dir, const ProfileRequest& req);

// ---- convert ----

struct ConvertRequest {
  std::string model;
  std::string dtype;           // bf16 | q16 (empty with sidecar_only)
  std::string out;             // a new or empty folder (empty with sidecar_only)
  std::string calib_npy;       // q16 calibration inputs: pixel values (N,C,H,W) or token ids (N,T)
  std::string calib_mask_npy;  // BERT: attention mask for calib_npy
  int64_t batch = 64;          // calibration batch
  int headroom_bits = 1;       // calibration: room above the largest activation seen
  bool sidecar_only = false;   // only write MODEL/edgerun_q16.json from calib_npy
  // After each tensor is read and converted: weight bytes done so far and in all.
  std::function<void(uint64_t done, uint64_t total)> progress;
};

struct ConvertReport {
  // sidecar_only:
  std::string sidecar;  // the path written
  int64_t samples = 0;  // calibration inputs
  // else:
  int64_t tensors_converted = 0, tensors_kept = 0;
  uint64_t bytes_in = 0, bytes_out = 0;                  // tensor bytes
  uint64_t streamed_bytes_in = 0, streamed_bytes_out = 0;  // bytes a fully streamed pass reads
  double streamed_ratio() const {
    return streamed_bytes_in ? static_cast<double>(streamed_bytes_out) / static_cast<double>(streamed_bytes_in) : 0.0;
  }
};

// Calibrates (when calib_npy is given) and writes the sidecar or the converted folder. Throws
// InputError for inconsistent requests (what `edgerun convert` reports), and the errors of the
// model, calibration inputs and output folder.
ConvertReport convert(const ConvertRequest& req);

// ---- host steps of a q16 ViT ----

// What the host computes when a ViT's encoder layers run on an accelerator model (edgerun/sim.h
// ArapHostOps takes these): the fp32 LayerNorm and activation inside the layers, the patch
// embedding before them, the final LayerNorm + q16 classifier after them, and the engine's own
// logits, all with the CPU backend's kernels, so that a layer-exact accelerator gives logits
// bit-identical to the engine's. The model runs with q16 precision and shiftmax attention.
struct ModelGraph;  // models/model.h

// Binds an ONNX model's graph to the input shapes `plan` would use (batch 1 where the batch is
// symbolic; NAME=DIMS overrides, as `plan --input-shape`), running its shape arithmetic on the
// CPU backend: afterwards every op's shapes are known (sim's GEMM lists). The model's constants
// are read for the bind and released after it.
void bind_onnx_shapes(ModelGraph& mg, const std::vector<std::string>& input_shapes);

class VitHostSteps {
 public:
  // How engine_logits() computes, in the CLI's words.
  static constexpr const char* kEngine = "edgerun run --precision q16 --attention shiftmax";
  // Builds the model (q16, shiftmax); the errors of a Session::open of it.
  static std::unique_ptr<VitHostSteps> open(const std::string& model_dir);
  virtual ~VitHostSteps() = default;
  // y (rows, d) = LayerNorm of x with gamma, beta, eps.
  virtual void layernorm(const float* x, int64_t rows, int64_t d, const float* gamma, const float* beta, float eps,
                         float* y) const = 0;
  // y (n) = the model's activation (hidden_act) of x (n).
  virtual void activation(const float* x, int64_t n, float* y) const = 0;
  // The embeddings (T, D) of one image's pixel values (1, C, H, W): patches, [CLS], positions.
  virtual std::vector<float> embed(const HostArray& pixels) const = 0;
  // Logits of the last layer's output (T, D): final LayerNorm of the [CLS] row, then the q16
  // classifier. UnsupportedError unless the model is a ViTForImageClassification.
  virtual std::vector<float> head(const std::vector<float>& x) const = 0;
  // The engine's logits for the same pixels (one thread, q16, shiftmax).
  virtual HostArray engine_logits(const HostArray& pixels) const = 0;
};

}  // namespace edgerun
