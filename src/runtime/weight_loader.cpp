// WeightLoader: extent reads into the arena, slot binding by pointer, row gathers for embeddings.
#include "runtime/weight_loader.h"

#include <algorithm>
#include <cstring>
#include <map>

#include "core/error.h"

namespace edgerun {

void round_to_bf16(float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] = bf16_to_f32(f32_to_bf16(x[i]));
}

WeightLoader::WeightLoader(Graph& g, const WeightSet& ws, MemoryBudget& budget)
    : g_(g), budget_(budget) {
  for (const std::string& path : ws.paths) {
    files_.push_back(open_file(path));
    row_files_.push_back(open_file(path));
  }
}

void WeightLoader::set_files(std::vector<std::unique_ptr<RandomAccessFile>> files) {
  ER_CHECK(files.size() == files_.size(), "set_files: wrong number of files");
  files_ = std::move(files);
}

std::vector<WeightLoader::Plan> WeightLoader::plan(int32_t layer) const {
  const Layer& l = g_.layers[layer];
  std::map<int32_t, std::vector<SlotId>> by_file;
  for (SlotId s : l.slots) by_file[g_.slots[s].file].push_back(s);
  std::vector<Plan> out;
  for (auto& [file, slots] : by_file) {
    const RandomAccessFile& f = *files_[file];
    std::vector<ByteRange> ranges;
    for (SlotId s : slots) ranges.push_back({g_.slots[s].begin, g_.slots[s].end});
    for (Extent& e : coalesce_ranges(ranges, f.size())) {
      if (e.end > f.size() || e.begin > e.end)
        ER_THROW(FormatError, f.path(), ": weights of layer ", l.name, " at ", e.begin,
                 " lie past the end of the file");
      Plan p{file, e, {}, {}, {}, 0};
      std::vector<int32_t> members(e.members.begin(), e.members.end());
      std::sort(members.begin(), members.end(), [&](int32_t a, int32_t b) {
        return g_.slots[slots[a]].begin < g_.slots[slots[b]].begin;
      });
      // Shifting needs the extent's tensors disjoint (a moved tensor must not carry another's bytes).
      bool disjoint = true;
      for (size_t i = 1; i < members.size(); ++i)
        disjoint &= g_.slots[slots[members[i - 1]]].end <= g_.slots[slots[members[i]]].begin;
      uint64_t shift = 0;
      for (int32_t m : members) {
        const WeightSlot& ws = g_.slots[slots[m]];
        p.slots.push_back(slots[m]);
        // Buffers are 4 KiB aligned, so a tensor's alignment is its file offset's.
        // int16 (q16) weights are computed as stored, so they bind in place too.
        const uint64_t at = ws.begin - e.begin;
        const bool f32 = ws.file_dtype == DType::F32, i16 = ws.file_dtype == DType::I16;
        if (disjoint) {
          // Every tensor from the first misaligned one on moves, each at least as far as the one
          // before it (so none lands on the next), to where its elements are aligned.
          const uint64_t align = static_cast<uint64_t>(std::max<int64_t>(1, dtype_size(ws.file_dtype)));
          while ((at + shift) % std::min<uint64_t>(align, alignof(float))) ++shift;
          p.in_place.push_back(f32 || i16);
          p.shift.push_back(shift);
        } else {
          p.in_place.push_back((f32 && at % alignof(float) == 0) || (i16 && at % alignof(int16_t) == 0));
          p.shift.push_back(0);
        }
      }
      p.slack = shift;
      // A packed tensor is read into a buffer of its own extent, which goes once it is packed:
      // so the extent's other tensors are copied out too rather than keeping it.
      bool packs = false;
      for (SlotId s : p.slots) packs |= g_.slots[s].packer != nullptr;
      if (packs) p.in_place.assign(p.slots.size(), false);
      out.push_back(std::move(p));
    }
  }
  return out;
}

uint64_t WeightLoader::converted_bytes(SlotId s) const {
  const WeightSlot& ws = g_.slots[s];
  return ws.packer ? ws.packed_bytes : static_cast<uint64_t>(ws.numel()) * 4;
}

bool WeightLoader::Plan::binds_in_place() const {
  return std::find(in_place.begin(), in_place.end(), true) != in_place.end();
}

