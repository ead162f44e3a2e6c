// OnnxModel: parse of the stripped ModelProto, tensor payload resolution (embedded and
// external), and varint decoding of the small integer tensors that need it.
#include "formats/onnx.h"

#include <cstring>
#include <filesystem>

#include "core/error.h"
#include "io/file.h"

namespace edgerun {

namespace fs = std::filesystem;

const char* onnx_dtype_name(int32_t t) {
  static const char* kNames[] = {"UNDEFINED", "FLOAT",   "UINT8",      "INT8",        "UINT16",
                                 "INT16",     "INT32",   "INT64",      "STRING",      "BOOL",
                                 "FLOAT16",   "DOUBLE",  "UINT32",     "UINT64",      "COMPLEX64",
                                 "COMPLEX128", "BFLOAT16", "FLOAT8E4M3FN", "FLOAT8E4M3FNUZ",
                                 "FLOAT8E5M2", "FLOAT8E5M2FNUZ", "UINT4", "INT4"};
  if (t >= 0 && t < static_cast<int32_t>(sizeof(kNames) / sizeof(kNames[0]))) return kNames[t];
  return "an unknown data type";
}

DType dtype_from_onnx(int32_t t, const std::string& where) {
  switch (t) {
    case 1: return DType::F32;
    case 2: return DType::U8;
    case 3: return DType::I8;
    case 4: return DType::U16;
    case 5: return DType::I16;
    case 6: return DType::I32;
    case 7: return DType::I64;
    case 9: return DType::BOOL;
    case 10: return DType::F16;
    case 11: return DType::F64;
    case 12: return DType::U32;
    case 13: return DType::U64;
    case 16: return DType::BF16;
    case 17: return DType::F8_E4M3;
    case 19: return DType::F8_E5M2;
    default:
      ER_THROW(UnsupportedError, where, ": data type ", onnx_dtype_name(t), " (", t, ") is not supported");
  }
}

OnnxModel OnnxModel::open(const std::string& path) {
  OnnxModel m;
  m.stripped_ = strip_onnx_payloads(path);
  if (!m.proto_.ParseFromString(m.stripped_.proto))
    ER_THROW(FormatError, path, ": malformed ONNX protobuf: libonnx cannot parse the model's structure");
  m.stripped_.proto.clear();
  m.stripped_.proto.shrink_to_fit();
  m.paths_.push_back(path);
  m.sizes_.push_back(m.stripped_.file_size);
  std::error_code ec;
  const fs::path abs = fs::weakly_canonical(fs::absolute(path), ec);
  m.folder_ = (ec ? fs::path(path).parent_path() : abs.parent_path()).string();
  return m;
}

int32_t OnnxModel::external_file(const std::string& location, const std::string& where) {
  auto refuse = [&](const char* why) {
    ER_THROW(FormatError, path(), ": ", where, ": external data location \"", location, "\" ", why,
             "; external data files must lie inside the model's folder");
  };
  if (location.empty()) refuse("is empty");
  if (location.find('\0') != std::string::npos) refuse("holds a NUL byte");
  const fs::path rel(location);
  if (rel.is_absolute()) refuse("is an absolute path");
  for (const auto& part : rel)
    if (part == "..") refuse("has a '..' component");
  std::error_code ec;
  const fs::path full = fs::path(folder_) / rel;
  if (!fs::exists(full, ec))
    ER_THROW(FormatError, path(), ": ", where, ": external data file ", full.string(), " does not exist");
  const fs::path real = fs::canonical(full, ec);
  if (ec) ER_THROW(IoError, full.string(), ": cannot resolve: ", ec.message());
  const fs::path base = fs::canonical(folder_, ec);
  const auto mism = std::mismatch(base.begin(), base.end(), real.begin(), real.end());
  if (mism.first != base.end()) refuse("leads out of the folder through a symbolic link");
  if (!fs::is_regular_file(real, ec)) refuse("is not a regular file");
  const std::string key = real.string();
  for (size_t i = 0; i < paths_.size(); ++i)
    if (paths_[i] == key) return static_cast<int32_t>(i);
  paths_.push_back(key);
  sizes_.push_back(fs::file_size(real, ec));
  if (ec) ER_THROW(IoError, key, ": cannot stat: ", ec.message());
  return static_cast<int32_t>(paths_.size() - 1);
}

namespace {

uint64_t parse_u64(const std::string& s, const std::string& what) {
  if (s.empty() || s.size() > 19 || s.find_first_not_of("0123456789") != std::string::npos)
    ER_THROW(FormatError, what, " \"", s, "\" is not a byte count");
  return std::stoull(s);
}

bool inline_values(const onnx::TensorProto& t) {
  return t.float_data_size() || t.int32_data_size() || t.int64_data_size() || t.double_data_size() ||
         t.uint64_data_size() || t.has_raw_data() || t.string_data_size();
}

}  // namespace

OnnxTensor OnnxModel::resolve(const onnx::TensorProto& t, const std::string& where) {
  OnnxTensor r;
  r.name = t.name();
  r.dtype = dtype_from_onnx(t.data_type(), where);
  if (t.has_segment()) ER_THROW(UnsupportedError, path(), ": ", where, ": segmented tensors are not supported");
  for (int64_t d : t.dims()) {
    if (d < 0) ER_THROW(FormatError, path(), ": ", where, ": negative dimension ", d);
    if (d > (int64_t{1} << 40)) ER_THROW(FormatError, path(), ": ", where, ": dimension ", d, " is too large");
    r.shape.push_back(d);
  }
  // Overflow-safe element count (dims are each < 2^40).
  long double n = 1;
  for (int64_t d : r.shape) n *= static_cast<long double>(d);
  if (n > static_cast<long double>(int64_t{1} << 46))
    ER_THROW(FormatError, path(), ": ", where, ": ", shape_str(r.shape), " has too many elements");
  const uint64_t want = r.nbytes();
  int64_t payload = -1;
  std::string location, offset_s, length_s;
  bool has_offset = false, has_length = false;
  for (const auto& e : t.external_data()) {
    if (e.key() == kPayloadKey) payload = static_cast<int64_t>(parse_u64(e.value(), "payload index"));
    else if (e.key() == "location") location = e.value();
    else if (e.key() == "offset") offset_s = e.value(), has_offset = true;
    else if (e.key() == "length") length_s = e.value(), has_length = true;
  }
  const bool external = t.data_location() == onnx::TensorProto::EXTERNAL;
  auto mismatch = [&](uint64_t have) {
    ER_THROW(FormatError, path(), ": ", where, ": ", have, " bytes of data for ", onnx_dtype_name(t.data_type()),
             " ", shape_str(r.shape), ", which needs ", want);
  };
  if (payload >= 0) {
    if (external || inline_values(t))
      ER_THROW(FormatError, path(), ": ", where, ": tensor data is both in the file and elsewhere");
    if (static_cast<size_t>(payload) >= stripped_.payloads.size()) ER_CHECK(false, "payload index");
    const OnnxPayload& p = stripped_.payloads[static_cast<size_t>(payload)];
    r.file = 0;
    r.begin = p.offset;
    r.end = p.offset + p.length;
    r.field = p.field;
    const bool raw = p.field == PayloadField::RawData ||
                     (p.field == PayloadField::FloatData && r.dtype == DType::F32) ||
                     (p.field == PayloadField::DoubleData && r.dtype == DType::F64);
    if (raw) {
      r.source = OnnxTensor::Source::FileRange;
      if (p.length != want) mismatch(p.length);
    } else if (p.field == PayloadField::FloatData || p.field == PayloadField::DoubleData) {
      ER_THROW(FormatError, path(), ": ", where, ": ", p.field == PayloadField::FloatData ? "float_data" : "double_data",
               " holds values of a ", onnx_dtype_name(t.data_type()), " tensor");
    } else {
      r.source = OnnxTensor::Source::Varint;
      if (want == 0 && p.length != 0) mismatch(p.length);
    }
    return r;
  }
  if (external) {
    if (inline_values(t))
      ER_THROW(FormatError, path(), ": ", where, ": tensor data is both in the file and external");
    r.file = external_file(location, where);
    const uint64_t size = sizes_[static_cast<size_t>(r.file)];
    const uint64_t off = has_offset ? parse_u64(offset_s, where + ": external data offset") : 0;
    if (off > size)
      ER_THROW(FormatError, path(), ": ", where, ": external data offset ", off, " is past the end of ",
               paths_[r.file], " (", size, " bytes)");
    const uint64_t len = has_length ? parse_u64(length_s, where + ": external data length") : size - off;
    if (len > size - off)
      ER_THROW(FormatError, path(), ": ", where, ": external data [", off, ", ", off + len, ") runs past the end of ",
               paths_[r.file], " (", size, " bytes)");
    if (len != want) mismatch(len);
    r.source = OnnxTensor::Source::FileRange;
    r.begin = off;
    r.end = off + len;
    return r;
  }
  if (t.string_data_size()) ER_THROW(UnsupportedError, path(), ": ", where, ": string tensors are not supported");
  if (inline_values(t)) {
    r.source = OnnxTensor::Source::Inline;
    r.proto = &t;
    return r;
  }
  if (want != 0) mismatch(0);
  r.source = OnnxTensor::Source::None;
  return r;
}

namespace {

// Stores element i of a varint/inline payload as dtype dt (ONNX: int32_data holds every type
// of 32 bits or fewer, float16 and bfloat16 as their bit patterns).
void store(DType dt, void* dst, int64_t i, uint64_t v) {
  switch (dtype_size(dt)) {
    case 1: static_cast<uint8_t*>(dst)[i] = static_cast<uint8_t>(v); break;
    case 2: static_cast<uint16_t*>(dst)[i] = static_cast<uint16_t>(v); break;
    case 4: static_cast<uint32_t*>(dst)[i] = static_cast<uint32_t>(v); break;
    default: static_cast<uint64_t*>(dst)[i] = v; break;
  }
}

}  // namespace

void OnnxModel::read(const OnnxTensor& t, void* dst) const {
  const int64_t n = t.numel();
  const std::string& file = paths_[static_cast<size_t>(t.file)];
  switch (t.source) {
    case OnnxTensor::Source::None: return;
    case OnnxTensor::Source::FileRange: {
      if (t.end > t.begin) open_file(file)->read_at(t.begin, t.end - t.begin, dst);
      return;
    }
    case OnnxTensor::Source::Varint: {
      std::string bytes(t.end - t.begin, '\0');
      if (!bytes.empty()) open_file(file)->read_at(t.begin, bytes.size(), bytes.data());
      int64_t i = 0;
      size_t p = 0;
      while (p < bytes.size()) {
        uint64_t v = 0;
        int shift = 0;
        for (;;) {
          if (p >= bytes.size() || shift > 63)
            ER_THROW(FormatError, file, ": tensor ", t.name, ": truncated varint at byte ", t.begin + p);
          const uint8_t b = static_cast<uint8_t>(bytes[p++]);
          v |= static_cast<uint64_t>(b & 0x7f) << shift;
          shift += 7;
          if (!(b & 0x80)) break;
        }
        if (i >= n) ER_THROW(FormatError, file, ": tensor ", t.name, ": more values than its shape ", shape_str(t.shape));
        store(t.dtype, dst, i++, v);
      }
      if (i != n)
        ER_THROW(FormatError, file, ": tensor ", t.name, ": ", i, " values for shape ", shape_str(t.shape));
      return;
    }
    case OnnxTensor::Source::Inline: return read_inline(t, dst);
  }
}

void OnnxModel::read_inline(const OnnxTensor& t, void* dst) {
  const int64_t n = t.numel();
  const std::string file = "inline data";
  switch (t.source) {
    case OnnxTensor::Source::None: return;
    case OnnxTensor::Source::Inline: {
      const onnx::TensorProto& p = *t.proto;
      auto check = [&](int64_t have) {
        if (have != n)
          ER_THROW(FormatError, file, ": tensor ", t.name, ": ", have, " values for shape ", shape_str(t.shape));
      };
      if (p.has_raw_data()) {
        if (p.raw_data().size() != t.nbytes())
          ER_THROW(FormatError, file, ": tensor ", t.name, ": ", p.raw_data().size(), " bytes of data for ",
                   shape_str(t.shape), ", which needs ", t.nbytes());
        std::memcpy(dst, p.raw_data().data(), p.raw_data().size());
      } else if (p.float_data_size() && t.dtype == DType::F32) {
        check(p.float_data_size());
        std::memcpy(dst, p.float_data().data(), static_cast<size_t>(n) * 4);
      } else if (p.double_data_size() && t.dtype == DType::F64) {
        check(p.double_data_size());
        std::memcpy(dst, p.double_data().data(), static_cast<size_t>(n) * 8);
      } else if (p.int64_data_size()) {
        check(p.int64_data_size());
        for (int64_t i = 0; i < n; ++i) store(t.dtype, dst, i, static_cast<uint64_t>(p.int64_data(static_cast<int>(i))));
      } else if (p.int32_data_size()) {
        check(p.int32_data_size());
        for (int64_t i = 0; i < n; ++i) store(t.dtype, dst, i, static_cast<uint32_t>(p.int32_data(static_cast<int>(i))));
      } else if (p.uint64_data_size()) {
        check(p.uint64_data_size());
        for (int64_t i = 0; i < n; ++i) store(t.dtype, dst, i, p.uint64_data(static_cast<int>(i)));
      } else {
        ER_THROW(FormatError, file, ": tensor ", t.name, ": its values are in a field its data type does not use");
      }
      return;
    }
    default: ER_CHECK(false, "read_inline of a tensor that is not inline");
  }
}

}  // namespace edgerun
