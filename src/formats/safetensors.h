// Safetensors reader: parses and validates the header of untrusted files, and resolves the
// tensors of a Hugging Face folder (model.safetensors, or shards through
// model.safetensors.index.json). Only the header is read here; tensor bytes are read by the
// executors at the absolute offsets recorded in each entry.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "edgerun/dtype.h"
#include "core/tensor.h"

namespace edgerun {

struct SafetensorsEntry {
  std::string name;
  DType dtype;
  Shape shape;
  uint64_t begin = 0;  // absolute byte offset in the file (header included)
  uint64_t end = 0;    // one past the last byte
  uint64_t nbytes() const { return end - begin; }
};

class SafetensorsFile {
 public:
  // Reads and validates the header: length inside the file and <= 100 MB, well-formed JSON with no
  // duplicate keys, optional __metadata__ (string -> string), known dtypes, shape x dtype size ==
  // range length, ranges inside the data section, not overlapping, no holes. Throws FormatError
  // naming the file and the offending tensor.
  static SafetensorsFile open(const std::string& path);

  const std::string& path() const { return path_; }
  uint64_t file_size() const { return file_size_; }
  uint64_t data_offset() const { return data_offset_; }  // 8 + header length
  const std::vector<SafetensorsEntry>& entries() const { return entries_; }
  const SafetensorsEntry* find(std::string_view name) const;
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

 private:
  std::string path_;
  uint64_t file_size_ = 0;
  uint64_t data_offset_ = 0;
  std::vector<SafetensorsEntry> entries_;  // sorted by begin offset
  std::map<std::string, size_t, std::less<>> by_name_;
  std::map<std::string, std::string> metadata_;
};

// Every tensor of a model folder, across shards.
struct WeightRef {
  int file = 0;                              // index into WeightSet::files
  const SafetensorsEntry* entry = nullptr;   // points into files[file]
};

struct WeightSet {
  WeightSet() = default;
  // Move-only: `tensors` points into `files`, so a copy would point into the original.
  WeightSet(WeightSet&&) = default;
  WeightSet& operator=(WeightSet&&) = default;
  WeightSet(const WeightSet&) = delete;
  WeightSet& operator=(const WeightSet&) = delete;
  // The files slots index (WeightSlot::file), whatever their format: what executors read.
  std::vector<std::string> paths;
  // Safetensors headers, one per path, for a Hugging Face folder; empty for other formats
  // (ONNX: the .onnx file and its external data files hold raw tensor bytes).
  std::vector<SafetensorsFile> files;
  std::map<std::string, WeightRef, std::less<>> tensors;
  const WeightRef* find(std::string_view name) const;
};

// Opens the weights of a Hugging Face folder: model.safetensors, or the shards listed in
// model.safetensors.index.json (every shard name must be a plain file inside the folder: no '..',
// absolute paths, or symlinks leading out; every tensor listed must exist in the shard named).
// A folder holding only pytorch_model.bin (or *.bin / *.pt / *.ckpt) gets an error saying pickle
// checkpoints are never loaded and how to convert. Throws FormatError / IoError.
WeightSet open_weights(const std::string& model_dir);

// Writes a safetensors file (used by `edgerun synth`, `convert` and tests). Tensors are written
// in the given order, data section 8-byte aligned as the reference writer does.
struct SafetensorsWriteItem {
  std::string name;
  DType dtype;
  Shape shape;
  const void* data;  // shape_numel(shape) * dtype_size(dtype) bytes
};
void write_safetensors(const std::string& path, const std::vector<SafetensorsWriteItem>& items,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace edgerun
