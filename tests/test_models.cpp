// Test models: synth folders rewritten in other dtypes and layouts (test_models.h).
#include "test_models.h"

#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "formats/safetensors.h"
#include "io/file.h"
#include "models/model.h"
#include "models/synth.h"

namespace edgerun::test {

namespace fs = std::filesystem;

uint16_t f32_to_f16(float f) {
  // F. Giesen's float_to_half_fast3_rtne: exact round to nearest even in integer arithmetic.
  const uint32_t f32_inf = 255u << 23, f16_max = (127u + 16u) << 23;
  const uint32_t denorm_magic = ((127u - 15u) + (23u - 10u) + 1u) << 23;
  uint32_t u;
  std::memcpy(&u, &f, 4);
  const uint32_t sign = u & 0x80000000u;
  u ^= sign;
  uint16_t o;
  if (u >= f16_max) {
    o = u > f32_inf ? 0x7e00 : 0x7c00;
  } else if (u < (113u << 23)) {  // a half subnormal or zero: let the fp32 adder round
    float fu, magic;
    std::memcpy(&fu, &u, 4);
    std::memcpy(&magic, &denorm_magic, 4);
    fu += magic;
    uint32_t r;
    std::memcpy(&r, &fu, 4);
    o = static_cast<uint16_t>(r - denorm_magic);
  } else {
    const uint32_t mant_odd = (u >> 13) & 1u;
    u += (static_cast<uint32_t>(15 - 127) << 23) + 0xfffu;
    u += mant_odd;
    o = static_cast<uint16_t>(u >> 13);
  }
  return static_cast<uint16_t>(o | (sign >> 16));
}

Tensors read_all_tensors(const std::string& path) {
  Tensors t;
  SafetensorsFile f = SafetensorsFile::open(path);
  auto file = open_file(path);
  for (const auto& e : f.entries()) {
    std::vector<uint8_t> b(e.nbytes());
    if (!b.empty()) file->read_at(e.begin, b.size(), b.data());
    t.entries.push_back(e);
    t.bytes.push_back(std::move(b));
  }
  return t;
}

void write_all_tensors(const std::string& path, const Tensors& t) {
  std::vector<SafetensorsWriteItem> items;
  for (size_t i = 0; i < t.entries.size(); ++i)
    items.push_back({t.entries[i].name, t.entries[i].dtype, t.entries[i].shape, t.bytes[i].data()});
  write_safetensors(path, items);
}

void rewrite_weights_dtype(const std::string& dir, DType dtype) {
  if (dtype != DType::F16 && dtype != DType::BF16) throw std::runtime_error("rewrite_weights_dtype: F16 or BF16");
  const std::string path = dir + "/model.safetensors";
  Tensors t = read_all_tensors(path);
  for (size_t i = 0; i < t.entries.size(); ++i) {
    SafetensorsEntry& e = t.entries[i];
    if (e.dtype == DType::F32) {
      const size_t n = t.bytes[i].size() / 4;
      std::vector<uint8_t> half(n * 2);
      for (size_t k = 0; k < n; ++k) {
        float v;
        std::memcpy(&v, t.bytes[i].data() + 4 * k, 4);
        const uint16_t h = dtype == DType::F16 ? f32_to_f16(v) : f32_to_bf16(v);
        std::memcpy(half.data() + 2 * k, &h, 2);
      }
      t.bytes[i] = std::move(half);
      e.dtype = dtype;
    }
  }
  write_all_tensors(path, t);
  // config.json's "dtype" (transformers 5) says what the weights are stored as.
  auto cfg = nlohmann::json::parse(read_text_file(dir + "/config.json"));
  cfg["dtype"] = dtype == DType::F16 ? "float16" : "bfloat16";
  std::ofstream(dir + "/config.json") << cfg.dump(2) << "\n";
}

void split_into_shards(const std::string& dir, int n) {
  const std::string path = dir + "/model.safetensors";
  Tensors t = read_all_tensors(path);
  const size_t per = (t.entries.size() + static_cast<size_t>(n) - 1) / static_cast<size_t>(n);
  nlohmann::json map = nlohmann::json::object();
  uint64_t total = 0;
  for (int s = 0; s < n; ++s) {
    char name[64];
    std::snprintf(name, sizeof name, "model-%05d-of-%05d.safetensors", s + 1, n);
    std::vector<SafetensorsWriteItem> items;
    for (size_t i = s * per; i < std::min(t.entries.size(), (s + 1) * per); ++i) {
      items.push_back({t.entries[i].name, t.entries[i].dtype, t.entries[i].shape, t.bytes[i].data()});
      map[t.entries[i].name] = name;
      total += t.bytes[i].size();
    }
    write_safetensors(dir + "/" + name, items);
  }
  fs::remove(path);
  nlohmann::json index = {{"metadata", {{"total_size", total}}}, {"weight_map", map}};
  std::ofstream(dir + "/model.safetensors.index.json") << index.dump(2) << "\n";
}

std::string make_test_model(const TempDir& dir, const std::string& name, const TestModelSpec& spec) {
  const std::string out = dir.file(name);
  SynthOptions so;
  so.n_layer = spec.n_layer;
  so.seed = spec.seed;
  so.dtype = spec.dtype == DType::BF16 ? DType::BF16 : DType::F32;
  synth_model(find_synth_spec(spec.synth), out, so);
  if (spec.dtype == DType::F16) rewrite_weights_dtype(out, DType::F16);
  if (spec.shards > 1) split_into_shards(out, spec.shards);
  return out;
}

Inputs test_inputs(const std::string& dir, int64_t tokens) {
  const ModelGraph mg = build_model(dir);
  Inputs in;
  if (mg.info.family == Family::Vit) {
    HostArray px(DType::F32, {1, mg.info.num_channels, mg.info.image_size, mg.info.image_size});
    std::mt19937 g(1);
    std::normal_distribution<float> d;
    for (int64_t i = 0; i < px.numel(); ++i) px.as<float>()[i] = d(g);
    in.pixel_values = px;
  } else {
    HostArray ids(DType::I64, {1, tokens});
    for (int64_t i = 0; i < tokens; ++i) ids.as<int64_t>()[i] = (i * 37 + 5) % mg.info.vocab_size;
    in.input_ids = ids;
  }
  return in;
}

}  // namespace edgerun::test