LayerFootprint WeightLoader::footprint(int32_t layer) const {
  // What reserve() acquires, allocation by allocation: the extents that bind in place share one
  // buffer (huge pages where kind_for says so), the others are read into their own and converted.
  LayerFootprint fp;
  uint64_t shared = 0;
  for (const Plan& p : plan(layer)) {
    const uint64_t raw = MemoryBudget::round_up(p.extent.end - p.extent.begin + p.slack);
    uint64_t conv = 0;
    for (size_t i = 0; i < p.slots.size(); ++i)
      if (!p.in_place[i]) conv += MemoryBudget::round_up(converted_bytes(p.slots[i]));
    if (p.binds_in_place()) shared += raw;
    else fp.peak += raw;
    fp.peak += conv;
    fp.resident += conv;
  }
  fp.limited_peak = fp.peak;
  if (shared > 0) {
    const uint64_t buf = budget_.read_buffer_bytes(shared);
    fp.peak += buf;
    fp.resident += buf;
    if (budget_.kind_for(shared) == PageKind::Huge) fp.huge = buf;  // kind_for: Small without huge pages
    fp.limited_peak += budget_.read_buffer_bytes(shared, true);
  }
  return fp;
}

PendingLayer WeightLoader::reserve(int32_t layer, bool blocking) {
  auto take = [&](uint64_t n, const char* what, PageKind kind = PageKind::Small) {
    return blocking ? budget_.acquire_blocking(n, what, kind) : budget_.acquire(n, what, kind);
  };
  PendingLayer pl;
  pl.layer = layer;
  std::vector<Plan> plans = plan(layer);
  std::vector<uint64_t> at(plans.size(), UINT64_MAX);  // offset inside the shared buffer
  uint64_t shared = 0;
  for (size_t k = 0; k < plans.size(); ++k) {
    if (!plans[k].binds_in_place()) continue;
    at[k] = shared;
    shared += MemoryBudget::round_up(plans[k].extent.end - plans[k].extent.begin + plans[k].slack);
  }
  // The buffer direct reads fill: in huge pages where little is lost to rounding (see
  // core/memory_budget.h for why).
  if (shared > 0) pl.shared = take(shared, "weight block", budget_.kind_for(shared));
  for (size_t k = 0; k < plans.size(); ++k) {
    Plan& p = plans[k];
    PendingLayer::Read r;
    r.file = p.file;
    r.extent = p.extent;
    r.slots = std::move(p.slots);
    r.in_place = std::move(p.in_place);
    r.shift = std::move(p.shift);
    if (at[k] != UINT64_MAX) {
      r.dst = pl.shared.as<char>() + at[k];
    } else {
      r.own = take(p.extent.end - p.extent.begin + p.slack, "weight block");
      r.dst = r.own.as<char>();
    }
    for (size_t i = 0; i < r.slots.size(); ++i) {
      if (r.in_place[i]) {
        r.conv.emplace_back();
        continue;
      }
      r.conv.push_back(take(converted_bytes(r.slots[i]), g_.slots[r.slots[i]].packer ? "packed weight" : "weight conversion"));
    }
    pl.reads.push_back(std::move(r));
  }
  return pl;
}

