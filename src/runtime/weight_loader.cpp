// WeightLoader: extent reads into the arena, slot binding by pointer, row gathers for embeddings.
#include "runtime/weight_loader.h"

#include <cstring>
#include <map>

#include "core/error.h"
#include "io/coalesce.h"

namespace edgerun {

void convert_to_f32(DType dt, const void* src, int64_t n, float* dst) {
  const auto* s16 = static_cast<const uint16_t*>(src);
  switch (dt) {
    case DType::F32: std::memcpy(dst, src, static_cast<size_t>(n) * 4); break;
    case DType::BF16:
      for (int64_t i = 0; i < n; ++i) {
        uint16_t v;
        std::memcpy(&v, s16 + i, 2);
        dst[i] = bf16_to_f32(v);
      }
      break;
    case DType::F16:
      for (int64_t i = 0; i < n; ++i) {
        uint16_t v;
        std::memcpy(&v, s16 + i, 2);
        dst[i] = f16_to_f32(v);
      }
      break;
    default: ER_THROW(UnsupportedError, "cannot compute with weights of dtype ", dtype_name(dt));
  }
}

WeightLoader::WeightLoader(Graph& g, const WeightSet& ws, MemoryBudget& budget)
    : g_(g), budget_(budget) {
  for (const auto& f : ws.files) files_.push_back(open_file(f.path()));
}

ResidentLayer WeightLoader::load(int32_t layer) {
  ResidentLayer res;
  res.layer = layer;
  const Layer& l = g_.layers[layer];
  std::map<int32_t, std::vector<SlotId>> by_file;
  for (SlotId s : l.slots) by_file[g_.slots[s].file].push_back(s);
  for (auto& [file, slots] : by_file) {
    RandomAccessFile& f = *files_[file];
    std::vector<ByteRange> ranges;
    for (SlotId s : slots) ranges.push_back({g_.slots[s].begin, g_.slots[s].end});
    for (const Extent& e : coalesce_ranges(ranges, f.size())) {
      if (e.end > f.size() || e.begin > e.end)
        ER_THROW(FormatError, f.path(), ": weights of layer ", l.name, " at ", e.begin,
                 " lie past the end of the file");
      Allocation buf = budget_.acquire(e.end - e.begin, "weight block");
      f.read_at(e.begin, e.end - e.begin, buf.data());
      bytes_read_ += e.end - e.begin;
      bool bound_inside = false;
      for (int32_t m : e.members) {
        WeightSlot& ws = g_.slots[slots[m]];
        ER_CHECK(ws.data == nullptr, "slot ", ws.name, " bound twice");
        const char* p = buf.as<char>() + (ws.begin - e.begin);
        if (ws.file_dtype == DType::F32 && reinterpret_cast<uintptr_t>(p) % alignof(float) == 0) {
          ws.data = reinterpret_cast<const float*>(p);  // assembly by reference
          bound_inside = true;
        } else {
          Allocation conv = budget_.acquire(static_cast<uint64_t>(ws.numel()) * 4, "weight conversion");
          convert_to_f32(ws.file_dtype, p, ws.numel(), conv.as<float>());
          ws.data = conv.as<float>();
          res.buffers.push_back(std::move(conv));
          ++copies_;
        }
      }
      // A buffer whose every tensor was converted is not needed once converted.
      if (bound_inside) res.buffers.push_back(std::move(buf));
    }
  }
  return res;
}

void WeightLoader::unbind(int32_t layer) {
  for (SlotId s : g_.layers[layer].slots) g_.slots[s].data = nullptr;
}

void WeightLoader::gather_rows(SlotId s, const int64_t* ids, int64_t n, float* out) {
  const WeightSlot& ws = g_.slots[s];
  ER_CHECK(ws.shape.size() == 2);
  const int64_t D = ws.shape[1];
  const uint64_t row_bytes = static_cast<uint64_t>(D * dtype_size(ws.file_dtype));
  RandomAccessFile& f = *files_[ws.file];
  Allocation row = budget_.acquire(row_bytes, "embedding row staging");
  for (int64_t i = 0; i < n; ++i) {
    ER_CHECK(ids[i] >= 0 && ids[i] < ws.shape[0]);
    f.read_at(ws.begin + static_cast<uint64_t>(ids[i]) * row_bytes, row_bytes, row.data());
    convert_to_f32(ws.file_dtype, row.data(), D, out + i * D);
    bytes_read_ += row_bytes;
  }
}

}  // namespace edgerun
