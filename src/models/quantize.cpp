// The q16 sidecar (edgerun_q16.json): strict reading, writing, applying it to a graph, and
// writing text files atomically. The calibration that makes a sidecar, and the conversion of
// folders to bf16 / q16, run kernels: runtime/convert.cpp.
#include "models/quantize.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <vector>

#include "core/error.h"
#include "core/q16_format.h"
#include "formats/json_strict.h"
#include "io/file.h"

namespace edgerun {

namespace {
constexpr const char* kFormat = "edgerun-q16";
constexpr int kVersion = 1;
constexpr const char* kSlotNames[3] = {"in", "mid", "out"};

int read_exponent(const nlohmann::json& v, const std::string& path, const std::string& where) {
  if (!v.is_number_integer())
    ER_THROW(FormatError, path, ": ", where, " is not an integer exponent");
  const int64_t e = v.get<int64_t>();
  if (e < q16::kMinExp || e > q16::kMaxExp)
    ER_THROW(FormatError, path, ": ", where, " = ", e, " is outside [", q16::kMinExp, ", ", q16::kMaxExp, "]");
  return static_cast<int>(e);
}

const nlohmann::json& object_at(const nlohmann::json& j, const char* key, const std::string& path) {
  if (!j.contains(key) || !j[key].is_object())
    ER_THROW(FormatError, path, ": \"", key, "\" is missing or not an object");
  return j[key];
}
}  // namespace

Q16Sidecar Q16Sidecar::load(const std::string& path) {
  const nlohmann::json j = parse_json_strict(read_text_file(path, 16ull << 20), path, "q16 sidecar");
  if (!j.is_object()) ER_THROW(FormatError, path, ": top level is not a JSON object");
  if (!j.contains("format") || j["format"] != kFormat)
    ER_THROW(FormatError, path, ": \"format\" is not \"", kFormat, "\"");
  if (!j.contains("version") || j["version"] != kVersion)
    ER_THROW(FormatError, path, ": \"version\" is not ", kVersion, " (the only version this edgerun reads)");
  Q16Sidecar s;
  for (const auto& [name, e] : object_at(j, "weights", path).items())
    s.weights[name] = read_exponent(e, path, "weights[\"" + name + "\"]");
  for (const auto& [variant, ops] : object_at(j, "ops", path).items()) {
    AttnVariant v;
    if (!parse(variant, &v))
      ER_THROW(FormatError, path, ": ops[\"", variant, "\"]: not an attention variant");
    if (!ops.is_object()) ER_THROW(FormatError, path, ": ops[\"", variant, "\"] is not an object");
    auto& dst = s.ops[variant];
    for (const auto& [op, ex] : ops.items()) {
      const std::string where = "ops[\"" + variant + "\"][\"" + op + "\"]";
      if (!ex.is_object() || ex.size() != 3) ER_THROW(FormatError, path, ": ", where, " is not {in, mid, out}");
      std::array<int, 3> e{};
      for (int i = 0; i < 3; ++i) {
        if (!ex.contains(kSlotNames[i])) ER_THROW(FormatError, path, ": ", where, " has no \"", kSlotNames[i], "\"");
        e[i] = read_exponent(ex[kSlotNames[i]], path, where + "." + kSlotNames[i]);
      }
      dst[op] = e;
    }
  }
  if (j.contains("samples")) {
    if (!j["samples"].is_number_unsigned()) ER_THROW(FormatError, path, ": \"samples\" is not a count");
    s.samples = j["samples"].get<int64_t>();
  }
  if (j.contains("headroom_bits")) {
    if (!j["headroom_bits"].is_number_unsigned()) ER_THROW(FormatError, path, ": \"headroom_bits\" is not a count");
    s.headroom_bits = j["headroom_bits"].get<int>();
  }
  if (j.contains("source")) {
    if (!j["source"].is_string()) ER_THROW(FormatError, path, ": \"source\" is not a string");
    s.source = j["source"].get<std::string>();
  }
  return s;
}

std::string Q16Sidecar::to_json() const {
  nlohmann::ordered_json j;
  j["format"] = kFormat;
  j["version"] = kVersion;
  j["about"] = "q16 exponents e (value = int16 * 2^e), calibrated once; see docs/q16.md";
  j["samples"] = samples;
  j["source"] = source;
  j["headroom_bits"] = headroom_bits;
  j["weights"] = nlohmann::ordered_json::object();
  for (const auto& [n, e] : weights) j["weights"][n] = e;
  j["ops"] = nlohmann::ordered_json::object();
  for (const auto& [v, ops] : this->ops) {
    j["ops"][v] = nlohmann::ordered_json::object();
    for (const auto& [op, e] : ops) j["ops"][v][op] = {{"in", e[0]}, {"mid", e[1]}, {"out", e[2]}};
  }
  return j.dump(1) + "\n";
}

void write_text_file_atomic(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    f << text;
    if (!f.flush()) ER_THROW(IoError, tmp, ": cannot write");
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::filesystem::remove(tmp, ec);
    ER_THROW(IoError, path, ": cannot write: ", ec.message());
  }
}

