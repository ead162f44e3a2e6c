// Storage layer: direct reads equal buffered reads byte for byte (short last read at EOF, several
// depths and chunk sizes, concurrent callers), the buffered fallback, truncation while open,
// injected faults, the throttle's rate bound, page-cache dropping with the mincore check, and
// iobench (library and CLI).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>
#include <vector>

#include "core/error.h"
#include "io/direct_reader.h"
#include "io/fault_reader.h"
#include "io/iobench.h"
#include "io/page_cache.h"
#include "io/throttle.h"
#include "test_util.h"

using namespace edgerun;
namespace fs = std::filesystem;

namespace {

constexpr uint64_t kA = 4096;
uint64_t up(uint64_t n) { return (n + kA - 1) / kA * kA; }

// A file of deterministic pseudo-random bytes, removed at the end of the test.
class TempFile {
 public:
  TempFile(const std::string& dir, const std::string& name, uint64_t size, uint32_t seed = 7)
      : path_((fs::path(dir) / (std::to_string(::getpid()) + "_" + name)).string()) {
    data_.resize(size);
    std::mt19937 rng(seed);
    for (auto& b : data_) b = static_cast<char>(rng());
    std::ofstream(path_, std::ios::binary).write(data_.data(), static_cast<std::streamsize>(size));
  }
  ~TempFile() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }
  const std::vector<char>& data() const { return data_; }

 private:
  std::string path_;
  std::vector<char> data_;
};

std::string tmp_dir() { return fs::temp_directory_path().string(); }

// 4 KiB-aligned buffer of `n` bytes plus a guard page filled with a canary.
struct AlignedBuf {
  explicit AlignedBuf(uint64_t n) : size(up(n) + kA) {
    p = static_cast<char*>(std::aligned_alloc(kA, size));
    std::memset(p, 0x5a, size);
  }
  ~AlignedBuf() { std::free(p); }
  bool guard_intact(uint64_t from) const {
    for (uint64_t i = from; i < size; ++i)
      if (p[i] != 0x5a) return false;
    return true;
  }
  char* p;
  uint64_t size;
};

bool same(const char* a, const char* b, uint64_t n) { return std::memcmp(a, b, n) == 0; }

template <typename E, typename F>
std::string expect_throw(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected exception not thrown";
  return "";
}

bool contains(const std::string& s, const std::string& sub) { return s.find(sub) != std::string::npos; }

// The engines to test readers with: threads always, io_uring where the kernel allows it.
std::vector<IoEngine> engines() {
  std::vector<IoEngine> e{IoEngine::Threads};
  if (io_uring_available()) e.push_back(IoEngine::Uring);
  return e;
}

}  // namespace

TEST(DirectReader, EqualsBufferedAtAnyDepthAndChunk) {
  const uint64_t size = 3 * (1 << 20) + 12345;  // not a multiple of 4 KiB: short last read
  TempFile tf(tmp_dir(), "direct_eq.bin", size);
  const char* want = tf.data().data();
  struct Req {
    uint64_t off, n;
  };
  const std::vector<Req> reqs = {
      {0, size},                            // whole file, ends at EOF
      {kA, size - kA},                      // aligned start, EOF end
      {1 << 20, 300 * kA},                  // middle, aligned
      {size / kA * kA, size % kA},          // only the partial last page
      {(size / kA - 1) * kA, kA + size % kA},
      {123, 1000},                          // unaligned: buffered path, exactly n bytes
      {kA, 5000},                           // aligned start, unaligned length not at EOF
      {size - 1, 1},
  };
  for (IoEngine engine : engines()) {
  for (int depth : {1, 2, 4, 7}) {
    for (uint64_t chunk : {kA, uint64_t{64 << 10}, uint64_t{1 << 20}, uint64_t{5000}}) {
      DirectOptions o;
      o.engine = engine;
      o.queue_depth = depth;
      o.chunk_bytes = chunk;
      auto f = open_direct_reader(tf.path(), o);
      ASSERT_EQ(f->size(), size);
      for (const Req& r : reqs) {
        AlignedBuf buf(r.n);
        f->read_at(r.off, r.n, buf.p);
        EXPECT_TRUE(same(buf.p, want + r.off, r.n))
            << "engine " << f->engine() << " depth " << depth << " chunk " << chunk << " off " << r.off << " n " << r.n;
        EXPECT_TRUE(buf.guard_intact(up(r.n))) << "wrote past the aligned extent";
        // A buffered (non-direct) read writes exactly n bytes.
        const bool direct_path = f->is_direct() && r.off % kA == 0 &&
                                 (r.n % kA == 0 || r.off + r.n == size);
        if (!direct_path) {
          EXPECT_TRUE(buf.guard_intact(r.n)) << "off " << r.off;
        }
      }
      DirectStats s = f->stats();
      if (f->is_direct()) {
        EXPECT_EQ(s.direct_reads, 5u);
        EXPECT_EQ(s.buffered_reads, 3u);
      } else {
        EXPECT_EQ(s.buffered_reads, reqs.size());
      }
    }
  }
  }
}

