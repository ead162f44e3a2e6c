// Safetensors reader and writer. The header of an untrusted file is validated as strictly as the
// reference implementation (huggingface/safetensors) does: every range checked, the data section
// covered exactly, no duplicate keys. Tensor bytes are never read here. Sharded folders are
// resolved through model.safetensors.index.json with every shard name confined to the folder.
#include "formats/safetensors.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <system_error>

#include "core/error.h"
#include "formats/hf_hub.h"
#include "formats/json_strict.h"
#include "io/file.h"

namespace edgerun {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// The reference implementation's cap on the header (MAX_HEADER_SIZE).
constexpr uint64_t kMaxHeaderBytes = 100'000'000;
// model.safetensors.index.json is a name -> file map; even 1M tensors fit well below this.
constexpr uint64_t kMaxIndexBytes = 256ull << 20;

// A JSON number as a non-negative integer; nullopt for anything else (floats, negatives, strings).
std::optional<uint64_t> as_u64(const json& v) {
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  if (v.is_number_integer()) {
    int64_t i = v.get<int64_t>();
    if (i >= 0) return static_cast<uint64_t>(i);
  }
  return std::nullopt;
}

uint64_t read_u64_le(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = v << 8 | p[i];
  return v;
}

// One tensor's header entry, offsets still relative to the data section.
SafetensorsEntry parse_entry(const std::string& path, const std::string& name, const json& v,
                             uint64_t data_size) {
  auto fail = [&](const auto&... msg) -> void {
    ER_THROW(FormatError, path, ": tensor \"", name, "\": ", msg...);
  };
  if (!v.is_object()) fail("header entry is ", v.type_name(), ", not an object");
  auto dt = v.find("dtype"), sh = v.find("shape"), off = v.find("data_offsets");
  if (dt == v.end() || sh == v.end() || off == v.end())
    fail("header entry lacks one of \"dtype\", \"shape\", \"data_offsets\"");

  SafetensorsEntry e;
  e.name = name;
  if (!dt->is_string()) fail("\"dtype\" is ", dt->type_name(), ", not a string");
  auto parsed = dtype_from_name(dt->get_ref<const std::string&>());
  if (!parsed) fail("unknown dtype \"", dt->get_ref<const std::string&>(), "\"");
  e.dtype = *parsed;

  if (!sh->is_array()) fail("\"shape\" is ", sh->type_name(), ", not an array");
  // Product of the non-zero dimensions must fit in int64 even when another dimension is 0, so
  // that strides computed from this shape later can never overflow.
  constexpr uint64_t kMax = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  uint64_t product = 1;
  bool has_zero = false;
  for (const auto& d : *sh) {
    auto n = as_u64(d);
    if (!n) fail("shape ", sh->dump(), " holds ", d.dump(), ", not a non-negative integer");
    if (*n > kMax) fail("shape ", sh->dump(), " has a dimension over 2^63-1");
    e.shape.push_back(static_cast<int64_t>(*n));
    if (*n == 0) {
      has_zero = true;
    } else {
      if (product > kMax / *n) fail("shape ", sh->dump(), " has more elements than fit in 64 bits");
      product *= *n;
    }
  }
  const uint64_t numel = has_zero ? 0 : product;
  const uint64_t elem = static_cast<uint64_t>(dtype_size(e.dtype));
  if (numel > kMax / elem) fail("shape ", sh->dump(), " x ", dtype_name(e.dtype), " overflows");
  const uint64_t nbytes = numel * elem;

  if (!off->is_array() || off->size() != 2)
    fail("\"data_offsets\" is ", off->dump(), ", not [begin, end]");
  auto b = as_u64((*off)[0]), en = as_u64((*off)[1]);
  if (!b || !en) fail("\"data_offsets\" ", off->dump(), " are not non-negative integers");
  if (*b > *en) fail("data_offsets ", off->dump(), " have begin after end");
  if (*en > data_size)
    fail("data_offsets ", off->dump(), " run past the end of the data section (", data_size,
         " bytes)");
  if (*en - *b != nbytes)
    fail("shape ", shape_str(e.shape), " of ", dtype_name(e.dtype), " needs ", nbytes,
         " bytes but data_offsets ", off->dump(), " span ", *en - *b);
  e.begin = *b;
  e.end = *en;
  return e;
}

}  // namespace