ResidentLayer WeightLoader::fill(PendingLayer&& pl) {
  ResidentLayer res;
  res.layer = pl.layer;
  try {
    // Every extent of a file in one batch: the reader keeps its queue full across them.
    std::map<int32_t, std::vector<ReadRequest>> by_file;
    for (const PendingLayer::Read& r : pl.reads)
      by_file[r.file].push_back({r.extent.begin, r.extent.end - r.extent.begin, r.dst});
    for (auto& [file, reqs] : by_file) {
      files_[file]->read_many(reqs.data(), reqs.size());
      for (const ReadRequest& q : reqs) bytes_read_ += q.n;
    }
    for (PendingLayer::Read& r : pl.reads) {
      // Misaligned fp32 tensors move forward to their aligned spots, the last first (Plan::shift).
      for (size_t i = r.slots.size(); i-- > 0;)
        if (r.shift[i] > 0) {
          const WeightSlot& ws = g_.slots[r.slots[i]];
          char* p = r.dst + (ws.begin - r.extent.begin);
          std::memmove(p + r.shift[i], p, ws.nbytes());
        }
      for (size_t i = 0; i < r.slots.size(); ++i) {
        WeightSlot& ws = g_.slots[r.slots[i]];
        ER_CHECK(ws.data == nullptr && ws.data_i16 == nullptr, "slot ", ws.name, " bound twice");
        if (ws.packer) continue;  // once the layer's other tensors are bound
        char* p = r.dst + (ws.begin - r.extent.begin) + r.shift[i];
        if (r.in_place[i]) {
          if (ws.file_dtype == DType::I16) ws.data_i16 = reinterpret_cast<const int16_t*>(p);
          else ws.data = reinterpret_cast<const float*>(p);  // assembly by reference
          // --precision bf16: rounded where it lies (the buffer is ours; no copy).
          if (ws.round_bf16) round_to_bf16(reinterpret_cast<float*>(p), ws.numel());
        } else {
          widen_to_f32(ws.file_dtype, p, ws.numel(), r.conv[i].as<float>());
          ws.data = r.conv[i].as<float>();
          if (ws.round_bf16) round_to_bf16(r.conv[i].as<float>(), ws.numel());
          res.buffers.push_back(std::move(r.conv[i]));
          ++copies_;
        }
      }
    }
    // Packed weights: from the read buffer (fp32, aligned by its shift) into their own, the
    // layer's other weights (a folded BatchNorm's) bound.
    for (PendingLayer::Read& r : pl.reads)
      for (size_t i = 0; i < r.slots.size(); ++i) {
        WeightSlot& ws = g_.slots[r.slots[i]];
        if (!ws.packer) continue;
        char* at = r.dst + (ws.begin - r.extent.begin) + r.shift[i];
        if (reinterpret_cast<uintptr_t>(at) % alignof(float))  // only overlapping tensors stay unshifted
          ER_THROW(FormatError, "weight ", ws.name, " overlaps another tensor at a misaligned offset ", ws.begin);
        float* p = reinterpret_cast<float*>(at);
        const Op& op = g_.ops[static_cast<size_t>(ws.pack_op)];
        size_t k = 0;
        while (k < op.inputs.size() && (op.inputs[k] == kNone || g_.values[op.inputs[k]].slot != r.slots[i])) ++k;
        ER_CHECK(k < op.inputs.size(), "packed slot ", ws.name, " is not an input of ", op.name);
        ws.packer->pack(g_, op, k, p, r.conv[i].data());
        ws.data = r.conv[i].as<float>();
        res.buffers.push_back(std::move(r.conv[i]));
        ++packs_;
      }
    // A buffer whose every tensor was converted or packed is not needed any more.
    for (PendingLayer::Read& r : pl.reads) r.own.reset();
    if (pl.shared) res.buffers.push_back(std::move(pl.shared));
  } catch (...) {
    unbind(pl.layer);
    throw;
  }
  return res;
}

ResidentLayer WeightLoader::load(int32_t layer) { return fill(reserve(layer, false)); }

void WeightLoader::unbind(int32_t layer) {
  for (SlotId s : g_.layers[layer].slots) {
    g_.slots[s].data = nullptr;
    g_.slots[s].data_i16 = nullptr;
  }
}

uint64_t WeightLoader::row_staging_bytes(SlotId s) const {
  const WeightSlot& ws = g_.slots[s];
  return static_cast<uint64_t>(ws.shape[1] * dtype_size(ws.file_dtype));
}

void WeightLoader::gather_rows(SlotId s, const int64_t* ids, int64_t n, float* out, void* staging) {
  const WeightSlot& ws = g_.slots[s];
  ER_CHECK(ws.shape.size() == 2);
  const int64_t D = ws.shape[1];
  const uint64_t row_bytes = row_staging_bytes(s);
  RandomAccessFile& f = *row_files_[ws.file];
  for (int64_t i = 0; i < n; ++i) {
    ER_CHECK(ids[i] >= 0 && ids[i] < ws.shape[0]);
    f.will_need(ws.begin + static_cast<uint64_t>(ids[i]) * row_bytes, row_bytes);
  }
  for (int64_t i = 0; i < n; ++i) {
    f.read_at(ws.begin + static_cast<uint64_t>(ids[i]) * row_bytes, row_bytes, staging);
    widen_to_f32(ws.file_dtype, staging, D, out + i * D);
    if (ws.round_bf16) round_to_bf16(out + i * D, D);
    bytes_read_ += row_bytes;
  }
}

}  // namespace edgerun