namespace {
void apply_q16(ModelGraph& mg) {
  Graph& g = mg.graph;
  const std::string path = (std::filesystem::path(mg.info.dir) / kQ16SidecarName).string();
  std::error_code ec;
  if (!std::filesystem::exists(path, ec))
    ER_THROW(InputError, mg.info.dir, ": --precision q16 needs the calibration sidecar ", kQ16SidecarName,
             " in the model folder; make it with `edgerun convert ", mg.info.dir,
             " --sidecar-only --calib INPUTS.npy`");
  const Q16Sidecar sc = Q16Sidecar::load(path);
  const std::string variant = to_string(mg.info.attention);
  auto vit = sc.ops.find(variant);
  if (vit == sc.ops.end())
    ER_THROW(InputError, path, ": no calibration for ", variant, " attention; recalibrate with "
             "`edgerun convert ", mg.info.dir, " --sidecar-only --calib INPUTS.npy`");
  // int16 tensors are Linear weights only: everything else is computed in fp32.
  std::vector<bool> linear_weight(g.slots.size(), false);
  for (const Op& op : g.ops)
    if (op.kind == OpKind::Linear) linear_weight[op.slots[0]] = true;
  for (size_t s = 0; s < g.slots.size(); ++s)
    if (g.slots[s].file_dtype == DType::I16 && !linear_weight[s])
      ER_THROW(UnsupportedError, mg.info.dir, ": tensor \"", g.slots[s].name,
               "\" is int16, but only Linear weights may be (the rest of a q16 model stays floating point)");
  std::vector<int32_t> producer(g.values.size(), -1);
  for (size_t i = 0; i < g.ops.size(); ++i) producer[g.ops[i].output] = static_cast<int32_t>(i);
  for (Op& op : g.ops) {
    if (op.kind != OpKind::Linear && op.kind != OpKind::Attention) continue;
    auto it = vit->second.find(op.name);
    if (it == vit->second.end())
      ER_THROW(FormatError, path, ": no exponents for op \"", op.name, "\" under \"", variant, "\"");
    const std::array<int, 3>& e = it->second;
    if (op.kind == OpKind::Linear) {
      if (op.p.w_in_out || op.p.chunk_begin >= 0)
        ER_THROW(UnsupportedError, op.name, ": q16 Linear takes (out, in) weights in one piece");
      const WeightSlot& w = g.slots[op.slots[0]];
      auto wit = sc.weights.find(w.name);
      if (wit == sc.weights.end())
        ER_THROW(FormatError, path, ": no exponent for weight \"", w.name, "\"");
      op.p.q_x[0] = static_cast<int8_t>(e[0]);
      op.p.q_w = static_cast<int8_t>(wit->second);
    } else {
      if (op.inputs.size() != 3)
        ER_THROW(UnsupportedError, op.name, ": q16 attention takes separate q, k, v projections");
      for (int i = 0; i < 3; ++i) {
        const int32_t pi = producer[op.inputs[i]];
        if (pi < 0 || g.ops[pi].kind != OpKind::Linear)
          ER_THROW(UnsupportedError, op.name, ": q16 attention inputs must come from Linear ops");
        op.p.q_x[i] = static_cast<int8_t>(vit->second.at(g.ops[pi].name)[2]);
      }
      op.p.q_mid = static_cast<int8_t>(e[1]);
    }
    op.p.q_out = static_cast<int8_t>(e[2]);
    op.p.q16 = true;
  }
}
}  // namespace

void apply_precision(ModelGraph& mg) {
  Graph& g = mg.graph;
  const Precision p = mg.info.precision;
  if (p == Precision::Q16) return apply_q16(mg);
  for (WeightSlot& s : g.slots) {
    if (s.file_dtype == DType::I16)
      ER_THROW(UnsupportedError, mg.info.dir, ": weight \"", s.name, "\" is stored as int16 (a q16 model from "
               "`edgerun convert --dtype q16`); run it with --precision q16");
    if (p == Precision::Bf16 && s.file_dtype == DType::F32) s.round_bf16 = true;
  }
}

}  // namespace edgerun
