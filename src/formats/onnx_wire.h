// The walk of an .onnx file's protobuf wire format that keeps tensor payloads on disk. libonnx's
// ParseFrom* copies every raw_data into heap strings, which would put a model's weights in
// memory outside the budget; this walk instead records the file offset and length of every
// TensorProto payload (initializers, sparse initializers, Constant-node and other tensor
// attributes, in subgraphs and functions too), skips the bytes, and writes the rest of the
// message, payload-free, for libonnx to parse. Each stripped TensorProto gets one
// external_data entry {kPayloadKey: index into the payload table}, so the frontend resolves
// embedded and external tensors through one path.
// Every length, tag and offset is checked against the file; the walk allocates only the
// stripped message (the graph structure), never a payload.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace edgerun {

// TensorProto field numbers of the payloads (onnx.proto).
enum class PayloadField : uint8_t {
  FloatData = 4,    // packed fp32
  Int32Data = 5,    // packed varints (int32, and the 16/8-bit types)
  Int64Data = 7,    // packed varints
  RawData = 9,      // little-endian bytes
  DoubleData = 10,  // packed fp64
  Uint64Data = 11,  // packed varints
};

struct OnnxPayload {
  PayloadField field = PayloadField::RawData;
  uint64_t offset = 0, length = 0;  // absolute byte range in the .onnx file
};

struct StrippedOnnx {
  std::string proto;                  // the ModelProto without payload bytes
  std::vector<OnnxPayload> payloads;  // referenced by kPayloadKey entries
  uint64_t file_size = 0;
};

// The key of the external_data entry the walk adds to a stripped tensor. A file whose tensors
// already carry this key is refused (it would redirect a tensor to any range of the file).
inline constexpr const char* kPayloadKey = "edgerun.payload";

// Protobuf cannot hold a message above 2 GiB; larger models keep weights as external data.
inline constexpr uint64_t kMaxOnnxFileBytes = (uint64_t{1} << 31) - 1;

// Walks the .onnx file at `path`. FormatError naming the file and byte offset for a malformed
// or truncated message, a payload past the end of the file, a deprecated group field, nesting
// deeper than a sane model's, a tensor with its data in two fields (or a repeated field split
// in chunks), or a file over 2 GiB (with the advice to save with external data); IoError when
// it cannot be read.
StrippedOnnx strip_onnx_payloads(const std::string& path);

}  // namespace edgerun
