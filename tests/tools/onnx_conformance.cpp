// edgerun_onnx_conformance: runs the ONNX backend tests (Debian's libonnx-testdata: a model.onnx
// with test_data_set_0/input_N.pb and output_N.pb per test) through edgerun's Session and holds
// each output against the expected one at the ONNX backend's tolerances (rtol 1e-3, atol 1e-7;
// integers and booleans exactly). A test runs when every node of its model is claimed (the
// frontend's claims: op type, opset, attribute values) and every dtype is one edgerun computes;
// every other test is listed with the claim it falls outside. Prints passed/claimed/total per op
// type and exits 1 when a claimed test fails.
// Usage: edgerun_onnx_conformance [--data DIR] [--json FILE] [--filter TEXT] [--verbose]
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "edgerun/edgerun.h"
#include "formats/onnx.h"

namespace fs = std::filesystem;
using namespace edgerun;

namespace {

struct Result {
  std::string name, suite, status, reason;  // status: pass, fail, outside
  std::set<std::string> ops;
};

bool read_tensor(const fs::path& p, onnx::TensorProto* t) {
  std::ifstream f(p, std::ios::binary);
  return f && t->ParseFromIstream(&f);
}

// A test-data TensorProto as a HostArray (values inline in the .pb: raw_data or typed fields).
HostArray to_array(const onnx::TensorProto& t) {
  const DType dt = dtype_from_onnx(t.data_type(), "test tensor " + t.name());
  Shape shape(t.dims().begin(), t.dims().end());
  HostArray a(dt, shape);
  OnnxTensor ot;
  ot.name = t.name();
  ot.dtype = dt;
  ot.shape = shape;
  ot.source = a.numel() == 0 ? OnnxTensor::Source::None : OnnxTensor::Source::Inline;
  ot.proto = &t;
  OnnxModel::read_inline(ot, a.bytes.data());
  return a;
}

double as_double(const HostArray& a, int64_t i) {
  switch (a.dtype) {
    case DType::F32: return a.as<float>()[i];
    case DType::F64: return a.as<double>()[i];
    case DType::F16: return f16_to_f32(a.as<uint16_t>()[i]);
    case DType::I64: return static_cast<double>(a.as<int64_t>()[i]);
    case DType::I32: return a.as<int32_t>()[i];
    case DType::I16: return a.as<int16_t>()[i];
    case DType::I8: return a.as<int8_t>()[i];
    case DType::U8:
    case DType::BOOL: return a.as<uint8_t>()[i];
    case DType::U16: return a.as<uint16_t>()[i];
    case DType::U32: return a.as<uint32_t>()[i];
    case DType::U64: return static_cast<double>(a.as<uint64_t>()[i]);
    default: return std::nan("");
  }
}

// "" when got matches want; else what differs.
std::string compare(const HostArray& got, const HostArray& want) {
  // libonnx-testdata 1.12 stores the expected bfloat16 outputs as uint16 bit patterns.
  if (got.dtype == DType::BF16 && want.dtype == DType::U16 && got.shape == want.shape)
    return got.bytes == want.bytes ? "" : "bfloat16 bits differ";
  if (got.dtype != want.dtype)
    return "dtype " + std::string(dtype_name(got.dtype)) + ", expected " + std::string(dtype_name(want.dtype));
  if (got.shape != want.shape) return "shape differs";
  const bool exact = !(want.dtype == DType::F32 || want.dtype == DType::F64 || want.dtype == DType::F16);
  for (int64_t i = 0; i < want.numel(); ++i) {
    const double g = as_double(got, i), w = as_double(want, i);
    if (std::isnan(w) && std::isnan(g)) continue;
    const bool ok = exact ? g == w : (std::fabs(g - w) <= 1e-7 + 1e-3 * std::fabs(w) || (std::isinf(w) && g == w));
    if (!ok) return "element " + std::to_string(i) + ": " + std::to_string(g) + ", expected " + std::to_string(w);
  }
  return "";
}

Result run_test(const fs::path& dir, const std::string& suite) {
  Result r;
  r.name = dir.filename().string();
  r.suite = suite;
  const fs::path model = dir / "model.onnx", data = dir / "test_data_set_0";
  {
    onnx::ModelProto mp;
    std::ifstream f(model, std::ios::binary);
    if (f && mp.ParseFromIstream(&f))
      for (const auto& n : mp.graph().node()) r.ops.insert(n.op_type());
  }
  if (!fs::exists(data)) {
    r.status = "outside";
    r.reason = "no test_data_set_0";
    return r;
  }
  try {
    SessionOptions o;
    o.direct_io = false;
    o.threads = 1;
    auto s = Session::open(model.string(), o);
    Inputs in;
    const auto& decl = s->summary().inputs;
    for (size_t i = 0; i < decl.size(); ++i) {
      onnx::TensorProto t;
      if (!read_tensor(data / ("input_" + std::to_string(i) + ".pb"), &t)) {
        r.status = "outside";
        r.reason = "input " + std::to_string(i) + " is not a tensor (sequence, optional or missing)";
        return r;
      }
      in.named.emplace_back(decl[i].name, to_array(t));
    }
    const auto outs = s->run_outputs(in);
    for (size_t i = 0; i < outs.size(); ++i) {
      onnx::TensorProto t;
      if (!read_tensor(data / ("output_" + std::to_string(i) + ".pb"), &t)) {
        r.status = "outside";
        r.reason = "output " + std::to_string(i) + " is not a tensor";
        return r;
      }
      const std::string diff = compare(outs[i].second, to_array(t));
      if (!diff.empty()) {
        r.status = "fail";
        r.reason = "output '" + outs[i].first + "': " + diff;
        return r;
      }
    }
    r.status = "pass";
  } catch (const UnsupportedError& e) {
    r.status = "outside";
    r.reason = e.what();
  } catch (const std::exception& e) {
    r.status = "fail";
    r.reason = e.what();
  }
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  std::string data = "/usr/share/libonnx-testdata/data", json_path, filter;
  bool verbose = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--data" && i + 1 < argc) data = argv[++i];
    else if (a == "--json" && i + 1 < argc) json_path = argv[++i];
    else if (a == "--filter" && i + 1 < argc) filter = argv[++i];
    else if (a == "--verbose") verbose = true;
    else {
      std::fprintf(stderr, "usage: %s [--data DIR] [--json FILE] [--filter TEXT] [--verbose]\n", argv[0]);
      return 2;
    }
  }
  if (!fs::is_directory(data)) {
    std::fprintf(stderr, "edgerun_onnx_conformance: %s: no such folder (apt-get install libonnx-testdata)\n", data.c_str());
    return 2;
  }
  std::vector<Result> results;
  // real/ holds only download pointers; the other suites hold models with their data.
  for (const char* suite : {"node", "pytorch-converted", "pytorch-operator", "simple"}) {
    const fs::path root = fs::path(data) / suite;
    if (!fs::is_directory(root)) continue;
    std::vector<fs::path> dirs;
    for (const auto& e : fs::directory_iterator(root))
      if (e.is_directory() && (filter.empty() || e.path().filename().string().find(filter) != std::string::npos))
        dirs.push_back(e.path());
    std::sort(dirs.begin(), dirs.end());
    for (const auto& d : dirs) {
      results.push_back(run_test(d, suite));
      const Result& r = results.back();
      if (verbose || r.status == "fail")
        std::printf("%-8s %s/%s%s%s\n", r.status.c_str(), suite, r.name.c_str(), r.reason.empty() ? "" : ": ",
                    r.reason.substr(0, 300).c_str());
    }
  }
  struct Count {
    int pass = 0, claimed = 0, total = 0;
  };
  std::map<std::string, Count> per_op;
  Count all;
  for (const Result& r : results) {
    ++all.total;
    all.claimed += r.status != "outside";
    all.pass += r.status == "pass";
    for (const auto& op : r.ops) {
      Count& c = per_op[op];
      ++c.total;
      c.claimed += r.status != "outside";
      c.pass += r.status == "pass";
    }
  }
  std::printf("\n%-24s %8s %8s %8s\n", "op", "passed", "claimed", "tests");
  for (const auto& [op, c] : per_op)
    if (c.claimed > 0) std::printf("%-24s %8d %8d %8d\n", op.c_str(), c.pass, c.claimed, c.total);
  std::printf("%-24s %8d %8d %8d\n", "all", all.pass, all.claimed, all.total);
  if (!json_path.empty()) {
    nlohmann::json j;
    for (const Result& r : results)
      j["tests"].push_back({{"suite", r.suite}, {"name", r.name}, {"status", r.status}, {"reason", r.reason},
                            {"ops", std::vector<std::string>(r.ops.begin(), r.ops.end())}});
    for (const auto& [op, c] : per_op) j["ops"][op] = {{"passed", c.pass}, {"claimed", c.claimed}, {"tests", c.total}};
    std::ofstream(json_path) << j.dump(1) << "\n";
  }
  const int failed = all.claimed - all.pass;
  std::printf("%d passed, %d failed\n", all.pass, failed);
  return failed ? 1 : 0;
}
