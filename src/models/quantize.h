// Precision set-up of a built graph, and q16 calibration (DESIGN.md "Numerics", docs/q16.md).
// The q16 exponents (value = int16 * 2^e) of every Linear weight and of every quantized
// activation are calibrated once on sample inputs with fp32 passes and stored in the model folder
// as the sidecar edgerun_q16.json; runs read them and never recompute them per input.
// Leaves out: per-channel scales, percentile clipping (the calibration takes the max |x|).
#pragma once
#include <array>
#include <cstdint>
#include <map>
#include <string>

#include "edgerun/array.h"
#include "models/model.h"

namespace edgerun {

constexpr const char* kQ16SidecarName = "edgerun_q16.json";

struct Q16Sidecar {
  // Tensor name (as in the weight files) -> exponent, for every Linear weight.
  std::map<std::string, int> weights;
  // Attention variant -> op name -> {in, mid, out} exponents (a Linear uses in/out, an Attention
  // mid/out; unused entries are 0). Calibrated per variant: a variant changes every activation
  // downstream of its first attention.
  std::map<std::string, std::map<std::string, std::array<int, 3>>> ops;
  int64_t samples = 0;     // calibration inputs
  std::string source;      // where they came from (free text)
  int headroom_bits = 0;   // activation exponents leave max |x| * 2^headroom_bits room

  // Strict reading of an untrusted file: FormatError naming the file and key for anything
  // malformed, exponents outside [q16::kMinExp, q16::kMaxExp] included.
  static Q16Sidecar load(const std::string& path);
  std::string to_json() const;
};

// Applies info.precision to a freshly built graph: q16 sets every Linear and Attention op's
// exponents from DIR/edgerun_q16.json (errors name what is missing); bf16 marks fp32 weights to
// be rounded to bf16 as they load; fp32 refuses int16 weight files (they need q16). Called by
// build_model.
void apply_precision(ModelGraph& mg);

// calibrate_q16 (it runs the engine): runtime/convert.h.

// Writes `text` to `path` through a temporary file renamed into place (no partial file).
void write_text_file_atomic(const std::string& path, const std::string& text);

// convert_model (it quantizes with the q16 kernels' rounding): runtime/convert.h.

}  // namespace edgerun
