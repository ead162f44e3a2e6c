// KServe v2 messages. A JSON request is parsed twice with nlohmann's parser callback: once for
// its structure with every tensor element discarded, then once more writing each element
// straight into its typed array, so that a request costs its tensors' bytes and no JSON tree of
// its numbers.
#include "serve/protocol.h"

#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

namespace edgerun::serve {

using json = nlohmann::json;

namespace {
struct Kind {
  DType t;
  const char* name;
};
constexpr Kind kKinds[] = {{DType::BOOL, "BOOL"},  {DType::U8, "UINT8"},  {DType::U16, "UINT16"},
                           {DType::U32, "UINT32"}, {DType::U64, "UINT64"}, {DType::I8, "INT8"},
                           {DType::I16, "INT16"},  {DType::I32, "INT32"}, {DType::I64, "INT64"},
                           {DType::F16, "FP16"},   {DType::F32, "FP32"},  {DType::F64, "FP64"},
                           {DType::BF16, "BF16"}};

[[noreturn]] void bad(const std::string& m) { throw HttpError(400, m); }

json shape_json(const std::vector<int64_t>& s) {
  json a = json::array();
  for (int64_t d : s) a.push_back(d);
  return a;
}

// The structure walk of the parser callback: where in the document an event is. Containers are
// never discarded (nlohmann's parser then stops calling back for what they hold); only values.
struct Walk {
  struct Frame {
    bool array;
    std::string key;  // this container's key in its parent object ("" in an array)
  };
  std::vector<Frame> frames;
  std::string last_key;
  int input = -1;  // index of the inputs[] object we are in

