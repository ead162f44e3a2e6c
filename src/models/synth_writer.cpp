// `edgerun synth`'s writer: a model folder written beside its final path and renamed into place,
// the safetensors file streamed (header first, since every size is known, then tensor by tensor,
// each filled in parallel by synth_fill), and the JSON files and README beside it.
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <thread>

#include "core/error.h"
#include "models/synth.h"

namespace edgerun {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

constexpr int64_t kChunk = int64_t{1} << 22;  // elements generated and written at a time (16 MB)

// A file written beside its final path and renamed into place; removed on any failure.
class StagedFile {
 public:
  explicit StagedFile(std::string path) : path_(std::move(path)), tmp_(path_ + ".tmp") {
    f_ = std::fopen(tmp_.c_str(), "wb");
    if (!f_) ER_THROW(IoError, tmp_, ": cannot create: ", std::strerror(errno));
  }
  ~StagedFile() {
    if (f_) std::fclose(f_);
    if (!done_) std::remove(tmp_.c_str());
  }
  StagedFile(const StagedFile&) = delete;
  StagedFile& operator=(const StagedFile&) = delete;
  void write(const void* p, size_t n) {
    if (n && std::fwrite(p, 1, n, f_) != n)
      ER_THROW(IoError, path_, ": write failed: ", std::strerror(errno));
  }
  void commit() {
    std::FILE* f = f_;
    f_ = nullptr;
    if (std::fclose(f) != 0) ER_THROW(IoError, path_, ": write failed: ", std::strerror(errno));
    if (std::rename(tmp_.c_str(), path_.c_str()) != 0)
      ER_THROW(IoError, path_, ": cannot rename ", tmp_, " into place: ", std::strerror(errno));
    done_ = true;
  }

 private:
  std::string path_, tmp_;
  std::FILE* f_ = nullptr;
  bool done_ = false;
};

void write_text(const fs::path& path, const std::string& text) {
  StagedFile f(path.string());
  f.write(text.data(), text.size());
  f.commit();
}

// The header save_pretrained writes: __metadata__ first, then tensors in file order, compact
// JSON, padded with spaces so the data section starts 8-byte aligned.
std::string safetensors_header(const std::vector<SynthTensor>& ts, DType dtype) {
  nlohmann::ordered_json h = nlohmann::ordered_json::object();
  h["__metadata__"] = {{"format", "pt"}};
  uint64_t offset = 0;
  for (const SynthTensor& t : ts) {
    const uint64_t n = static_cast<uint64_t>(shape_numel(t.shape) * dtype_size(dtype));
    auto& e = h[t.name] = nlohmann::ordered_json::object();
    e["dtype"] = std::string(dtype_name(dtype));
    e["shape"] = t.shape;
    e["data_offsets"] = {offset, offset + n};
    offset += n;
  }
  std::string text = h.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  return text;
}

void fill_parallel(const SynthTensor& t, uint64_t seed, uint64_t first, int64_t count, float* out,
                   int32_t threads) {
  const int64_t n_thr = std::min<int64_t>(threads, std::max<int64_t>(1, count >> 16));
  if (n_thr <= 1) return synth_fill(t, seed, first, count, out);
  std::vector<std::thread> pool;
  const int64_t per = (count + n_thr - 1) / n_thr;
  for (int64_t k = 0; k < n_thr; ++k) {
    const int64_t b = k * per, e = std::min(count, b + per);
    if (b < e)
      pool.emplace_back(synth_fill, std::cref(t), seed, first + static_cast<uint64_t>(b), e - b,
                        out + b);
  }
  for (auto& th : pool) th.join();
}

void prepare_dir(const fs::path& dir, bool force) {
  std::error_code ec;
  const fs::file_status st = fs::status(dir, ec);
  if (fs::exists(st)) {
    if (!fs::is_directory(st)) ER_THROW(InputError, dir.string(), ": exists and is not a folder");
    if (fs::exists(dir / "model.safetensors.index.json", ec))
      ER_THROW(InputError, dir.string(),
               ": holds a sharded model (model.safetensors.index.json) "
               "that would compete with the model.safetensors synth writes; remove it first");
    if (!force && !fs::is_empty(dir, ec))
      ER_THROW(InputError, dir.string(),
               ": folder is not empty; pass --force to write into it "
               "(replacing config.json, model.safetensors and the other files synth writes)");
    return;
  }
  fs::create_directories(dir, ec);
  if (ec) ER_THROW(IoError, dir.string(), ": cannot create folder: ", ec.message());
}

std::string readme(const SynthSpec& s, const SynthOptions& o, uint64_t n_params) {
  std::string cmd = "edgerun synth " + s.name + " --seed " + std::to_string(o.seed) + " --dtype " +
                    (o.dtype == DType::BF16 ? "bf16" : "f32");
  if (o.n_layer > 0) cmd += " --layers " + std::to_string(o.n_layer);
  return "---\ntags:\n- edgerun-synth\n- random-weights\n---\n# " + s.name +
         " (random weights)\n\nWritten by `" + cmd + "`.\n\nConfiguration: " + s.source + " (" +
         s.arch + ", " + std::to_string(s.n_layer) + " layers, hidden size " +
         std::to_string(s.hidden) + ", " + std::to_string(n_params) +
         " parameters).\n\nThe weights are random, initialised as transformers does (normal with "
         "std 0.02, GPT-2's residual projections 0.02 / sqrt(2 * layers); LayerNorm weights 1, "
         "biases 0): outputs mean nothing. They exist to measure memory and speed. There is no "
         "tokenizer; give token ids directly.\n";
}

}  // namespace