SafetensorsFile SafetensorsFile::open(const std::string& path) {
  auto file = open_file(path);
  SafetensorsFile out;
  out.path_ = path;
  out.file_size_ = file->size();
  if (out.file_size_ < 8)
    ER_THROW(FormatError, path, ": ", out.file_size_,
             " bytes, too short for a safetensors file (the header length alone takes 8)");
  uint8_t len_bytes[8];
  file->read_at(0, 8, len_bytes);
  const uint64_t header_len = read_u64_le(len_bytes);
  if (header_len > kMaxHeaderBytes)
    ER_THROW(FormatError, path, ": header length ", header_len, " is over the ", kMaxHeaderBytes,
             "-byte limit (not a safetensors file, or corrupt)");
  if (header_len > out.file_size_ - 8)
    ER_THROW(FormatError, path, ": header length ", header_len, " runs past the end of the file (",
             out.file_size_, " bytes); truncated or not a safetensors file");
  out.data_offset_ = 8 + header_len;
  const uint64_t data_size = out.file_size_ - out.data_offset_;

  std::string text(header_len, '\0');
  if (header_len) file->read_at(8, header_len, text.data());
  // Trailing spaces (the writers' alignment padding) are JSON whitespace and parse as such.
  json header = parse_json_strict(text, path, "safetensors header");
  if (!header.is_object())
    ER_THROW(FormatError, path, ": safetensors header is a JSON ", header.type_name(),
             ", not an object");

  for (const auto& [key, value] : header.items()) {
    if (key == "__metadata__") {
      if (!value.is_object())
        ER_THROW(FormatError, path, ": __metadata__ is ", value.type_name(),
                 ", not an object of strings");
      for (const auto& [mk, mv] : value.items()) {
        if (!mv.is_string())
          ER_THROW(FormatError, path, ": __metadata__ \"", mk, "\" is ", mv.type_name(),
                   ", not a string");
        out.metadata_.emplace(mk, mv.get<std::string>());
      }
      continue;
    }
    out.entries_.push_back(parse_entry(path, key, value, data_size));
  }

  // Sorted by range (zero-size tensors first at a shared offset), the ranges must tile
  // [0, data_size) exactly: the reference implementation refuses holes, overlaps and tails.
  std::sort(out.entries_.begin(), out.entries_.end(), [](const auto& a, const auto& b) {
    return a.begin != b.begin ? a.begin < b.begin
                              : (a.end != b.end ? a.end < b.end : a.name < b.name);
  });
  uint64_t expect = 0;
  const SafetensorsEntry* prev = nullptr;
  for (const auto& e : out.entries_) {
    if (e.begin < expect)
      ER_THROW(FormatError, path, ": tensor \"", e.name, "\": data_offsets [", e.begin, ", ", e.end,
               "] overlap tensor \"", prev->name, "\" [", prev->begin, ", ", prev->end, "]");
    if (e.begin > expect)
      ER_THROW(FormatError, path, ": tensor \"", e.name, "\": data_offsets [", e.begin, ", ", e.end,
               "] leave a hole of ", e.begin - expect, " bytes after ",
               prev ? "tensor \"" + prev->name + "\"" : std::string("the header"));
    expect = e.end;
    prev = &e;
  }
  if (expect != data_size)
    ER_THROW(FormatError, path, ": data section is ", data_size, " bytes but the tensors cover ",
             expect, "; ", data_size - expect, " trailing bytes belong to no tensor",
             prev ? " (last tensor \"" + prev->name + "\")" : std::string());

  for (size_t i = 0; i < out.entries_.size(); ++i) {
    auto& e = out.entries_[i];
    e.begin += out.data_offset_;
    e.end += out.data_offset_;
    out.by_name_.emplace(e.name, i);
  }
  return out;
}