  bool in_data() const {
    return frames.size() >= 4 && frames[1].array && frames[1].key == "inputs" && !frames[2].array && frames[3].array &&
           frames[3].key == "data";
  }
  // Follows the event; true when it is an element of an input's data (at any nesting).
  bool step(json::parse_event_t ev, const json& parsed) {
    using E = json::parse_event_t;
    switch (ev) {
      case E::object_start:
      case E::array_start: {
        const bool parent_object = !frames.empty() && !frames.back().array;
        frames.push_back({ev == E::array_start, parent_object ? last_key : ""});
        if (frames.size() == 3 && frames[1].key == "inputs" && frames[1].array && ev == E::object_start) ++input;
        return false;
      }
      case E::object_end:
      case E::array_end:
        if (!frames.empty()) frames.pop_back();
        return false;
      case E::key:
        last_key = parsed.get<std::string>();
        return false;
      case E::value:
        return in_data();
    }
    return false;
  }
};

// Writes one JSON number or boolean into element i of a.
void put(HostArray& a, int64_t i, const json& v, const std::string& name) {
  const bool is_int = v.is_number_integer(), is_bool = v.is_boolean();
  if (!v.is_number() && !is_bool) bad("input '" + name + "': data holds a non-number");
  auto as_int = [&](int64_t lo, uint64_t hi) -> uint64_t {
    if (is_bool) return v.get<bool>() ? 1 : 0;
    if (!is_int) bad("input '" + name + "': " + v.dump() + " is not an integer");
    if (v.is_number_unsigned()) {
      const uint64_t u = v.get<uint64_t>();
      if (u > hi) bad("input '" + name + "': " + v.dump() + " is out of the datatype's range");
      return u;
    }
    const int64_t s = v.get<int64_t>();
    if (s < lo || (s > 0 && static_cast<uint64_t>(s) > hi)) bad("input '" + name + "': " + v.dump() + " is out of the datatype's range");
    return static_cast<uint64_t>(s);
  };
  const double d = is_bool ? (v.get<bool>() ? 1.0 : 0.0) : v.get<double>();
  switch (a.dtype) {
    case DType::F32: a.as<float>()[i] = static_cast<float>(d); break;
    case DType::F64: a.as<double>()[i] = d; break;
    case DType::F16: bad("input '" + name + "': FP16 inputs are taken as binary data only");
    case DType::BF16: a.as<uint16_t>()[i] = f32_to_bf16(static_cast<float>(d)); break;
    case DType::I64: a.as<int64_t>()[i] = static_cast<int64_t>(as_int(INT64_MIN, INT64_MAX)); break;
    case DType::I32: a.as<int32_t>()[i] = static_cast<int32_t>(as_int(INT32_MIN, INT32_MAX)); break;
    case DType::I16: a.as<int16_t>()[i] = static_cast<int16_t>(as_int(INT16_MIN, INT16_MAX)); break;
    case DType::I8: a.as<int8_t>()[i] = static_cast<int8_t>(as_int(INT8_MIN, INT8_MAX)); break;
    case DType::U64: a.as<uint64_t>()[i] = as_int(0, UINT64_MAX); break;
    case DType::U32: a.as<uint32_t>()[i] = static_cast<uint32_t>(as_int(0, UINT32_MAX)); break;
    case DType::U16: a.as<uint16_t>()[i] = static_cast<uint16_t>(as_int(0, UINT16_MAX)); break;
    case DType::U8: a.as<uint8_t>()[i] = static_cast<uint8_t>(as_int(0, UINT8_MAX)); break;
    case DType::BOOL: a.as<uint8_t>()[i] = static_cast<uint8_t>(as_int(0, 1)); break;
    default: bad("input '" + name + "': unsupported datatype");
  }
}

void append_number(std::string& out, const HostArray& a, int64_t i) {
  char buf[40];
  int n = 0;
  auto real = [&](double v, const char* fmt) {
    n = std::isfinite(v) ? std::snprintf(buf, sizeof buf, fmt, v) : std::snprintf(buf, sizeof buf, "null");
  };
  switch (a.dtype) {
    case DType::F32: real(a.as<float>()[i], "%.9g"); break;
    case DType::F64: real(a.as<double>()[i], "%.17g"); break;
    case DType::F16: real(f16_to_f32(a.as<uint16_t>()[i]), "%.9g"); break;
    case DType::BF16: real(bf16_to_f32(a.as<uint16_t>()[i]), "%.9g"); break;
    case DType::I64: n = std::snprintf(buf, sizeof buf, "%" PRId64, a.as<int64_t>()[i]); break;
    case DType::I32: n = std::snprintf(buf, sizeof buf, "%" PRId32, a.as<int32_t>()[i]); break;
    case DType::I16: n = std::snprintf(buf, sizeof buf, "%d", a.as<int16_t>()[i]); break;
    case DType::I8: n = std::snprintf(buf, sizeof buf, "%d", a.as<int8_t>()[i]); break;
    case DType::U64: n = std::snprintf(buf, sizeof buf, "%" PRIu64, a.as<uint64_t>()[i]); break;
    case DType::U32: n = std::snprintf(buf, sizeof buf, "%" PRIu32, a.as<uint32_t>()[i]); break;
    case DType::U16: n = std::snprintf(buf, sizeof buf, "%u", a.as<uint16_t>()[i]); break;
    case DType::U8: n = std::snprintf(buf, sizeof buf, "%u", a.as<uint8_t>()[i]); break;
    case DType::BOOL: n = std::snprintf(buf, sizeof buf, "%s", a.as<uint8_t>()[i] ? "true" : "false"); break;
    default: n = std::snprintf(buf, sizeof buf, "null");
  }
  out.append(buf, static_cast<size_t>(n));
}
}  // namespace

const char* kserve_datatype(DType t) {
  for (const Kind& k : kKinds)
    if (k.t == t) return k.name;
  return "UNSUPPORTED";
}

std::optional<DType> dtype_from_kserve(const std::string& s) {
  for (const Kind& k : kKinds)
    if (s == k.name) return k.t;
  return std::nullopt;
}

ModelMeta model_meta(const std::string& name, const ModelSummary& s) {
  ModelMeta m;
  m.name = name;
  if (!s.inputs.empty()) {
    for (const auto& in : s.inputs) {
      m.inputs.push_back({in.name, in.dtype, in.dims});
      m.required.push_back(in.name);
    }
  } else if (s.family == "vit") {
    m.inputs.push_back({"pixel_values", DType::F32, {-1, s.num_channels, s.image_size, s.image_size}});
    m.required = {"pixel_values"};
  } else {
    m.inputs.push_back({"input_ids", DType::I64, {-1, -1}});
    m.inputs.push_back({"attention_mask", DType::I64, {-1, -1}});
    if (s.family == "bert") m.inputs.push_back({"token_type_ids", DType::I64, {-1, -1}});
    m.required = {"input_ids"};
  }
  for (size_t i = 0; i < s.outputs.size(); ++i) {
    if (i < s.output_decls.size()) m.outputs.push_back({s.outputs[i], s.output_decls[i].dtype, s.output_decls[i].dims});
    else m.outputs.push_back({s.outputs[i], DType::F32, {-1}});
  }
  return m;
}

std::string model_meta_json(const ModelMeta& m) {
  auto tensors = [](const std::vector<TensorMeta>& v) {
    json a = json::array();
    for (const TensorMeta& t : v) a.push_back({{"name", t.name}, {"datatype", kserve_datatype(t.dtype)}, {"shape", shape_json(t.shape)}});
    return a;
  };
  return json{{"name", m.name}, {"versions", {"1"}}, {"platform", "edgerun"},
              {"inputs", tensors(m.inputs)}, {"outputs", tensors(m.outputs)}}.dump();
}

InferRequest parse_infer(const std::string& body, std::optional<uint64_t> header_length, const ModelMeta& meta) {
  if (header_length && *header_length > body.size())
    bad("Inference-Header-Content-Length " + std::to_string(*header_length) + " exceeds the body of " +
        std::to_string(body.size()) + " bytes");
  const size_t hl = header_length ? static_cast<size_t>(*header_length) : body.size();
  const char* text = body.data();
  // Pass 1: the structure, without tensor elements; counts them per input.
  std::vector<int64_t> counts;
  Walk w1;
  json doc;
  try {
    doc = json::parse(text, text + hl, [&](int, json::parse_event_t ev, json& parsed) {
      if (!w1.step(ev, parsed)) return true;
      if (counts.size() <= static_cast<size_t>(w1.input)) counts.resize(static_cast<size_t>(w1.input) + 1, 0);
      ++counts[static_cast<size_t>(w1.input)];
      return false;
    });
  } catch (const json::exception& e) {
    bad(std::string("the request is not valid JSON: ") + e.what());
  }
  if (!doc.is_object()) bad("the request must be a JSON object");
  InferRequest r;
  if (doc.contains("id")) {
    if (!doc["id"].is_string()) bad("'id' must be a string");
    r.id = doc["id"].get<std::string>();
  }
  if (doc.contains("parameters")) {
    const json& p = doc["parameters"];
    if (!p.is_object()) bad("'parameters' must be an object");
    if (p.contains("binary_data_output")) {
      if (!p["binary_data_output"].is_boolean()) bad("'binary_data_output' must be true or false");
      r.binary_default = p["binary_data_output"].get<bool>();
    }
  }
  if (!doc.contains("inputs") || !doc["inputs"].is_array() || doc["inputs"].empty()) bad("the request needs 'inputs', a non-empty list");
  const json& ins = doc["inputs"];
  std::vector<uint64_t> binary_sizes;
  std::set<std::string> seen;
  for (size_t i = 0; i < ins.size(); ++i) {
    const json& t = ins[i];
    if (!t.is_object() || !t.contains("name") || !t["name"].is_string()) bad("inputs[" + std::to_string(i) + "] needs a 'name'");
    const std::string name = t["name"].get<std::string>();
    const TensorMeta* tm = nullptr;
    for (const TensorMeta& x : meta.inputs)
      if (x.name == name) tm = &x;
    if (!tm) bad("model '" + meta.name + "' has no input '" + name + "'");
    if (!seen.insert(name).second) bad("input '" + name + "' is given twice");
    if (!t.contains("datatype") || !t["datatype"].is_string()) bad("input '" + name + "' needs a 'datatype'");
    const std::string dt = t["datatype"].get<std::string>();
    if (dt != kserve_datatype(tm->dtype))
      bad("input '" + name + "' is " + dt + "; the model takes " + kserve_datatype(tm->dtype));
    if (!t.contains("shape") || !t["shape"].is_array()) bad("input '" + name + "' needs a 'shape'");
    Shape shape;
    for (const json& d : t["shape"]) {
      if (!d.is_number_integer() || d.get<int64_t>() < 0) bad("input '" + name + "': shape " + t["shape"].dump() + " must be non-negative integers");
      shape.push_back(d.get<int64_t>());
    }
    if (shape.size() != tm->shape.size())
      bad("input '" + name + "' has rank " + std::to_string(shape.size()) + "; the model takes rank " + std::to_string(tm->shape.size()) +
          " " + shape_json(tm->shape).dump());
    for (size_t k = 0; k < shape.size(); ++k)
      if (tm->shape[k] >= 0 && shape[k] != tm->shape[k])
        bad("input '" + name + "' has shape " + t["shape"].dump() + "; the model takes " + shape_json(tm->shape).dump());
    // Bounded by the body: a JSON element takes at least a byte, a binary one its size.
    int64_t numel = 1;
    for (int64_t d : shape) {
      if (d != 0 && numel > static_cast<int64_t>(body.size()) / d) bad("input '" + name + "': shape " + t["shape"].dump() + " is larger than the body");
      numel *= d;
    }
    uint64_t bin = 0;
    bool is_bin = false;
    if (t.contains("parameters") && t["parameters"].is_object() && t["parameters"].contains("binary_data_size")) {
      const json& b = t["parameters"]["binary_data_size"];
      if (!b.is_number_unsigned() && !(b.is_number_integer() && b.get<int64_t>() >= 0)) bad("input '" + name + "': binary_data_size must be a non-negative integer");
      bin = b.get<uint64_t>();
      is_bin = true;
      if (bin != static_cast<uint64_t>(numel * dtype_size(tm->dtype)))
        bad("input '" + name + "': binary_data_size " + std::to_string(bin) + " is not shape " + t["shape"].dump() + " of " + dt +
            " (" + std::to_string(numel * dtype_size(tm->dtype)) + " bytes)");
      if (counts.size() > i && counts[i] > 0) bad("input '" + name + "' has both binary data and JSON data");
    } else {
      const int64_t c = counts.size() > i ? counts[i] : 0;
      if (!t.contains("data")) bad("input '" + name + "' has no 'data' and no binary_data_size");
      if (c != numel) bad("input '" + name + "' has " + std::to_string(c) + " elements; shape " + t["shape"].dump() + " holds " + std::to_string(numel));
    }
    binary_sizes.push_back(is_bin ? bin : UINT64_MAX);
    r.inputs.emplace_back(name, HostArray(tm->dtype, shape));
  }
  for (const std::string& req : meta.required)
    if (!seen.count(req)) bad("model '" + meta.name + "' needs input '" + req + "'");
  // Pass 2: the JSON elements into their arrays.
  bool any_json = false;
  for (uint64_t b : binary_sizes) any_json |= b == UINT64_MAX;
  if (any_json) {
    Walk w2;
    std::vector<int64_t> at(r.inputs.size(), 0);
    try {
      json::parse(text, text + hl, [&](int, json::parse_event_t ev, json& parsed) {
        // Only the containers are kept: the values were read in pass 1 or go into the arrays now.
        if (!w2.step(ev, parsed)) return ev != json::parse_event_t::value;
        const size_t i = static_cast<size_t>(w2.input);
        if (i < r.inputs.size() && binary_sizes[i] == UINT64_MAX) put(r.inputs[i].second, at[i]++, parsed, r.inputs[i].first);
        return false;
      });
    } catch (const json::exception& e) {
      bad(std::string("the request is not valid JSON: ") + e.what());
    }
  }
  // The binary tensors follow the JSON header in the order of the inputs that have them.
  uint64_t off = hl;
  for (size_t i = 0; i < r.inputs.size(); ++i) {
    if (binary_sizes[i] == UINT64_MAX) continue;
    if (body.size() - off < binary_sizes[i])
      bad("input '" + r.inputs[i].first + "': binary_data_size " + std::to_string(binary_sizes[i]) + " runs past the body (" +
          std::to_string(body.size() - off) + " bytes left)");
    if (binary_sizes[i]) std::memcpy(r.inputs[i].second.bytes.data(), body.data() + off, binary_sizes[i]);
    off += binary_sizes[i];
  }
  if (off != body.size())
    bad("the body has " + std::to_string(body.size() - off) + " bytes after the JSON header and binary tensors" +
        (header_length ? "" : " (a binary request needs Inference-Header-Content-Length)"));
  if (doc.contains("outputs")) {
    if (!doc["outputs"].is_array()) bad("'outputs' must be a list");
    for (const json& o : doc["outputs"]) {
      if (!o.is_object() || !o.contains("name") || !o["name"].is_string()) bad("each of 'outputs' needs a 'name'");
      const std::string name = o["name"].get<std::string>();
      bool known = false;
      for (const TensorMeta& x : meta.outputs) known |= x.name == name;
      if (!known) bad("model '" + meta.name + "' has no output '" + name + "'");
      bool binary = r.binary_default;
      if (o.contains("parameters") && o["parameters"].is_object() && o["parameters"].contains("binary_data")) {
        if (!o["parameters"]["binary_data"].is_boolean()) bad("output '" + name + "': binary_data must be true or false");
        binary = o["parameters"]["binary_data"].get<bool>();
      }
      r.outputs.push_back(name);
      r.binary[name] = binary;
    }
  }
  return r;
}

Inputs to_inputs(InferRequest& r, const ModelSummary& s) {
  Inputs in;
  for (auto& [name, a] : r.inputs) {
    if (!s.inputs.empty()) in.named.emplace_back(name, std::move(a));
    else if (name == "input_ids") in.input_ids = std::move(a);
    else if (name == "attention_mask") in.attention_mask = std::move(a);
    else if (name == "token_type_ids") in.token_type_ids = std::move(a);
    else in.pixel_values = std::move(a);
  }
  return in;
}

ResponseBody::ResponseBody(const std::string& model, const std::string& id,
                           std::vector<std::pair<std::string, HostArray>> outputs, const InferRequest& req) {
  // The outputs asked for, in the request's order; all of them (binary as the request's default) if none.
  if (req.outputs.empty()) {
    outs_ = std::move(outputs);
  } else {
    for (const std::string& name : req.outputs)
      for (auto& o : outputs)
        if (o.first == name) outs_.emplace_back(name, std::move(o.second));
  }
  std::vector<bool> bin(outs_.size());
  for (size_t k = 0; k < outs_.size(); ++k) {
    auto it = req.binary.find(outs_[k].first);
    bin[k] = it != req.binary.end() ? it->second : req.binary_default;
    binary_ |= bin[k];
    json_data_ |= !bin[k];
  }
  std::string head = json{{"model_name", model}, {"model_version", "1"}}.dump();
  head.pop_back();
  if (!id.empty()) head += ",\"id\":" + json(id).dump();
  head += ",\"outputs\":[";
  parts_.push_back({head});
  for (size_t k = 0; k < outs_.size(); ++k) {
    const HostArray& a = outs_[k].second;
    std::string t = (k ? ",{" : "{") + std::string("\"name\":") + json(outs_[k].first).dump() + ",\"datatype\":\"" +
                    kserve_datatype(a.dtype) + "\",\"shape\":" + shape_json(a.shape).dump();
    if (bin[k]) {
      parts_.push_back({t + ",\"parameters\":{\"binary_data_size\":" + std::to_string(a.bytes.size()) + "}}"});
    } else {
      parts_.push_back({t + ",\"data\":["});
      parts_.push_back({"", static_cast<int>(k), false});
      parts_.push_back({"]}"});
    }
  }
  parts_.push_back({"]}"});
  for (size_t k = 0; k < outs_.size(); ++k)
    if (bin[k]) parts_.push_back({"", static_cast<int>(k), true});
  if (binary_) {
    // The JSON part's length goes in a header before the body: make it whole now (its data
    // arrays, if some outputs are JSON, included).
    std::string head_json, chunk;
    while (part_ < parts_.size() && !parts_[part_].binary) {
      chunk.clear();
      next(chunk);
      head_json += chunk;
    }
    header_ = std::move(head_json);
  }
}

std::optional<uint64_t> ResponseBody::length() const {
  if (!binary_ && json_data_) return std::nullopt;
  uint64_t n = header_.size();
  for (size_t i = part_; i < parts_.size(); ++i)
    n += parts_[i].output < 0 ? parts_[i].text.size() : outs_[static_cast<size_t>(parts_[i].output)].second.bytes.size();
  return n;
}

bool ResponseBody::next(std::string& chunk) {
  constexpr int64_t kElems = 16384;
  constexpr uint64_t kBytes = 1 << 20;
  if (!header_.empty()) {
    chunk = std::move(header_);
    header_.clear();
    return true;
  }
  if (part_ >= parts_.size()) return false;
  const Part& p = parts_[part_];
  if (p.output < 0) {
    chunk += p.text;
    ++part_;
    return true;
  }
  const HostArray& a = outs_[static_cast<size_t>(p.output)].second;
  if (p.binary) {
    const uint64_t n = std::min<uint64_t>(kBytes, a.bytes.size() - byte_);
    chunk.append(reinterpret_cast<const char*>(a.bytes.data()) + byte_, n);
    byte_ += n;
    if (byte_ >= a.bytes.size()) ++part_, byte_ = 0;
    return true;
  }
  const int64_t end = std::min(a.numel(), elem_ + kElems);
  for (; elem_ < end; ++elem_) {
    if (elem_) chunk += ',';
    append_number(chunk, a, elem_);
  }
  if (elem_ >= a.numel()) ++part_, elem_ = 0;
  return true;
}

}  // namespace edgerun::serve
