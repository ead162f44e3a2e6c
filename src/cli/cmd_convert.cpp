// `edgerun convert MODEL --dtype bf16|q16 --out DIR`: writes the model with its weights in that
// dtype, so that streaming reads about half the bytes; and the q16 calibration:
// `--calib X.npy` calibrates on those inputs (else MODEL/edgerun_q16.json is used), and
// `--sidecar-only` writes just MODEL/edgerun_q16.json, leaving the weights as they are.
#include <cstdio>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "core/error.h"
#include "edgerun/edgerun.h"
#include "models/quantize.h"

namespace edgerun::cli {

namespace {
struct ConvertArgs {
  std::string model, dtype, out, calib, calib_mask;
  int64_t batch = 64;
  int headroom = 1;
  bool sidecar_only = false, json = false;
};

int run(const ConvertArgs& a) {
  std::unique_ptr<Q16Sidecar> sc;
  if (!a.calib.empty()) {
    HostArray x = read_npy(a.calib), m;
    if (!a.calib_mask.empty()) m = read_npy(a.calib_mask);
    sc = std::make_unique<Q16Sidecar>(calibrate_q16(a.model, x, a.calib_mask.empty() ? nullptr : &m, a.batch,
                                                     std::filesystem::path(a.calib).filename().string(), a.headroom));
  } else if (!a.calib_mask.empty()) {
    ER_THROW(InputError, "--calib-mask needs --calib");
  }
  nlohmann::json j;
  j["model"] = a.model;
  if (a.sidecar_only) {
    if (!sc) ER_THROW(InputError, "--sidecar-only needs --calib INPUTS.npy");
    if (!a.out.empty() || !a.dtype.empty()) ER_THROW(InputError, "--sidecar-only writes into MODEL; drop --out and --dtype");
    const std::string path = (std::filesystem::path(a.model) / kQ16SidecarName).string();
    write_text_file_atomic(path, sc->to_json());
    j["sidecar"] = path;
    j["samples"] = sc->samples;
  } else {
    if (a.dtype.empty() || a.out.empty()) ER_THROW(InputError, "convert needs --dtype bf16|q16 and --out DIR");
    if (sc && a.dtype != "q16") ER_THROW(InputError, "--calib applies to --dtype q16 only");
    const ConvertResult r = convert_model(a.model, a.out, a.dtype, sc.get());
    j["out"] = a.out;
    j["dtype"] = a.dtype;
    j["tensors_converted"] = r.converted;
    j["tensors_kept"] = r.kept;
    j["bytes_in"] = r.bytes_in;
    j["bytes_out"] = r.bytes_out;
    j["streamed_bytes_in"] = r.streamed_in;
    j["streamed_bytes_out"] = r.streamed_out;
    j["streamed_ratio"] = r.streamed_in ? static_cast<double>(r.streamed_out) / static_cast<double>(r.streamed_in) : 0.0;
  }
  if (a.json) {
    std::printf("%s\n", j.dump(2).c_str());
  } else if (a.sidecar_only) {
    std::printf("wrote %s (calibrated on %lld inputs)\n", j["sidecar"].get<std::string>().c_str(),
                static_cast<long long>(sc->samples));
  } else {
    std::printf("wrote %s: %lld tensors as %s, %lld kept; streaming reads %llu of %llu bytes (%.1f%%)\n",
                a.out.c_str(), static_cast<long long>(j["tensors_converted"].get<int64_t>()), a.dtype.c_str(),
                static_cast<long long>(j["tensors_kept"].get<int64_t>()),
                static_cast<unsigned long long>(j["streamed_bytes_out"].get<uint64_t>()),
                static_cast<unsigned long long>(j["streamed_bytes_in"].get<uint64_t>()),
                100.0 * j["streamed_ratio"].get<double>());
  }
  return 0;
}
}  // namespace

Runner add_convert(CLI::App& app) {
  auto a = std::make_shared<ConvertArgs>();
  CLI::App* c = app.add_subcommand("convert", "Write a model in bf16 or q16 (16-bit fixed point), or calibrate q16");
  c->add_option("model", a->model, "Hugging Face model folder")->required();
  c->add_option("--dtype", a->dtype, "bf16 | q16");
  c->add_option("-o,--out", a->out, "Output folder (new or empty)");
  c->add_option("--calib", a->calib,
                "q16 calibration inputs, .npy: pixel values float32 (N,C,H,W) or token ids int64 (N,T)");
  c->add_option("--calib-mask", a->calib_mask, "BERT: attention mask for --calib, int64 .npy (N,T)");
  c->add_option("--batch", a->batch, "Calibration batch size")->check(CLI::Range(1, 1 << 16));
  c->add_option("--headroom-bits", a->headroom,
                "Calibration: room above the largest activation seen, in bits (default 1)")
      ->check(CLI::Range(0, 8));
  c->add_flag("--sidecar-only", a->sidecar_only,
              "Only write MODEL/edgerun_q16.json from --calib (then `run --precision q16` works on MODEL)");
  c->add_flag("--json", a->json, "Print a JSON summary");
  return [a] { return run(*a); };
}

}  // namespace edgerun::cli
