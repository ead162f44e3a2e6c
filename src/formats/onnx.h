// An ONNX model opened without its weights in memory: the payload-free ModelProto (parsed by
// libonnx from the bytes formats/onnx_wire.h leaves) and, for every tensor, where its values
// lie: a byte range of the .onnx file or of an external data file, checked against the file,
// the tensor's dtype and its shape. Raw little-endian payloads (raw_data, packed float_data and
// double_data) become weight file ranges that executors stream; varint payloads (int64_data,
// int32_data, ...) are decoded on request into memory the caller provides.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <onnx/onnx_pb.h>

#include "core/tensor.h"
#include "edgerun/dtype.h"
#include "formats/onnx_wire.h"

namespace edgerun {

// Where a tensor's values are.
struct OnnxTensor {
  std::string name;
  DType dtype = DType::F32;
  Shape shape;
  enum class Source : uint8_t {
    FileRange,  // little-endian values in paths[file] at [begin, end)
    Varint,     // packed varints of field `field` in paths[0] at [begin, end): decode()
    Inline,     // values held by the TensorProto itself (unpacked repeated fields): decode()
    None,       // no values (zero elements)
  };
  Source source = Source::None;
  int32_t file = 0;
  uint64_t begin = 0, end = 0;
  PayloadField field = PayloadField::RawData;
  const onnx::TensorProto* proto = nullptr;  // for Inline
  int64_t numel() const { return shape_numel(shape); }
  uint64_t nbytes() const { return static_cast<uint64_t>(numel() * dtype_size(dtype)); }
};

class OnnxModel {
 public:
  // Walks and parses `path`: FormatError for a malformed file (formats/onnx_wire.h), IoError when
  // it cannot be read.
  static OnnxModel open(const std::string& path);

  const std::string& path() const { return paths_.front(); }
  const std::string& folder() const { return folder_; }
  const onnx::ModelProto& proto() const { return proto_; }
  // .onnx first, then every external data file a tensor names (WeightSlot::file indexes these).
  const std::vector<std::string>& paths() const { return paths_; }
  uint64_t file_size() const { return stripped_.file_size; }

  // Resolves where t's values are. `where` names the tensor's place in messages ("initializer
  // conv1.weight", "Constant node /Constant_3"). FormatError for a dtype or shape that does not
  // match the payload's size, a payload past the end of its file, a missing or short external
  // data file, an external location outside the model's folder; UnsupportedError for string,
  // complex and 4-bit dtypes. Not const-safe across threads (it may add a path).
  OnnxTensor resolve(const onnx::TensorProto& t, const std::string& where);

  // Reads t's values into dst (t.nbytes() bytes) as t.dtype, decoding varints.
  void read(const OnnxTensor& t, void* dst) const;
  // The values of an Inline tensor (held by its TensorProto: a test's .pb, an unpacked field).
  static void read_inline(const OnnxTensor& t, void* dst);

 private:
  int32_t external_file(const std::string& location, const std::string& where);
  std::string folder_;
  std::vector<std::string> paths_;
  std::vector<uint64_t> sizes_;
  StrippedOnnx stripped_;
  onnx::ModelProto proto_;
};

// ONNX TensorProto.DataType -> DType; UnsupportedError naming the type for those edgerun has none
// of (string, complex, 4-bit, float8 variants other than E4M3FN and E5M2).
DType dtype_from_onnx(int32_t data_type, const std::string& where);
const char* onnx_dtype_name(int32_t data_type);

}  // namespace edgerun
