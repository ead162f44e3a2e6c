// `edgerun convert MODEL --dtype bf16|q16 --out DIR`: writes the model with its weights in that
// dtype, so that streaming reads about half the bytes; and the q16 calibration:
// `--calib X.npy` calibrates on those inputs (else MODEL/edgerun_q16.json is used), and
// `--sidecar-only` writes just MODEL/edgerun_q16.json, leaving the weights as they are.
#include <unistd.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "edgerun/format.h"
#include "edgerun/preprocess.h"
#include "edgerun/tools.h"

namespace edgerun::cli {

namespace {
struct ConvertArgs {
  ConvertRequest req;
  bool json = false;
};

int run(const ConvertArgs& args) {
  ConvertRequest a = args.req;
  if (!a.sidecar_only) check_output_folder("--out", a.out);
  // On a terminal, one line that counts up; nothing in logs.
  const bool tty = isatty(STDERR_FILENO);
  if (tty)
    a.progress = [](uint64_t done, uint64_t total) {
      std::fprintf(stderr, "\rconverting: %s of %s", format_bytes(static_cast<double>(done)).c_str(),
                   format_bytes(static_cast<double>(total)).c_str());
    };
  const ConvertReport r = convert(a);
  if (tty && !a.sidecar_only) std::fputc('\n', stderr);
  if (args.json) {
    nlohmann::json j;
    j["model"] = a.model;
    if (a.sidecar_only) {
      j["sidecar"] = r.sidecar;
      j["samples"] = r.samples;
    } else {
      j["out"] = a.out;
      j["dtype"] = a.dtype;
      j["tensors_converted"] = r.tensors_converted;
      j["tensors_kept"] = r.tensors_kept;
      j["bytes_in"] = r.bytes_in;
      j["bytes_out"] = r.bytes_out;
      j["streamed_bytes_in"] = r.streamed_bytes_in;
      j["streamed_bytes_out"] = r.streamed_bytes_out;
      j["streamed_ratio"] = r.streamed_ratio();
    }
    std::printf("%s\n", j.dump(2).c_str());
  } else if (a.sidecar_only) {
    std::printf("wrote %s (calibrated on %lld inputs)\n", r.sidecar.c_str(), static_cast<long long>(r.samples));
  } else {
    std::printf("wrote %s: %lld tensors as %s, %lld kept; streaming reads %llu of %llu bytes (%.1f%%)\n",
                a.out.c_str(), static_cast<long long>(r.tensors_converted), a.dtype.c_str(),
                static_cast<long long>(r.tensors_kept), static_cast<unsigned long long>(r.streamed_bytes_out),
                static_cast<unsigned long long>(r.streamed_bytes_in), 100.0 * r.streamed_ratio());
  }
  return 0;
}
}  // namespace

Runner add_convert(CLI::App& app) {
  auto a = std::make_shared<ConvertArgs>();
  CLI::App* c = app.add_subcommand("convert", "Write a model in bf16 or q16 (16-bit fixed point), or calibrate q16");
  c->add_option("model", a->req.model, "Hugging Face model folder")->required();
  c->add_option("--dtype", a->req.dtype, "bf16 | q16");
  c->add_option("-o,--out", a->req.out, "Output folder (new or empty)");
  c->add_option("--calib", a->req.calib_npy,
                "q16 calibration inputs, .npy: pixel values float32 (N,C,H,W) or token ids int64 (N,T)");
  c->add_option("--calib-mask", a->req.calib_mask_npy, "BERT: attention mask for --calib, int64 .npy (N,T)");
  c->add_option("--batch", a->req.batch, "Calibration batch size")->check(CLI::Range(1, 1 << 16));
  c->add_option("--headroom-bits", a->req.headroom_bits,
                "Calibration: room above the largest activation seen, in bits (default 1)")
      ->check(CLI::Range(0, 8));
  c->add_flag("--sidecar-only", a->req.sidecar_only,
              "Only write MODEL/edgerun_q16.json from --calib (then `run --precision q16` works on MODEL)");
  c->add_flag("--json", a->json, "Print a JSON summary");
  return [a] {
    a->req.model = resolve_model_folder(a->req.model);
    return run(*a);
  };
}

}  // namespace edgerun::cli