TEST(DirectReader, ReadManyEqualsOneReadAtEach) {
  // One batch of aligned, unaligned and end-of-file requests reads what read_at reads for each;
  // a request past the end fails the batch with the file's name.
  const uint64_t size = 2 * (1 << 20) + 999;
  TempFile tf(tmp_dir(), "direct_many.bin", size);
  for (IoEngine engine : engines()) {
  DirectOptions o;
  o.engine = engine;
  o.queue_depth = 4;
  o.chunk_bytes = 64 << 10;
  auto f = open_direct_reader(tf.path(), o);
  const std::vector<std::pair<uint64_t, uint64_t>> parts = {
      {0, 40 * kA}, {100 * kA, 3 * kA}, {77, 1000}, {size / kA * kA, size % kA}, {1 << 20, 1 << 19}};
  std::vector<std::unique_ptr<AlignedBuf>> bufs;
  std::vector<ReadRequest> reqs;
  for (auto [off, n] : parts) {
    bufs.push_back(std::make_unique<AlignedBuf>(n));
    reqs.push_back({off, n, bufs.back()->p});
  }
  f->read_many(reqs.data(), reqs.size());
  for (size_t i = 0; i < parts.size(); ++i) {
    EXPECT_TRUE(same(bufs[i]->p, tf.data().data() + parts[i].first, parts[i].second)) << i;
    EXPECT_TRUE(bufs[i]->guard_intact(up(parts[i].second))) << i;
  }
  if (f->is_direct()) {
    EXPECT_EQ(f->stats().direct_reads, 4u);
    EXPECT_EQ(f->stats().buffered_reads, 1u);
  }
  reqs.push_back({size - 10, 11, bufs[0]->p});
  EXPECT_TRUE(contains(expect_throw<FormatError>([&] { f->read_many(reqs.data(), reqs.size()); }),
                       "direct_many.bin"));
  }
}

TEST(DirectReader, EngineIsChosenAsAsked) {
  TempFile tf(tmp_dir(), "direct_engine.bin", 5 * kA);
  DirectOptions o;
  o.engine = IoEngine::Threads;
  EXPECT_STREQ(open_direct_reader(tf.path(), o)->engine(), "threads");
  o.engine = IoEngine::Auto;
  EXPECT_STREQ(open_direct_reader(tf.path(), o)->engine(),
               io_uring_available() ? "io_uring" : "threads");
  o.engine = IoEngine::Uring;
  if (io_uring_available()) {
    EXPECT_STREQ(open_direct_reader(tf.path(), o)->engine(), "io_uring");
  } else {
    expect_throw<IoError>([&] { open_direct_reader(tf.path(), o); });
  }
  EXPECT_EQ(parse_io_engine("uring"), IoEngine::Uring);
  EXPECT_EQ(parse_io_engine("threads"), IoEngine::Threads);
  EXPECT_EQ(parse_io_engine("auto"), IoEngine::Auto);
  expect_throw<InputError>([] { parse_io_engine("aio"); });
}

