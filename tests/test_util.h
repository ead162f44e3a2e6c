// Helpers shared by the test files: temporary folders removed with the test, file I/O, comparisons
// that a NaN cannot pass, a deadline that ends a hang, and the edgerun binary run as a child
// process whose exit, signal, output streams and peak memory are told apart.
#pragma once
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <limits>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace edgerun::test {

inline std::string read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

inline bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// The message of the exception of type E that f throws; a marker naming what happened instead
// (another exception type, or none), so that assertions on the message fail readably.
template <typename E, typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  } catch (const std::exception& e) {
    return std::string("wrong exception type: ") + e.what();
  }
  return "no error";
}

// A CSV file with a header line as rows of {column: text} (no quoting; '\r' dropped).
std::vector<std::map<std::string, std::string>> read_csv(const std::string& path);

// ---- temporary folders ----

// A fresh folder under $TMPDIR (mkdtemp), removed with everything in it when it goes out of
// scope: tests leave no models behind.
class TempDir {
 public:
  explicit TempDir(const std::string& tag = "t");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string str() const { return path_.string(); }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }
  // Writes `bytes` to file(name) and returns its path.
  std::string write(const std::string& name, const std::string& bytes) const;

 private:
  std::filesystem::path path_;
};

// Sets an environment variable for its lifetime, restoring the old value (or its absence) after.
class ScopedEnv {
 public:
  ScopedEnv(std::string name, const std::string& value) : name_(std::move(name)) {
    if (const char* old = std::getenv(name_.c_str())) old_ = old;
    ::setenv(name_.c_str(), value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (old_) ::setenv(name_.c_str(), old_->c_str(), 1);
    else ::unsetenv(name_.c_str());
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  std::string name_;
  std::optional<std::string> old_;
};

// One folder for the whole test binary, removed when it exits: fixtures (models) that several
// tests share are made once per process.
TempDir& binary_temp_dir();

// A fixture with a fresh temporary folder per test, removed afterwards.
class TempDirTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;
  std::string write_file(const std::string& name, const std::string& bytes) { return tmp_->write(name, bytes); }
  std::unique_ptr<TempDir> tmp_;
  std::filesystem::path dir_;
};

// ---- comparisons ----

// How far `got` is from `want`, element by element, as max |got - want| / (1 + |want|) (rel) or
// max |got - want| (abs). A NaN or infinity in one where the other has none counts as an
// infinite error: an output a kernel never wrote (tests fill outputs with NaN first) fails any
// bound. std::max would drop the NaN.
template <typename G, typename W>
double max_err(const G* got, const W* want, size_t n, bool relative) {
  double m = 0;
  for (size_t i = 0; i < n; ++i) {
    const double g = static_cast<double>(got[i]), w = static_cast<double>(want[i]);
    if (std::isnan(g) || std::isnan(w)) {
      if (std::isnan(g) != std::isnan(w)) return std::numeric_limits<double>::infinity();
      continue;
    }
    if (std::isinf(g) || std::isinf(w)) {
      if (g != w) return std::numeric_limits<double>::infinity();
      continue;
    }
    const double e = std::fabs(g - w) / (relative ? 1.0 + std::fabs(w) : 1.0);
    if (e > m) m = e;
  }
  return m;
}
template <typename G, typename W>
double max_rel_err(const G* got, const W* want, size_t n) { return max_err(got, want, n, true); }
template <typename G, typename W>
double max_abs_err(const G* got, const W* want, size_t n) { return max_err(got, want, n, false); }
template <typename T>
double max_rel_err(const std::vector<T>& got, const std::vector<T>& want) {
  if (got.size() != want.size()) return std::numeric_limits<double>::infinity();
  return max_rel_err(got.data(), want.data(), got.size());
}

// ---- deadlines ----

// Runs f on this thread while a watchdog waits: if f has not returned within `limit`, the
// watchdog prints what hung (test and `what`) and aborts the test binary, so a deadlocked
// pipeline fails its test within the deadline instead of hanging CI. (A std::async future
// cannot do this: its destructor waits for the task to end.)
void with_deadline(const std::function<void()>& f, std::chrono::seconds limit = std::chrono::seconds(60),
                   const std::string& what = "the call");

// ---- processes ----

struct CmdOptions {
  std::vector<std::pair<std::string, std::string>> env;  // set for the child
  std::vector<std::string> unset_env;                    // removed for the child
  int timeout_s = 300;                                   // then SIGKILL: timed_out
  bool measure_peak_rss = false;  // run under the peak-RSS launcher (peak_rss_bytes)
};

struct CmdResult {
  int code = -1;           // exit status; -1 when the process did not exit by itself
  int signal = 0;          // the signal that ended it, 0 if none
  bool timed_out = false;  // killed at the deadline
  std::string out, err;    // its stdout and stderr
  uint64_t peak_rss_bytes = 0;  // with measure_peak_rss: the child's whole-life VmHWM
  bool exited() const { return !timed_out && signal == 0 && code >= 0; }
  // How it ended and what it printed, for failure messages.
  std::string describe() const;
};

// Runs argv[0] with argv (no shell), capturing both streams, within o.timeout_s.
CmdResult run_process(const std::vector<std::string>& argv, const CmdOptions& o = {});
// Splits `args` as a shell would (quotes, no expansions) for the commands in tests.
std::vector<std::string> split_args(const std::string& args);

#ifdef EDGERUN_BINARY
// `edgerun ARGS`: the binary under test in a child process.
inline CmdResult run_edgerun(const std::string& args, const CmdOptions& o = {}) {
  std::vector<std::string> argv{EDGERUN_BINARY};
  for (auto& a : split_args(args)) argv.push_back(std::move(a));
  return run_process(argv, o);
}
#endif

// A clean success: exited 0 by itself.
::testing::AssertionResult cli_ok(const CmdResult& r);
// A clean failure, as the CLI promises: the process exited by itself (no signal, no hang) with
// exactly `code`; stderr holds one error line, "edgerun: ..." containing `needle` (other lines
// may only be "edgerun: warning: ..."); stdout is empty; and none of the `absent` paths (output
// files or folders) exists.
::testing::AssertionResult cli_failed(const CmdResult& r, int code, const std::string& needle,
                                      const std::vector<std::string>& absent = {});

// Threads and open file descriptors of this process (/proc/self/task, /proc/self/fd).
int count_threads();
int count_fds();

}  // namespace edgerun::test
