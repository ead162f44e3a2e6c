// q16 calibration (DESIGN.md "Numerics", docs/q16.md): fp32 passes of the ordinary engine with
// Graph::q16_stats set, so the statistics come from exactly the kernels a run uses; and the
// conversion of a folder to bf16 or q16 weights. The sidecar is read, written and applied by
// models/quantize.h.
#pragma once
#include <cstdint>
#include <functional>
#include <string>

#include "edgerun/array.h"
#include "edgerun/tools.h"
#include "models/quantize.h"

namespace edgerun {

// Calibrates DIR for q16: fp32 passes over `inputs` (pixel values (N, C, H, W) float32 for ViT,
// token ids (N, T) int64 for BERT, with an optional attention mask), in batches of `batch`, once
// per attention variant; weight exponents from each Linear weight's max |w|. Activation exponents
// leave `headroom_bits` of room above the largest value seen (inputs outside the calibration
// set's range would otherwise saturate). The weights must be floating point (calibrate the fp32
// model, then convert).
Q16Sidecar calibrate_q16(const std::string& dir, const HostArray& inputs, const HostArray* mask,
                         int64_t batch, const std::string& source, int headroom_bits = 1);

// `edgerun convert`: writes DST (a new or empty folder) with SRC's weights in `dtype`:
//   bf16: every F32 tensor rounded to BF16 (the rest as stored);
//   q16:  every Linear weight as I16 on its exponent from the sidecar, which is written along
//         (the rest as stored: computed in fp32, docs/q16.md).
// Other top-level files (config.json, tokenizer, preprocessor config, ...) are copied. The
// weights go to one model.safetensors, widest dtype first so every tensor stays aligned.
// `sidecar` (q16): use this calibration instead of SRC's edgerun_q16.json.
// Fills the tensor and byte counts of the public ConvertReport (edgerun/tools.h).
// `progress` (optional): weight bytes converted so far and in all, after each tensor.
ConvertReport convert_model(const std::string& src, const std::string& dst, const std::string& dtype,
                            const Q16Sidecar* sidecar = nullptr,
                            const std::function<void(uint64_t, uint64_t)>& progress = {});

}  // namespace edgerun