TEST(DirectReader, UsesODirectOnThisFilesystemWhenAccepted) {
  TempFile tf(tmp_dir(), "direct_probe.bin", 3 * kA);
  int fd = ::open(tf.path().c_str(), O_RDONLY | O_DIRECT);
  if (fd < 0)
    GTEST_SKIP() << tmp_dir() << " refuses O_DIRECT: every direct-I/O path of this suite (streaming, iobench, CLI) "
                    "falls back to buffered reads here; point TMPDIR at a disk (scripts/test.sh does)";
  ::close(fd);
  auto f = open_direct_reader(tf.path());
  EXPECT_TRUE(f->is_direct());
  EXPECT_TRUE(is_direct(*f));
  auto plain = open_file(tf.path());
  EXPECT_FALSE(is_direct(*plain));
}

TEST(DirectReader, ConcurrentCallersShareThePool) {
  const uint64_t size = 2 * (1 << 20) + 777;
  TempFile tf(tmp_dir(), "direct_mt.bin", size);
  for (IoEngine engine : engines()) {
  DirectOptions o;
  o.engine = engine;
  o.queue_depth = 4;
  o.chunk_bytes = 64 << 10;
  auto f = open_direct_reader(tf.path(), o);
  std::atomic<int> bad{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t)
    ts.emplace_back([&, t] {
      for (int i = 0; i < 6; ++i) {
        const uint64_t off = static_cast<uint64_t>((t * 7 + i * 3) % 40) * 4 * kA;
        const uint64_t n = (i % 2 == 0) ? size - off : 17 * kA;
        AlignedBuf buf(n);
        f->read_at(off, n, buf.p);
        if (!same(buf.p, tf.data().data() + off, n)) ++bad;
      }
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(bad.load(), 0) << f->engine();
  }
}

TEST(DirectReader, FallsBackToBufferedWhenODirectIsRefused) {
  const uint64_t size = 200000;
  TempFile tf(tmp_dir(), "direct_fb.bin", size);
  DirectOptions o;
  o.simulate_refusal = true;
  auto f = open_direct_reader(tf.path(), o);
  EXPECT_FALSE(f->is_direct());
  AlignedBuf buf(size);
  f->read_at(0, size, buf.p);
  EXPECT_TRUE(same(buf.p, tf.data().data(), size));
  EXPECT_TRUE(buf.guard_intact(size));
  f->read_at(77, 1000, buf.p + 1);  // unaligned everything is fine when buffered
  EXPECT_TRUE(same(buf.p + 1, tf.data().data() + 77, 1000));
  EXPECT_EQ(f->stats().direct_reads, 0u);

  o.allow_fallback = false;
  std::string msg = expect_throw<IoError>([&] { open_direct_reader(tf.path(), o); });
  EXPECT_TRUE(contains(msg, tf.path())) << msg;

  DirectOptions b;
  b.buffered = true;
  EXPECT_FALSE(open_direct_reader(tf.path(), b)->is_direct());
}

TEST(DirectReader, WorksOnShmWhateverTheKernelDecides) {
  // tmpfs refused O_DIRECT before Linux 6.6; either way the reader must return the same bytes.
  if (!fs::is_directory("/dev/shm")) GTEST_SKIP() << "no /dev/shm";
  const uint64_t size = 100000;
  TempFile tf("/dev/shm", "direct_shm.bin", size);
  auto f = open_direct(tf.path(), DirectOptions{});
  AlignedBuf buf(size);
  f->read_at(0, size, buf.p);
  EXPECT_TRUE(same(buf.p, tf.data().data(), size));
}

TEST(DirectReader, StrictAlignmentRefusesUnalignedReads) {
  TempFile tf(tmp_dir(), "direct_strict.bin", 5 * kA);
  DirectOptions o;
  o.strict_alignment = true;
  auto f = open_direct_reader(tf.path(), o);
  if (!f->is_direct()) GTEST_SKIP() << "O_DIRECT refused here";
  AlignedBuf buf(2 * kA);
  expect_throw<InternalError>([&] { f->read_at(100, kA, buf.p); });
  expect_throw<InternalError>([&] { f->read_at(0, kA, buf.p + 8); });
  f->read_at(kA, 2 * kA, buf.p);
  EXPECT_TRUE(same(buf.p, tf.data().data() + kA, 2 * kA));
}

TEST(DirectReader, RangeChecksAndErrorsNameTheFile) {
  TempFile tf(tmp_dir(), "direct_range.bin", 3 * kA + 10);
  auto f = open_direct(tf.path(), DirectOptions{});
  AlignedBuf buf(8 * kA);
  std::string m = expect_throw<FormatError>([&] { f->read_at(0, 3 * kA + 11, buf.p); });
  EXPECT_TRUE(contains(m, tf.path())) << m;
  expect_throw<FormatError>([&] { f->read_at(~0ull - 10, 20, buf.p); });
  f->read_at(3 * kA + 10, 0, buf.p);  // empty read at EOF is fine
  expect_throw<IoError>([&] { open_direct(tmp_dir() + "/no_such_file_edgerun", {}); });
  expect_throw<IoError>([&] { open_direct(tmp_dir(), {}); });  // a directory
}

TEST(DirectReader, FileTruncatedWhileOpenIsAnIoError) {
  for (IoEngine engine : engines())
  for (bool buffered : {false, true}) {
    const uint64_t size = 64 * kA + 100;
    TempFile tf(tmp_dir(), "direct_trunc.bin", size);
    DirectOptions o;
    o.engine = engine;
    o.buffered = buffered;
    o.queue_depth = 3;
    o.chunk_bytes = 8 * kA;
    auto f = open_direct_reader(tf.path(), o);
    ASSERT_EQ(::truncate(tf.path().c_str(), 20 * kA + 5), 0);
    AlignedBuf buf(size);
    std::string m = expect_throw<IoError>([&] { f->read_at(0, size, buf.p); });
    EXPECT_TRUE(contains(m, "truncated")) << m;
    EXPECT_TRUE(contains(m, tf.path())) << m;
    // Reads inside the remaining part still work.
    f->read_at(kA, 8 * kA, buf.p);
    EXPECT_TRUE(same(buf.p, tf.data().data() + kA, 8 * kA));
  }
}

TEST(FaultReader, InjectsEioShortReadsAndTruncation) {
  const uint64_t size = 32 * kA + 123;
  TempFile tf(tmp_dir(), "fault.bin", size);
  AlignedBuf buf(size);
  {
    FaultPlan p;
    p.fail_read = 2;
    auto f = make_fault_reader(open_direct(tf.path(), {}), p);
    f->read_at(0, kA, buf.p);
    f->read_at(kA, kA, buf.p);
    std::string m = expect_throw<IoError>([&] { f->read_at(2 * kA, kA, buf.p); });
    EXPECT_TRUE(contains(m, tf.path()) && contains(m, "offset 8192") &&
                contains(m, std::strerror(EIO)))
        << m;
    f->read_at(3 * kA, kA, buf.p);  // only the planned read fails
    EXPECT_TRUE(same(buf.p, tf.data().data() + 3 * kA, kA));
    EXPECT_EQ(f->reads(), 4);
    EXPECT_EQ(f->faults(), 1);
  }
  {
    FaultPlan p;
    p.fail_offset = 10 * kA + 5;
    auto f = make_fault_reader(open_direct(tf.path(), {}), p);
    f->read_at(0, 10 * kA, buf.p);
    std::string m = expect_throw<IoError>([&] { f->read_at(8 * kA, 4 * kA, buf.p); });
    EXPECT_TRUE(contains(m, "offset 40965")) << m;
  }
  {
    FaultPlan p;
    p.short_read = 0;
    auto f = make_fault_reader(open_direct(tf.path(), {}), p);
    std::string m = expect_throw<IoError>([&] { f->read_at(0, size, buf.p); });
    EXPECT_TRUE(contains(m, "truncated") && contains(m, tf.path())) << m;
    f->read_at(0, size, buf.p);
    EXPECT_TRUE(same(buf.p, tf.data().data(), size));
  }
  {
    FaultPlan p;
    p.truncate_at = 16 * kA;
    auto f = make_fault_reader(open_direct(tf.path(), {}), p);
    EXPECT_EQ(f->size(), size);  // the size seen at open
    f->read_at(0, 16 * kA, buf.p);
    std::string m = expect_throw<IoError>([&] { f->read_at(12 * kA, 8 * kA, buf.p); });
    EXPECT_TRUE(contains(m, "ended at offset 65536")) << m;
    expect_throw<IoError>([&] { f->read_at(20 * kA, kA, buf.p); });
    expect_throw<FormatError>([&] { f->read_at(0, size + 1, buf.p); });
  }
}

TEST(FaultReader, DelaysAndIsThreadSafe) {
  const uint64_t size = 16 * kA;
  TempFile tf(tmp_dir(), "fault_mt.bin", size);
  FaultPlan p;
  p.delay = std::chrono::microseconds(2000);
  p.fail_read = 13;
  p.delay_for = [](int64_t, uint64_t off, uint64_t) {
    return std::chrono::microseconds(off == 0 ? 3000 : 0);
  };
  auto f = make_fault_reader(open_direct(tf.path(), {}), p);
  EXPECT_EQ(f->is_direct(), is_direct(f->inner()));
  std::atomic<int> errors{0}, bad{0};
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t)
    ts.emplace_back([&, t] {
      AlignedBuf buf(kA);
      for (int i = 0; i < 5; ++i) {
        const uint64_t off = static_cast<uint64_t>((t + i) % 16) * kA;
        try {
          f->read_at(off, kA, buf.p);
          if (!same(buf.p, tf.data().data() + off, kA)) ++bad;
        } catch (const IoError&) {
          ++errors;
        }
      }
    });
  for (auto& t : ts) t.join();
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(f->reads(), 20);
  EXPECT_EQ(errors.load(), 1);
  EXPECT_EQ(bad.load(), 0);
  EXPECT_GE(s, 5 * 0.002);  // each thread made 5 delayed reads in sequence
}

TEST(Throttle, NeverFasterThanTheRateAllows) {
  const uint64_t size = 64 * kA * 16;  // 4 MiB
  TempFile tf(tmp_dir(), "throttle.bin", size);
  const double rate = 16.0 * (1 << 20);  // 16 MiB/s
  const uint64_t burst = 1 << 20;
  auto th = std::make_shared<Throttle>(rate, burst);
  ThrottledReader f(open_direct(tf.path(), {}), th);
  EXPECT_EQ(f.size(), size);
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> ts;
  std::atomic<int> bad{0};
  for (int t = 0; t < 2; ++t)
    ts.emplace_back([&, t] {
      AlignedBuf buf(256 << 10);
      for (uint64_t off = t * (size / 2); off < (t + 1) * (size / 2); off += 256 << 10) {
        f.read_at(off, 256 << 10, buf.p);
        if (!same(buf.p, tf.data().data() + off, 256 << 10)) ++bad;
      }
    });
  for (auto& t : ts) t.join();
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(bad.load(), 0);
  // At most burst + rate * s bytes can pass in s seconds; allow 10% for clock granularity.
  EXPECT_GE(s, 0.9 * (static_cast<double>(size) - burst) / rate) << "took " << s << " s";
}

TEST(PageCache, DropLeavesNoResidentPages) {
  const uint64_t size = 2 * (1 << 20) + 100;
  TempFile tf(tmp_dir(), "cache.bin", size);
  struct statfs sf {};
  ASSERT_EQ(statfs(tf.path().c_str(), &sf), 0);
  const uint64_t ps = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  EXPECT_EQ(file_pages(tf.path()), (size + ps - 1) / ps);
  // Warm it through the page cache.
  auto f = open_file(tf.path());
  std::vector<char> buf(size);
  f->read_at(0, size, buf.data());
  const uint64_t warm = resident_pages(tf.path());
  drop_file_cache(tf.path());
  const uint64_t cold = resident_pages(tf.path());
  if (sf.f_type == 0x01021994 /* TMPFS_MAGIC */ || warm == 0)
    GTEST_SKIP() << "filesystem keeps no droppable page cache (warm " << warm << ")";
  EXPECT_EQ(warm, file_pages(tf.path()));
  EXPECT_EQ(cold, 0u);
  f->read_at(0, size, buf.data());
  EXPECT_GT(resident_pages(tf.path()), 0u);
  EXPECT_EQ(make_cold(tf.path()), 0u);
  expect_throw<IoError>([&] { resident_pages(tmp_dir() + "/no_such_file_edgerun"); });
  expect_throw<IoError>([&] { drop_file_cache(tmp_dir() + "/no_such_file_edgerun"); });
}

TEST(PageCache, DirectReadsLeaveTheCacheEmpty) {
  const uint64_t size = 1 << 20;
  TempFile tf(tmp_dir(), "cache_direct.bin", size);
  if (make_cold(tf.path()) != 0) GTEST_SKIP() << "cannot drop this filesystem's cache";
  auto f = open_direct_reader(tf.path());
  if (!f->is_direct()) GTEST_SKIP() << "O_DIRECT refused here";
  AlignedBuf buf(size);
  f->read_at(0, size, buf.p);
  EXPECT_EQ(resident_pages(tf.path()), 0u);
}

TEST(IoBench, MeasuresTheGridFromColdStarts) {
  const uint64_t size = 3 * (1 << 20) + 5;
  TempFile tf(tmp_dir(), "iobench.bin", size);
  IoBenchOptions o;
  o.depths = {1, 3};
  o.block_sizes = {64 << 10, 1 << 20};
  int lines = 0;
  o.progress = [&](const std::string&) { ++lines; };
  IoBenchResult r = run_iobench(tf.path(), o);
  EXPECT_EQ(r.file_bytes, size);
  EXPECT_EQ(r.bytes, size);
  ASSERT_EQ(r.grid.size(), 4u);
  EXPECT_EQ(lines, 4);
  EXPECT_EQ(r.grid[1].depth, 1);
  EXPECT_EQ(r.grid[1].block_bytes, 1u << 20);
  for (const auto& p : r.grid) {
    EXPECT_GT(p.bytes_per_s, 0);
    EXPECT_LE(p.bytes_per_s, r.read_bytes_per_s);
  }
  EXPECT_EQ(r.read_bytes_per_s, r.grid[r.best].bytes_per_s);

  // More than the file: direct reads start over at offset 0; buffered ones would hit the cache.
  o.bytes = 2 * up(size);
  if (r.direct) {
    IoBenchResult twice = run_iobench(tf.path(), o);
    EXPECT_EQ(twice.bytes, 2 * size);
  }
  o.buffered = true;
  expect_throw<InputError>([&] { run_iobench(tf.path(), o); });
  o.buffered = false;
  o.bytes = 0;
  o.depths = {0};
  expect_throw<InputError>([&] { run_iobench(tf.path(), o); });
  o.depths = {1};
  o.block_sizes = {1000};
  expect_throw<InputError>([&] { run_iobench(tf.path(), o); });
  TempFile empty(tmp_dir(), "iobench_empty.bin", 0);
  o.block_sizes = {kA};
  expect_throw<InputError>([&] { run_iobench(empty.path(), o); });
}

#ifdef EDGERUN_BINARY
TEST(IoBench, CliPrintsJsonWithReadBandwidth) {
  using edgerun::test::run_edgerun;
  TempFile tf(tmp_dir(), "iobench_cli.bin", 2 * (1 << 20) + 3);
  const auto r = run_edgerun("iobench " + tf.path() + " --json --depths 1,2 --block-sizes 64K,1M --bytes 1M --no-record");
  ASSERT_TRUE(edgerun::test::cli_ok(r));
  auto j = nlohmann::json::parse(r.out);
  EXPECT_GT(j["read_bytes_per_s"].get<double>(), 0);
  EXPECT_EQ(j["grid"].size(), 4u);
  EXPECT_EQ(j["bytes_per_measurement"].get<uint64_t>(), 1u << 20);
  EXPECT_TRUE(edgerun::test::cli_failed(run_edgerun("iobench " + tf.path() + " --depths x"), 3, "--depths"));
  EXPECT_TRUE(edgerun::test::cli_failed(run_edgerun("iobench " + tf.path() + " --depths 0"), 3, "depth"));
}
#endif