const SafetensorsEntry* SafetensorsFile::find(std::string_view name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : &entries_[it->second];
}

const WeightRef* WeightSet::find(std::string_view name) const {
  auto it = tensors.find(name);
  return it == tensors.end() ? nullptr : &it->second;
}

namespace {

// True if `p` (canonical) lies inside `dir` (canonical), compared component by component so that
// /a/bc is not taken to be inside /a/b.
bool is_inside(const fs::path& p, const fs::path& dir) {
  auto [d, q] = std::mismatch(dir.begin(), dir.end(), p.begin(), p.end());
  return d == dir.end() && q != p.end();
}

// Resolves a shard name from the index to a regular file inside `dir` (canonical), or inside the
// hub cache repo folder when `dir` is one of its snapshots, or throws.
fs::path resolve_shard(const fs::path& dir, const std::string& index_path,
                       const std::string& name) {
  auto fail = [&](const auto&... msg) -> void {
    ER_THROW(FormatError, index_path, ": shard \"", name, "\" ", msg...);
  };
  if (name.empty()) fail("is an empty file name");
  if (name.find('\0') != std::string::npos) fail("holds a NUL byte");
  const fs::path rel(name);
  if (rel.is_absolute() || rel.has_root_name() || rel.has_root_directory())
    fail("is an absolute path; shards must be files inside the model folder");
  for (const auto& c : rel)
    if (c == "..") fail("has a '..' component; shards must be files inside the model folder");
  std::error_code ec;
  fs::path full = fs::canonical(dir / rel, ec);
  if (ec) fail("cannot be resolved in ", dir.string(), ": ", ec.message());
  const fs::path hub = hub_repo_root(dir);
  if (!hub.empty()) {
    if (!is_inside(full, hub))
      fail("resolves to ", full.string(), ", outside the hub cache folder ", hub.string(),
           " (a snapshot's links may point into its own models--* folder only)");
  } else if (!is_inside(full, dir)) {
    fail("resolves to ", full.string(), ", outside the model folder ", dir.string(),
         " (symlinks out of the folder are refused)");
  }
  if (!fs::is_regular_file(full, ec)) fail("is not a regular file");
  return full;
}

// A folder with only pickle checkpoints: name the file and say how to convert it safely.
[[noreturn]] void refuse_pickle(const std::string& dir, const fs::path& ckpt) {
  const std::string f = ckpt.filename().string();
  ER_THROW(FormatError, dir, " holds only a PyTorch pickle checkpoint (", f,
           "); edgerun never loads pickle files, which can run arbitrary code. Convert it to "
           "safetensors once, in Python, with: python -c \"import torch; from safetensors.torch "
           "import save_file; sd = torch.load('",
           (fs::path(dir) / f).string(),
           "', map_location='cpu', weights_only=True); save_file({k: v.clone().contiguous() for "
           "k, v in sd.items()}, '",
           (fs::path(dir) / "model.safetensors").string(),
           "', metadata={'format': 'pt'})\" (or, for a transformers model: "
           "AutoModel.from_pretrained(DIR).save_pretrained(DIR, safe_serialization=True), "
           "with the model's own Auto class so no head is dropped)");
}

WeightSet open_sharded(const std::string& model_dir, const fs::path& dir,
                       const std::string& index_path) {
  json index = parse_json_strict(read_text_file(index_path, kMaxIndexBytes), index_path,
                                 "safetensors index");
  if (!index.is_object())
    ER_THROW(FormatError, index_path, ": index is a JSON ", index.type_name(), ", not an object");
  auto md = index.find("metadata");
  if (md != index.end() && !md->is_object() && !md->is_null())
    ER_THROW(FormatError, index_path, ": \"metadata\" is ", md->type_name(), ", not an object");
  auto wm = index.find("weight_map");
  if (wm == index.end() || !wm->is_object())
    ER_THROW(FormatError, index_path, ": no \"weight_map\" object mapping tensor names to shards");
  if (wm->empty()) ER_THROW(FormatError, index_path, ": \"weight_map\" is empty");

  // Distinct shards, in name order (the order of HF's "-0000k-of-0000n" names).
  std::map<std::string, int> shard_index;
  for (const auto& [tensor, shard] : wm->items()) {
    if (!shard.is_string())
      ER_THROW(FormatError, index_path, ": weight_map[\"", tensor, "\"] is ", shard.type_name(),
               ", not a file name");
    shard_index.emplace(shard.get<std::string>(), 0);
  }
  WeightSet ws;
  ws.files.reserve(shard_index.size());
  for (auto& [name, idx] : shard_index) {
    fs::path full = resolve_shard(dir, index_path, name);
    idx = static_cast<int>(ws.files.size());
    ws.files.push_back(SafetensorsFile::open(full.string()));
    ws.paths.push_back(ws.files.back().path());
  }

  // A tensor stored in two shards is ambiguous, whichever one the index names.
  std::map<std::string_view, int, std::less<>> owner;
  for (int f = 0; f < static_cast<int>(ws.files.size()); ++f)
    for (const auto& e : ws.files[f].entries()) {
      auto [it, inserted] = owner.emplace(e.name, f);
      if (!inserted)
        ER_THROW(FormatError, model_dir, ": tensor \"", e.name, "\" is stored in both ",
                 ws.files[it->second].path(), " and ", ws.files[f].path());
    }

  // Tensors a shard holds but the index does not list are left out, as the index is the contract.
  for (const auto& [tensor, shard] : wm->items()) {
    const int f = shard_index.at(shard.get<std::string>());
    const SafetensorsEntry* e = ws.files[f].find(tensor);
    if (!e)
      ER_THROW(FormatError, index_path, ": tensor \"", tensor, "\" is mapped to shard \"",
               shard.get<std::string>(), "\" (", ws.files[f].path(), "), which does not hold it");
    ws.tensors.emplace(tensor, WeightRef{f, e});
  }
  return ws;
}

}  // namespace

