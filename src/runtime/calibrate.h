// q16 calibration (DESIGN.md "Numerics", docs/q16.md): fp32 passes of the ordinary engine with
// Graph::q16_stats set, so the statistics come from exactly the kernels a run uses. The sidecar
// it makes is read, written and applied by models/quantize.h.
#pragma once
#include <cstdint>
#include <string>

#include "edgerun/array.h"
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

}  // namespace edgerun