SynthResult synth_model(const SynthSpec& spec_in, const std::string& out_dir,
                        const SynthOptions& opts) {
  SynthResult r;
  r.spec = spec_in;
  if (opts.n_layer > 0) r.spec.n_layer = opts.n_layer;
  const SynthSpec& s = r.spec;
  const std::vector<SynthTensor> tensors = synth_tensors(s);
  const std::string config = synth_config_json(s, opts.dtype);  // also checks the dtype
  const int64_t esize = dtype_size(opts.dtype);
  uint64_t data_bytes = 0;
  for (const SynthTensor& t : tensors) {
    r.n_params += static_cast<uint64_t>(shape_numel(t.shape));
    data_bytes += static_cast<uint64_t>(shape_numel(t.shape) * esize);
  }
  const std::string header = safetensors_header(tensors, opts.dtype);
  r.weight_bytes = 8 + header.size() + data_bytes;

  const fs::path dir(out_dir);
  prepare_dir(dir, opts.force);
  std::error_code ec;
  const fs::space_info sp = fs::space(dir, ec);
  if (!ec && sp.available < r.weight_bytes + (1u << 20))
    ER_THROW(IoError, out_dir, ": not enough free space: model.safetensors needs ", r.weight_bytes,
             " bytes, ", sp.available, " are available");

  // Replacing a folder: drop its config.json first, so that an interrupted write never leaves new
  // weights beside an old config (config.json is written last).
  if (fs::exists(dir / "config.json", ec) && !fs::remove(dir / "config.json", ec))
    ER_THROW(IoError, (dir / "config.json").string(), ": cannot replace: ", ec.message());

  const uint32_t cores = std::max(1u, std::min(16u, std::thread::hardware_concurrency()));
  const int32_t threads = opts.threads > 0 ? opts.threads : static_cast<int32_t>(cores);
  {
    StagedFile f((dir / "model.safetensors").string());
    uint8_t len[8];
    for (int i = 0; i < 8; ++i) len[i] = static_cast<uint8_t>(uint64_t{header.size()} >> (8 * i));
    f.write(len, 8);
    f.write(header.data(), header.size());
    std::vector<float> buf(static_cast<size_t>(kChunk));
    std::vector<uint16_t> half(opts.dtype == DType::BF16 ? static_cast<size_t>(kChunk) : 0);
    uint64_t done = 0;
    for (const SynthTensor& t : tensors) {
      const int64_t numel = shape_numel(t.shape);
      for (int64_t e = 0; e < numel; e += kChunk) {
        const int64_t n = std::min(kChunk, numel - e);
        fill_parallel(t, opts.seed, static_cast<uint64_t>(e), n, buf.data(), threads);
        if (opts.dtype == DType::BF16) {
          for (size_t i = 0; i < static_cast<size_t>(n); ++i) half[i] = f32_to_bf16(buf[i]);
          f.write(half.data(), static_cast<size_t>(n) * 2);
        } else {
          f.write(buf.data(),
                  static_cast<size_t>(n) * 4);  // little-endian hosts only, as the reader
        }
        done += static_cast<uint64_t>(n * esize);
        if (opts.progress) opts.progress(done, data_bytes);
      }
    }
    f.commit();
  }
  r.files.push_back("model.safetensors");
  auto add = [&](const char* name, const std::string& text) {
    if (text.empty()) return;
    write_text(dir / name, text);
    r.files.push_back(name);
  };
  add("generation_config.json", synth_generation_config_json(s));
  add("preprocessor_config.json", synth_preprocessor_config_json(s));
  add("README.md", readme(s, opts, r.n_params));
  add("config.json", config);
  return r;
}

}  // namespace edgerun
