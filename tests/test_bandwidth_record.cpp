// iobench's per-device record of the storage bandwidth: written atomically, read back for any
// file on the same device, ignored when absent or unreadable (a cache, never an error), and used
// by sessions as the B of their plan and physical bound.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "edgerun/edgerun.h"
#include "io/bandwidth_record.h"
#include "models/synth.h"

using namespace edgerun;
namespace fs = std::filesystem;

namespace {
// Points the record at a fresh directory for the test's lifetime.
class BandwidthRecord : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("edgerun_bw_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    const char* old = std::getenv("EDGERUN_CACHE_DIR");
    had_ = old != nullptr;
    if (had_) old_ = old;
    ::setenv("EDGERUN_CACHE_DIR", (dir_ / "cache").c_str(), 1);
    file_ = (dir_ / "data.bin").string();
    std::ofstream(file_) << "x";
  }
  void TearDown() override {
    if (had_) ::setenv("EDGERUN_CACHE_DIR", old_.c_str(), 1);
    else ::unsetenv("EDGERUN_CACHE_DIR");
    fs::remove_all(dir_);
  }
  fs::path dir_;
  std::string file_, old_;
  bool had_ = false;
};
}  // namespace

TEST_F(BandwidthRecord, ReadsBackWhatWasRecordedForTheDevice) {
  EXPECT_FALSE(recorded_bandwidth(file_).has_value());
  ASSERT_TRUE(record_bandwidth(file_, 3.5e9));
  EXPECT_EQ(bandwidth_record_path(), (dir_ / "cache" / "iobench.json").string());
  // Another file on the same device reads the same record; the newest measurement wins.
  const std::string other = (dir_ / "other.bin").string();
  std::ofstream(other) << "y";
  auto r = recorded_bandwidth(other);
  ASSERT_TRUE(r.has_value());
  EXPECT_DOUBLE_EQ(r->read_bytes_per_s, 3.5e9);
  EXPECT_EQ(r->file, fs::absolute(file_).string());
  EXPECT_EQ(r->measured_at.size(), 20u);  // 2026-11-24T19:20:52Z
  ASSERT_TRUE(record_bandwidth(other, 2.0e9));
  EXPECT_DOUBLE_EQ(recorded_bandwidth(file_)->read_bytes_per_s, 2.0e9);
  EXPECT_FALSE(recorded_bandwidth((dir_ / "missing").string()).has_value());
  EXPECT_FALSE(record_bandwidth(file_, 0.0));
  EXPECT_FALSE(record_bandwidth(file_, -1.0));
}

TEST_F(BandwidthRecord, AnUnreadableRecordIsIgnored) {
  fs::create_directories(dir_ / "cache");
  for (const char* text : {"", "not json", "[1,2]", R"({"devices": 3})",
                           R"({"devices": {"0:0": {"read_bytes_per_s": "fast"}}})"}) {
    std::ofstream(dir_ / "cache" / "iobench.json", std::ios::trunc) << text;
    EXPECT_FALSE(recorded_bandwidth(file_).has_value()) << text;
  }
  // A broken record is replaced by the next measurement.
  ASSERT_TRUE(record_bandwidth(file_, 1.0e9));
  EXPECT_DOUBLE_EQ(recorded_bandwidth(file_)->read_bytes_per_s, 1.0e9);
}

TEST_F(BandwidthRecord, SessionsPlanAndBoundWithTheRecordedBandwidth) {
  const std::string model = (dir_ / "model").string();
  SynthOptions so;
  so.n_layer = 2;
  so.force = true;
  synth_model(find_synth_spec("bert-tiny"), model, so);
  Inputs in;
  HostArray ids(DType::I64, {1, 8});
  for (int64_t i = 0; i < 8; ++i) ids.as<int64_t>()[i] = i + 1;
  in.input_ids = ids;
  SessionOptions o;
  o.threads = 1;
  o.executor = Executor::Swap;
  o.budget_fraction = 0.5;
  auto report_after_run = [&] {
    auto s = Session::open(model, o);
    s->run(in);
    return s->report();
  };
  const Report before = report_after_run();
  EXPECT_EQ(before.read_bandwidth_source, "default");
  ASSERT_TRUE(record_bandwidth(model + "/model.safetensors", 1.0e6));  // a very slow device
  const Report after = report_after_run();
  EXPECT_EQ(after.read_bandwidth_source.rfind("iobench ", 0), 0u) << after.read_bandwidth_source;
  EXPECT_DOUBLE_EQ(after.read_bytes_per_s, 1.0e6);
  // At 1 MB/s the bound is the stream: S/B seconds and more.
  EXPECT_GE(after.bound_ms, static_cast<double>(after.streamed_bytes) / 1.0e6 * 1e3);
  EXPECT_GT(after.predicted_ms, before.predicted_ms);
}
