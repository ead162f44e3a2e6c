// Probe inputs, shape keys, batch concatenation and output slicing for the scheduler.
#include "runtime/scheduler_inputs.h"

#include <algorithm>
#include <cstring>

#include "core/error.h"

namespace edgerun {

namespace {
// The request's inputs as (name, array) pairs, in a fixed order.
std::vector<std::pair<std::string, const HostArray*>> listed(const Inputs& in) {
  std::vector<std::pair<std::string, const HostArray*>> v;
  if (in.input_ids) v.emplace_back("input_ids", &*in.input_ids);
  if (in.attention_mask) v.emplace_back("attention_mask", &*in.attention_mask);
  if (in.token_type_ids) v.emplace_back("token_type_ids", &*in.token_type_ids);
  if (in.pixel_values) v.emplace_back("pixel_values", &*in.pixel_values);
  for (const auto& [name, a] : in.named) v.emplace_back(name, &a);
  return v;
}

HostArray concat(const std::vector<const HostArray*>& parts) {
  Shape shape = parts.front()->shape;
  shape[0] = 0;
  for (const HostArray* p : parts) shape[0] += p->shape[0];
  HostArray out(parts.front()->dtype, shape);
  size_t at = 0;
  for (const HostArray* p : parts) {
    if (!p->bytes.empty()) std::memcpy(out.bytes.data() + at, p->bytes.data(), p->bytes.size());
    at += p->bytes.size();
  }
  return out;
}
}  // namespace

Inputs probe_input(const ModelSummary& m, const ModelSpec& spec) {
  Inputs in;
  if (!m.inputs.empty()) {
    for (const auto& d : m.inputs) {
      Shape s = d.dims;
      for (size_t k = 0; k < s.size(); ++k) {
        if (s[k] >= 0) continue;
        if (k == 0) s[k] = 1;
        else if (spec.tokens > 0) s[k] = spec.tokens;
        else
          ER_THROW(InputError, "model '", spec.name, "': input '", d.name, "' dimension ", k,
                   d.dim_params.size() > k && !d.dim_params[k].empty() ? " ('" + d.dim_params[k] + "')" : "",
                   " is symbolic: give the model's `tokens` in the config");
      }
      in.named.emplace_back(d.name, HostArray(d.dtype, s));
    }
    return in;
  }
  if (m.family == "vit") {
    in.pixel_values = HostArray(DType::F32, {1, m.num_channels, m.image_size, m.image_size});
    return in;
  }
  const int64_t T = spec.tokens > 0 ? spec.tokens : std::min<int64_t>(128, std::max<int64_t>(1, m.max_positions));
  HostArray ids(DType::I64, {1, T});
  for (int64_t i = 0; i < T; ++i) ids.as<int64_t>()[i] = (i * 7919 + 3) % std::max<int64_t>(1, m.vocab_size);
  in.input_ids = std::move(ids);
  return in;
}

int64_t batch_rows(const Inputs& in) {
  int64_t rows = -1;
  for (const auto& [name, a] : listed(in)) {
    if (a->shape.empty()) ER_THROW(InputError, "input '", name, "' is a scalar: every input has a batch axis");
    if (rows >= 0 && a->shape[0] != rows)
      ER_THROW(InputError, "input '", name, "' has ", a->shape[0], " rows where the others have ", rows);
    rows = a->shape[0];
  }
  if (rows < 0) ER_THROW(InputError, "the request has no inputs");
  return rows;
}

std::string shape_key(const Inputs& in) {
  std::string k;
  for (const auto& [name, a] : listed(in)) {
    k += name + ":" + std::to_string(static_cast<int>(a->dtype));
    for (size_t d = 1; d < a->shape.size(); ++d) k += "," + std::to_string(a->shape[d]);
    k += ";";
  }
  return k;
}

Inputs concat_batch(const std::vector<const Inputs*>& parts) {
  ER_CHECK(!parts.empty(), "concat_batch of no requests");
  if (parts.size() == 1) return *parts.front();
  const auto first = listed(*parts.front());
  std::vector<std::vector<const HostArray*>> cols(first.size());
  for (const Inputs* p : parts) {
    const auto l = listed(*p);
    ER_CHECK(l.size() == first.size(), "concat_batch: requests of different shape keys");
    for (size_t i = 0; i < l.size(); ++i) cols[i].push_back(l[i].second);
  }
  Inputs out;
  for (size_t i = 0; i < first.size(); ++i) {
    HostArray a = concat(cols[i]);
    const std::string& name = first[i].first;
    if (!parts.front()->named.empty()) out.named.emplace_back(name, std::move(a));
    else if (name == "input_ids") out.input_ids = std::move(a);
    else if (name == "attention_mask") out.attention_mask = std::move(a);
    else if (name == "token_type_ids") out.token_type_ids = std::move(a);
    else out.pixel_values = std::move(a);
  }
  return out;
}

std::vector<std::pair<std::string, HostArray>> slice_rows(const std::vector<std::pair<std::string, HostArray>>& outs,
                                                          int64_t row, int64_t rows, int64_t total_rows) {
  std::vector<std::pair<std::string, HostArray>> v;
  for (const auto& [name, a] : outs) {
    if (a.shape.empty() || a.shape[0] != total_rows)
      ER_THROW(InternalError, "output '", name, "' has no batch axis of ", total_rows, " rows to split");
    Shape s = a.shape;
    s[0] = rows;
    HostArray part(a.dtype, s);
    const size_t row_bytes = a.bytes.size() / static_cast<size_t>(total_rows);
    if (!part.bytes.empty())
      std::memcpy(part.bytes.data(), a.bytes.data() + static_cast<size_t>(row) * row_bytes, part.bytes.size());
    v.emplace_back(name, std::move(part));
  }
  return v;
}

}  // namespace edgerun
