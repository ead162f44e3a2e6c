// read_model_tensor (models/model.h): one tensor of a model folder as fp32, for host-side work
// outside the graph (the ARAP's patch embedding and head).
#include "core/error.h"
#include "edgerun/dtype.h"
#include "io/file.h"
#include "models/model.h"

namespace edgerun {

std::vector<float> read_model_tensor(const std::string& dir, const std::string& name) {
  const WeightSet ws = open_weights(dir);
  for (const char* prefix : {"vit.", ""}) {
    const WeightRef* r = ws.find(std::string(prefix) + name);
    if (!r) continue;
    const SafetensorsEntry& e = *r->entry;
    const std::string& path = ws.files[static_cast<size_t>(r->file)].path();
    const int64_t n = shape_numel(e.shape);
    std::vector<uint8_t> raw(e.nbytes());
    open_file(path)->read_at(e.begin, e.nbytes(), raw.data());
    std::vector<float> out(static_cast<size_t>(n));
    if (e.dtype != DType::F32 && e.dtype != DType::BF16 && e.dtype != DType::F16)
      ER_THROW(UnsupportedError, path, ": tensor \"", e.name, "\" has dtype ", dtype_name(e.dtype), "; expected a float type");
    widen_to_f32(e.dtype, raw.data(), n, out.data());
    return out;
  }
  ER_THROW(FormatError, dir, ": no tensor \"", name, "\" (tried the prefixes \"vit.\" and \"\")");
}

}  // namespace edgerun
