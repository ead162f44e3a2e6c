// The Open Inference Protocol (KServe v2) REST messages: model metadata, inference requests in
// JSON or with the binary tensor data extension, and their responses, generated piece by piece
// so that a large JSON response is streamed, never held whole.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "edgerun/edgerun.h"

namespace edgerun::serve {

// A request the server refuses: its HTTP status and the message of its {"error": ...} body.
struct HttpError : std::runtime_error {
  HttpError(int s, const std::string& m) : std::runtime_error(m), status(s) {}
  int status;
};

const char* kserve_datatype(DType t);              // "FP32", "INT64", ...
std::optional<DType> dtype_from_kserve(const std::string& s);

// What a model takes and returns, as the protocol describes it (shapes: -1 where free).
struct TensorMeta {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
};
struct ModelMeta {
  std::string name;
  std::vector<TensorMeta> inputs, outputs;
  std::vector<std::string> required;  // inputs a request must give
};
ModelMeta model_meta(const std::string& name, const ModelSummary& s);
std::string model_meta_json(const ModelMeta& m);

struct InferRequest {
  std::string id;
  std::vector<std::pair<std::string, HostArray>> inputs;
  std::vector<std::string> outputs;     // asked for, in order (empty: every output)
  std::map<std::string, bool> binary;   // per asked output: binary_data
  bool binary_default = false;          // parameters.binary_data_output
};
// body: the whole request body; header_length: Inference-Header-Content-Length, if given.
// Every input is checked against meta (names, datatypes, shapes, element counts). HttpError 400.
InferRequest parse_infer(const std::string& body, std::optional<uint64_t> header_length, const ModelMeta& meta);

// The request's tensors as the session's Inputs.
Inputs to_inputs(InferRequest& r, const ModelSummary& s);

// A response body produced in pieces (next() until it returns false).
class ResponseBody {
 public:
  ResponseBody(const std::string& model, const std::string& id, std::vector<std::pair<std::string, HostArray>> outputs,
               const InferRequest& req);
  // Bytes of the JSON header when any output is binary (Inference-Header-Content-Length), else 0.
  uint64_t header_length() const { return binary_ ? header_.size() : 0; }
  // The whole length when it is known before streaming (no JSON data arrays), else nullopt.
  std::optional<uint64_t> length() const;
  bool next(std::string& chunk);

 private:
  struct Part {
    std::string text;     // literal JSON
    int output = -1;      // >= 0: that output's elements
    bool binary = false;  // as raw bytes (else as JSON numbers)
  };
  std::vector<std::pair<std::string, HostArray>> outs_;
  std::vector<Part> parts_;
  std::string header_;  // the JSON part, when every data array is binary
  bool binary_ = false, json_data_ = false;
  size_t part_ = 0;
  int64_t elem_ = 0;
  uint64_t byte_ = 0;
};

}  // namespace edgerun::serve