WeightSet open_weights(const std::string& model_dir) {
  std::error_code ec;
  const auto st = fs::status(model_dir, ec);
  if (ec || !fs::exists(st)) ER_THROW(IoError, model_dir, ": model folder does not exist");
  if (!fs::is_directory(st)) ER_THROW(IoError, model_dir, ": not a folder");
  const fs::path dir = fs::canonical(model_dir, ec);
  if (ec) ER_THROW(IoError, model_dir, ": cannot resolve the folder: ", ec.message());

  const fs::path single = dir / "model.safetensors";
  const fs::path index = dir / "model.safetensors.index.json";
  for (const fs::path& p : {single, index})
    if (fs::is_symlink(fs::symlink_status(p, ec)) && !fs::exists(p, ec))
      ER_THROW(IoError, p.string(), ": a symbolic link to ", fs::read_symlink(p, ec).string(),
               ", which does not exist (an incomplete download or a moved file?)");
  if (fs::exists(single, ec)) {
    // open_file() refuses non-regular files, but checking first avoids blocking on a FIFO.
    if (!fs::is_regular_file(single, ec))
      ER_THROW(FormatError, single.string(), ": not a regular file");
    WeightSet ws;
    ws.files.push_back(SafetensorsFile::open((fs::path(model_dir) / "model.safetensors").string()));
    ws.paths.push_back(ws.files.back().path());
    for (const auto& e : ws.files[0].entries()) ws.tensors.emplace(e.name, WeightRef{0, &e});
    return ws;
  }
  if (fs::exists(index, ec)) {
    if (!fs::is_regular_file(index, ec))
      ER_THROW(FormatError, index.string(), ": not a regular file");
    return open_sharded(model_dir, dir, index.string());
  }

  // No safetensors: look for a pickle checkpoint to explain, else say what is missing.
  std::vector<fs::path> pickles, other_st;
  for (const auto& de : fs::directory_iterator(dir, ec)) {
    const auto ext = de.path().extension().string();
    if (ext == ".bin" || ext == ".pt" || ext == ".pth" || ext == ".ckpt")
      pickles.push_back(de.path());
    if (ext == ".safetensors") other_st.push_back(de.path().filename());
  }
  if (ec) ER_THROW(IoError, model_dir, ": cannot list the folder: ", ec.message());
  std::sort(pickles.begin(), pickles.end());
  auto bin = std::find_if(pickles.begin(), pickles.end(),
                          [](const fs::path& p) { return p.filename() == "pytorch_model.bin"; });
  if (!pickles.empty()) refuse_pickle(model_dir, bin != pickles.end() ? *bin : pickles.front());
  std::string others;
  std::sort(other_st.begin(), other_st.end());
  for (const auto& p : other_st) others += (others.empty() ? "" : ", ") + p.string();
  ER_THROW(FormatError, "no model.safetensors or model.safetensors.index.json in ", model_dir,
           others.empty() ? std::string()
                          : " (it holds " + others +
                                ", which edgerun does not "
                                "pick on its own)");
}

