// `edgerun iobench FILE`: cold read bandwidth of the storage holding FILE at several queue depths
// and block sizes (direct I/O unless --buffered); a table, or JSON with --json whose
// read_bytes_per_s is the best configuration's. Progress goes to stderr.
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/commands.h"
#include "edgerun/iobench.h"

namespace edgerun::cli {

namespace {
struct IoBenchArgs {
  std::string file;
  std::string depths = "1,2,4,8";
  std::string block_sizes = "64K,1M,4M";
  std::string bytes;
  int repeat = 1;
  bool json = false;
  bool buffered = false;
  bool no_record = false;
  std::string engine = "auto";
};

// Measurements smaller than this say more about the first reads' latency than the bandwidth.
constexpr uint64_t kRecordMinBytes = 64ull << 20;

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

int iobench(const IoBenchArgs& a) {
  IoBenchOptions o;
  o.depths.clear();
  for (const auto& d : split_commas(a.depths)) {
    size_t used = 0;
    int v = 0;
    try {
      v = std::stoi(d, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != d.size()) fail<InputError>("--depths: \"", d, "\" is not an integer");
    o.depths.push_back(v);
  }
  o.block_sizes.clear();
  for (const auto& b : split_commas(a.block_sizes)) o.block_sizes.push_back(parse_bytes(b, 0));
  if (!a.bytes.empty()) {
    // A percentage is of the file's size.
    const uint64_t base = a.bytes.back() == '%' ? regular_file_bytes(a.file) : 0;
    o.bytes = parse_bytes(a.bytes, base);
  }
  o.buffered = a.buffered;
  o.engine = parse_io_engine(a.engine);
  o.repeat = a.repeat;
  o.progress = [](const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); };
  IoBenchResult r = run_iobench(a.file, o);
  // Direct reads only: a buffered measurement is of the page cache, not the device.
  std::string recorded;
  if (!a.no_record && r.direct && r.bytes >= kRecordMinBytes && record_bandwidth(a.file, r.read_bytes_per_s)) {
    recorded = bandwidth_record_path();
    std::fprintf(stderr, "recorded %.2f GB/s for this device in %s (runs plan and report their bound with it)\n",
                 r.read_bytes_per_s / 1e9, recorded.c_str());
  }

  if (a.json) {
    nlohmann::json grid = nlohmann::json::array();
    for (const auto& p : r.grid)
      grid.push_back({{"depth", p.depth},
                      {"block_bytes", p.block_bytes},
                      {"seconds", p.seconds},
                      {"bytes_per_s", p.bytes_per_s},
                      {"cold", p.cold()},
                      {"resident_pages_before", p.resident_pages_before}});
    const auto& b = r.grid[r.best];
    nlohmann::json j = {{"file", r.path},
                        {"file_bytes", r.file_bytes},
                        {"bytes_per_measurement", r.bytes},
                        {"direct", r.direct},
                        {"engine", r.engine},
                        {"repeat", a.repeat},
                        {"read_bytes_per_s", r.read_bytes_per_s},
                        {"recorded_in", recorded.empty() ? nlohmann::json() : nlohmann::json(recorded)},
                        {"best", {{"depth", b.depth}, {"block_bytes", b.block_bytes}}},
                        {"grid", grid}};
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  std::printf("%s: %.1f MiB read per measurement, %s I/O, cold start each time\n", r.path.c_str(),
              r.bytes / 1048576.0, r.direct ? ("direct, " + r.engine).c_str() : "buffered");
  std::printf("%6s %12s %12s %6s\n", "depth", "block", "GB/s", "cold");
  for (size_t i = 0; i < r.grid.size(); ++i) {
    const auto& p = r.grid[i];
    std::printf("%6d %9.0f KiB %12.3f %6s%s\n", p.depth, p.block_bytes / 1024.0,
                p.bytes_per_s / 1e9, p.cold() ? "yes" : "NO", i == r.best ? "  <- best" : "");
  }
  std::printf("read_bytes_per_s: %.0f\n", r.read_bytes_per_s);
  return 0;
}
}  // namespace

Runner add_iobench(CLI::App& app) {
  auto a = std::make_shared<IoBenchArgs>();
  CLI::App* c = app.add_subcommand(
      "iobench", "Measure the storage's cold read bandwidth at several queue depths and block sizes");
  c->add_option("file", a->file, "File to read (a model's .safetensors, say)")->required();
  c->add_option("--depths", a->depths, "Queue depths, comma-separated (default 1,2,4,8)");
  c->add_option("--block-sizes", a->block_sizes, "Read sizes, comma-separated (default 64K,1M,4M)");
  c->add_option("--bytes", a->bytes,
                "Bytes read per measurement (default: file, at most 1G); more than the file reads it again from the start (direct I/O only)");
  c->add_option("--io-engine", a->engine, "auto (io_uring where the kernel allows it, else threads) | uring | threads")
      ->check(CLI::IsMember(io_engine_names()));
  c->add_option("--repeat", a->repeat, "Measurements per configuration; reports the median");
  c->add_flag("--json", a->json, "Print JSON");
  c->add_flag("--buffered", a->buffered, "Read through the page cache instead of O_DIRECT");
  c->add_flag("--no-record", a->no_record,
              "Do not record the result for this device (default: direct measurements of 64 MiB or more are "
              "recorded in $EDGERUN_CACHE_DIR, $XDG_CACHE_HOME/edgerun or ~/.cache/edgerun, and `run` and `plan` "
              "use them as the storage bandwidth)");
  return [a] { return iobench(*a); };
}

}  // namespace edgerun::cli
