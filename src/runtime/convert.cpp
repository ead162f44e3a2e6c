// q16 calibration over the engine, and folder conversion (runtime/convert.h).
#include "runtime/convert.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <vector>

#include "core/error.h"
#include "formats/safetensors.h"
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
  auto f = open_file(mg.weights.paths[w.file]);
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
    bo.tile_bytes = 0;  // the exponents are the model's own ops'
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

ConvertReport convert_model(const std::string& src, const std::string& dst, const std::string& dtype,
                            const Q16Sidecar* sidecar, const std::function<void(uint64_t, uint64_t)>& progress) {
  namespace fs = std::filesystem;
  if (dtype != "bf16" && dtype != "q16") ER_THROW(InputError, "convert: unknown --dtype \"", dtype, "\" (bf16, q16)");
  std::error_code ec;
  if (fs::exists(dst, ec) && (!fs::is_directory(dst, ec) || !fs::is_empty(dst, ec)))
    ER_THROW(InputError, dst, ": the output folder exists and is not empty (convert never overwrites)");
  if (fs::exists(dst, ec) && fs::equivalent(src, dst, ec))
    ER_THROW(InputError, "convert: the output folder is the input folder");
  BuildOptions whole;
  whole.tile_bytes = 0;
  ModelGraph mg = build_model(src, whole);  // validates the model; its graph names the Linear weights
  if (mg.info.converted_dtype == "q16")
    ER_THROW(InputError, src, " already holds q16 weights (written by `edgerun convert --dtype q16`); convert the "
             "folder it was made from");
  std::map<std::string, int> q16_exp;  // Linear weight -> exponent
  const std::string sidecar_path = (fs::path(src) / kQ16SidecarName).string();
  Q16Sidecar sc;
  if (dtype == "q16") {
    if (mg.info.family == Family::Gpt2)
      ER_THROW(UnsupportedError, src, ": q16 is implemented for vit and bert models, not gpt2");
    if (!sidecar && !fs::exists(sidecar_path, ec))
      ER_THROW(InputError, src, ": converting to q16 needs the calibration sidecar ", kQ16SidecarName,
               " (give --calib INPUTS.npy)");
    sc = sidecar ? *sidecar : Q16Sidecar::load(sidecar_path);
    for (const Op& op : mg.graph.ops) {
      if (op.kind != OpKind::Linear) continue;
      const std::string& name = mg.graph.slots[op.slots[0]].name;
      auto it = sc.weights.find(name);
      if (it == sc.weights.end()) ER_THROW(FormatError, sidecar_path, ": no exponent for weight \"", name, "\"");
      q16_exp[name] = it->second;
    }
  }
  struct Item {
    std::string name;
    DType dtype;
    Shape shape;
    std::vector<uint8_t> bytes;
  };
  std::vector<Item> items;
  ConvertReport r;
  uint64_t total = 0;
  for (const auto& [name, ref] : mg.weights.tensors) total += ref.entry->nbytes();
  for (const auto& [name, ref] : mg.weights.tensors) {
    const SafetensorsEntry& e = *ref.entry;
    Item it{name, e.dtype, e.shape, std::vector<uint8_t>(e.nbytes())};
    auto f = open_file(mg.weights.files[ref.file].path());
    f->read_at(e.begin, e.nbytes(), it.bytes.data());
    r.bytes_in += e.nbytes();
    const int64_t n = shape_numel(e.shape);
    auto q = q16_exp.find(name);
    if (q != q16_exp.end() || (dtype == "bf16" && e.dtype == DType::F32)) {
      if (e.dtype == DType::I16) ER_THROW(InputError, src, ": tensor \"", name, "\" is already int16");
      std::vector<float> x(static_cast<size_t>(n));
      widen_to_f32(e.dtype, it.bytes.data(), n, x.data());
      it.bytes.assign(static_cast<size_t>(n) * 2, 0);
      auto* out = reinterpret_cast<uint16_t*>(it.bytes.data());
      if (q != q16_exp.end()) {
        it.dtype = DType::I16;
        for (int64_t i = 0; i < n; ++i) out[i] = static_cast<uint16_t>(q16::quantize(x[i], q->second));
      } else {
        it.dtype = DType::BF16;
        for (int64_t i = 0; i < n; ++i) out[i] = f32_to_bf16(x[i]);
      }
      ++r.tensors_converted;
    } else {
      ++r.tensors_kept;
    }
    r.bytes_out += it.bytes.size();
    items.push_back(std::move(it));
    if (progress) progress(r.bytes_in, total);
  }
  // Widest dtype first: with no holes allowed between tensors, that keeps each one aligned.
  std::stable_sort(items.begin(), items.end(),
                   [](const Item& a, const Item& b) { return dtype_size(a.dtype) > dtype_size(b.dtype); });
  fs::create_directories(dst, ec);
  if (ec) ER_THROW(IoError, dst, ": cannot create the folder: ", ec.message());
  for (const auto& entry : fs::directory_iterator(src)) {
    const std::string fname = entry.path().filename().string();
    if (!entry.is_regular_file() || entry.is_symlink()) continue;
    if (entry.path().extension() == ".safetensors" || fname == "model.safetensors.index.json") continue;
    if (fname == kQ16SidecarName) continue;  // written below for q16; other weights' for bf16
    if (fname == "README.md") continue;      // it describes the source's weights, not these
    if (fname == "config.json") {            // the converted folder says what it holds
      nlohmann::ordered_json cfg = nlohmann::ordered_json::parse(read_text_file(entry.path().string(), 16 << 20));
      cfg["edgerun_dtype"] = dtype;
      write_text_file_atomic((fs::path(dst) / fname).string(), cfg.dump(2) + "\n");
      continue;
    }
    fs::copy_file(entry.path(), fs::path(dst) / fname, ec);
    if (ec) ER_THROW(IoError, (fs::path(dst) / fname).string(), ": cannot copy: ", ec.message());
  }
  std::vector<SafetensorsWriteItem> wi;
  for (const Item& it : items) wi.push_back({it.name, it.dtype, it.shape, it.bytes.data()});
  write_safetensors((fs::path(dst) / "model.safetensors").string(), wi,
                    {{"format", "pt"}, {"edgerun_convert", dtype}});
  if (dtype == "q16") write_text_file_atomic((fs::path(dst) / kQ16SidecarName).string(), sc.to_json());
  BuildOptions bo;
  bo.precision = dtype == "q16" ? Precision::Q16 : Precision::Fp32;
  bo.tile_bytes = 0;
  r.streamed_bytes_in = mg.graph.total_weight_bytes();
  r.streamed_bytes_out = build_model(dst, bo).graph.total_weight_bytes();  // and it loads back
  return r;
}

}  // namespace edgerun