void write_safetensors(const std::string& path, const std::vector<SafetensorsWriteItem>& items,
                       const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) {
    auto& m = header["__metadata__"] = nlohmann::ordered_json::object();
    for (const auto& [k, v] : metadata) m[k] = v;
  }
  std::set<std::string_view> seen;
  uint64_t offset = 0;
  std::vector<uint64_t> sizes;
  for (const auto& it : items) {
    if (it.name == "__metadata__" || !seen.insert(it.name).second)
      ER_THROW(InputError, path, ": cannot write tensor \"", it.name,
               "\": the name is reserved or given twice");
    for (int64_t d : it.shape)
      if (d < 0) ER_THROW(InputError, path, ": tensor \"", it.name, "\" has a negative dimension");
    const uint64_t n = static_cast<uint64_t>(shape_numel(it.shape) * dtype_size(it.dtype));
    if (n && !it.data) ER_THROW(InputError, path, ": tensor \"", it.name, "\" has no data");
    auto& e = header[it.name] = nlohmann::ordered_json::object();
    e["dtype"] = std::string(dtype_name(it.dtype));
    e["shape"] = it.shape;
    e["data_offsets"] = {offset, offset + n};
    offset += n;
    sizes.push_back(n);
  }
  std::string text = header.dump();
  text.append((8 - (8 + text.size()) % 8) % 8, ' ');  // data section starts 8-byte aligned

  // Write beside the target and rename, so a failed write never leaves a half file at `path`.
  const std::string tmp = path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) ER_THROW(IoError, tmp, ": cannot create: ", std::strerror(errno));
  bool ok = true;
  uint8_t len[8];
  for (int i = 0; i < 8; ++i)
    len[i] = static_cast<uint8_t>(static_cast<uint64_t>(text.size()) >> (8 * i));
  ok = ok && std::fwrite(len, 1, 8, f) == 8;
  ok = ok && std::fwrite(text.data(), 1, text.size(), f) == text.size();
  for (size_t i = 0; ok && i < items.size(); ++i)
    if (sizes[i]) ok = std::fwrite(items[i].data, 1, sizes[i], f) == sizes[i];
  const int saved = errno;
  ok = (std::fclose(f) == 0) && ok;
  if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = ok ? errno : saved;
    std::remove(tmp.c_str());
    ER_THROW(IoError, path, ": write failed: ", std::strerror(err));
  }
}

}  // namespace edgerun
