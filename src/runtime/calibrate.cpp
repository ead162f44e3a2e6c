// q16 calibration over the engine (runtime/calibrate.h).
#include "runtime/calibrate.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/error.h"
#include "io/file.h"
#include "kernels/cpu/q16.h"
#include "runtime/engine.h"

namespace edgerun {

namespace {
HostArray slice_rows(const HostArray& a, int64_t r0, int64_t r1) {
  Shape s = a.shape;
  s[0] = r1 - r0;
  HostArray out(a.dtype, s);
  const size_t row = a.bytes.size() / static_cast<size_t>(a.shape[0]);
  std::copy(a.bytes.begin() + static_cast<ptrdiff_t>(row * r0), a.bytes.begin() + static_cast<ptrdiff_t>(row * r1),
            out.bytes.begin());
  return out;
}

int weight_exponent(const ModelGraph& mg, const WeightSlot& w) {
  if (w.file_dtype == DType::I16)
    ER_THROW(InputError, mg.info.dir, ": weight \"", w.name, "\" is already int16; calibrate the floating-point model");
  auto f = open_file(mg.weights.files[w.file].path());
  std::vector<uint8_t> raw(w.nbytes());
  f->read_at(w.begin, w.nbytes(), raw.data());
  std::vector<float> x(static_cast<size_t>(w.numel()));
  widen_to_f32(w.file_dtype, raw.data(), w.numel(), x.data());
  return q16::exponent_for(q16::max_abs(x.data(), w.numel()));
}
}  // namespace

Q16Sidecar calibrate_q16(const std::string& dir, const HostArray& inputs, const HostArray* mask,
                         int64_t batch, const std::string& source, int headroom_bits) {
  if (headroom_bits < 0 || headroom_bits > 8) ER_THROW(InputError, "calibration headroom must be 0 to 8 bits");
  if (inputs.shape.empty() || inputs.shape[0] < 1) ER_THROW(InputError, "calibration needs at least one input");
  if (mask && (mask->shape.empty() || mask->shape[0] != inputs.shape[0]))
    ER_THROW(InputError, "the calibration mask needs one row per input");
  batch = std::max<int64_t>(1, batch);
  Q16Sidecar sc;
  sc.samples = inputs.shape[0];
  sc.source = source;
  sc.headroom_bits = headroom_bits;
  for (AttnVariant v : {AttnVariant::Softmax, AttnVariant::Taylor, AttnVariant::Sima, AttnVariant::Shiftmax}) {
    BuildOptions bo;
    bo.attention = v;
    ModelGraph mg = build_model(dir, bo);
    if (mg.info.family == Family::Gpt2)
      ER_THROW(UnsupportedError, dir, ": q16 calibration is implemented for vit and bert models, not gpt2");
    Graph& g = mg.graph;
    if (v == AttnVariant::Softmax)
      for (const Op& op : g.ops)
        if (op.kind == OpKind::Linear) sc.weights[g.slots[op.slots[0]].name] = weight_exponent(mg, g.slots[op.slots[0]]);
    Q16Stats stats;
    stats.amax.assign(g.ops.size(), {0.0, 0.0, 0.0});
    g.q16_stats = &stats;
    MemoryBudget budget(0);
    Engine engine(mg, budget, EngineOptions{});
    const bool text = mg.info.family != Family::Vit;
    for (int64_t r0 = 0; r0 < inputs.shape[0]; r0 += batch) {
      const int64_t r1 = std::min(inputs.shape[0], r0 + batch);
      HostArray x = slice_rows(inputs, r0, r1), m;
      RunRequest req;
      (text ? req.input_ids : req.pixel_values) = &x;
      if (mask) {
        m = slice_rows(*mask, r0, r1);
        req.attention_mask = &m;
      }
      engine.forward(req);
    }
    auto& dst = sc.ops[to_string(v)];
    for (size_t i = 0; i < g.ops.size(); ++i) {
      const Op& op = g.ops[i];
      if (op.kind != OpKind::Linear && op.kind != OpKind::Attention) continue;
      const auto& a = stats.amax[i];
      // Headroom: inputs beyond the calibration set's range saturate, so leave room above it.
      const double h = std::ldexp(1.0, headroom_bits);
      dst[op.name] = {op.kind == OpKind::Linear ? q16::exponent_for(a[0] * h) : 0,
                      op.kind == OpKind::Attention ? q16::exponent_for(a[1] * h) : 0, q16::exponent_for(a[2] * h)};
    }
    g.q16_stats = nullptr;
  }
  return sc;
}

}  // namespace edgerun
