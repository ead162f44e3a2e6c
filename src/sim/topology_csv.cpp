// Strict reader for SCALE-Sim GEMM topology files (see topology_csv.h).
#include "sim/topology_csv.h"

#include <cctype>
#include <charconv>
#include <fstream>

#include "core/error.h"
#include "io/file.h"

namespace edgerun::sim {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// Comma-separated fields, trimmed; trailing empty fields (from "a, b," forms) dropped.
std::vector<std::string_view> split_fields(std::string_view line) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t comma = line.find(',', start);
    out.push_back(trim(line.substr(start, comma == std::string_view::npos ? comma : comma - start)));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  while (!out.empty() && out.back().empty()) out.pop_back();
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

std::string shown(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 40)) out += std::isprint(static_cast<unsigned char>(c)) ? c : '?';
  if (s.size() > 40) out += "...";
  return out;
}

int64_t parse_dim(std::string_view field, const std::string& where, const char* what) {
  int64_t v = 0;
  const char* end = field.data() + field.size();
  auto [p, ec] = std::from_chars(field.data(), end, v);
  if (field.empty() || ec != std::errc() || p != end || v <= 0 || v > kMaxGemmDim ||
      !std::isdigit(static_cast<unsigned char>(field.front())))
    ER_THROW(FormatError, where, ": ", what, " '", shown(field), "' is not an integer in [1, ",
             kMaxGemmDim, "]");
  return v;
}

}  // namespace

std::vector<GemmShape> parse_topology_csv(std::string_view text, const std::string& path) {
  if (text.find('\0') != std::string_view::npos)
    ER_THROW(FormatError, path, ": a topology CSV is text, but this file holds NUL bytes");
  std::vector<GemmShape> out;
  bool have_header = false;
  int64_t line_no = 0;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t nl = text.find('\n', pos);
    std::string_view line = text.substr(pos, nl == std::string_view::npos ? nl : nl - pos);
    pos = nl == std::string_view::npos ? text.size() + 1 : nl + 1;
    ++line_no;
    if (trim(line).empty()) continue;
    const std::string where = path + ":" + std::to_string(line_no);
    std::vector<std::string_view> f = split_fields(line);
    if (!have_header) {
      static constexpr const char* kHeader[4] = {"Layer", "M", "N", "K"};
      bool ok = f.size() == 4;
      for (size_t i = 0; ok && i < 4; ++i) ok = iequals(f[i], kHeader[i]);
      if (!ok)
        ER_THROW(FormatError, where, ": expected the header 'Layer, M, N, K,' (SCALE-Sim GEMM "
                 "form), got '", shown(trim(line)), "'");
      have_header = true;
      continue;
    }
    if (f.size() < 4)
      ER_THROW(FormatError, where, ": expected 'name, M, N, K,' but found ", f.size(),
               " field(s)");
    if (f.size() > 5)
      ER_THROW(FormatError, where, ": expected 'name, M, N, K,' but found ", f.size(),
               " fields");
    for (size_t i = 1; i < f.size(); ++i)
      if (f[i].empty()) ER_THROW(FormatError, where, ": field ", i + 1, " is empty");
    if (f[0].empty()) ER_THROW(FormatError, where, ": the layer name is empty");
    if (f[0].size() > 256) ER_THROW(FormatError, where, ": the layer name is over 256 characters");
    for (char c : f[0])
      if (std::iscntrl(static_cast<unsigned char>(c)))
        ER_THROW(FormatError, where, ": the layer name holds a control character");
    if (f.size() == 5) {
      // SCALE-Sim's optional N:M sparsity ratio; only dense ratios (N == M) are costed here.
      std::string_view r = f[4];
      size_t colon = r.find(':');
      if (colon == std::string_view::npos)
        ER_THROW(FormatError, where, ": fifth field '", shown(r), "' is not a sparsity ratio N:M");
      int64_t a = parse_dim(trim(r.substr(0, colon)), where, "sparsity N");
      int64_t b = parse_dim(trim(r.substr(colon + 1)), where, "sparsity M");
      if (a != b)
        ER_THROW(UnsupportedError, where, ": sparsity ", a, ":", b,
                 " is not modelled (only dense layers)");
    }
    if (static_cast<int64_t>(out.size()) >= kMaxTopologyLayers)
      ER_THROW(FormatError, where, ": more than ", kMaxTopologyLayers, " layers");
    GemmShape g;
    g.name = std::string(f[0]);
    g.m = parse_dim(f[1], where, "M");
    g.n = parse_dim(f[2], where, "N");
    g.k = parse_dim(f[3], where, "K");
    out.push_back(std::move(g));
  }
  if (!have_header) ER_THROW(FormatError, path, ": empty topology (no 'Layer, M, N, K,' header)");
  if (out.empty()) ER_THROW(FormatError, path, ": the topology has a header but no layers");
  return out;
}

std::vector<GemmShape> read_topology_csv(const std::string& path) {
  std::string text = read_text_file(path, kMaxTopologyBytes);
  return parse_topology_csv(text, path);
}

void write_topology_csv(const std::string& path, const std::vector<GemmShape>& gemms) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) ER_THROW(IoError, path, ": cannot open for writing");
  f << "Layer, M, N, K,\n";
  for (const GemmShape& g : gemms) {
    std::string name = g.name;  // a comma would split the row
    for (char& c : name)
      if (c == ',' || c == '\n' || c == '\r') c = ';';
    f << name << ", " << g.m << ", " << g.n << ", " << g.k << ",\n";
  }
  f.flush();
  if (!f) ER_THROW(IoError, path, ": write failed");
}

}  // namespace edgerun::sim
