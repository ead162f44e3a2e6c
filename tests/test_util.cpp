// The shared test helpers of test_util.h: temporary folders, the deadline watchdog, and child
// processes run with posix_spawn, read through poll, killed at their deadline.
#include "test_util.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <cerrno>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

extern char** environ;

namespace edgerun::test {

namespace fs = std::filesystem;

TempDir::TempDir(const std::string& tag) {
  std::string clean = tag;
  for (char& c : clean)
    if (c == '/' || c == ' ') c = '_';
  std::string tmpl = (fs::temp_directory_path() / ("edgerun_" + clean + "_XXXXXX")).string();
  if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp " + tmpl + ": " + std::strerror(errno));
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

std::string TempDir::write(const std::string& name, const std::string& bytes) const {
  const std::string p = file(name);
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!f.good()) throw std::runtime_error("cannot write " + p);
  return p;
}

TempDir& binary_temp_dir() {
  static TempDir dir("binary");
  return dir;
}

void TempDirTest::SetUp() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  tmp_ = std::make_unique<TempDir>(std::string(info->test_suite_name()) + "_" + info->name());
  dir_ = tmp_->path();
}

void TempDirTest::TearDown() { tmp_.reset(); }

void with_deadline(const std::function<void()>& f, std::chrono::seconds limit, const std::string& what) {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  const std::string test = info ? std::string(info->test_suite_name()) + "." + info->name() : "(no test)";
  std::thread dog([&] {
    std::unique_lock<std::mutex> lk(mu);
    if (!cv.wait_for(lk, limit, [&] { return done; })) {
      std::fprintf(stderr, "\n[ DEADLINE ] %s: %s did not return within %lld s; aborting the test binary\n",
                   test.c_str(), what.c_str(), static_cast<long long>(limit.count()));
      std::fflush(stderr);
      std::abort();
    }
  });
  auto stop = [&] {
    {
      std::lock_guard<std::mutex> lk(mu);
      done = true;
    }
    cv.notify_all();
    dog.join();
  };
  try {
    f();
  } catch (...) {
    stop();
    throw;
  }
  stop();
}

std::vector<std::map<std::string, std::string>> read_csv(const std::string& path) {
  std::istringstream in(read_bytes(path));
  if (!std::ifstream(path)) throw std::runtime_error("read_csv: cannot open " + path);
  auto split = [](const std::string& l) {
    std::vector<std::string> f;
    std::string cur;
    for (char c : l) {
      if (c == ',') {
        f.push_back(cur);
        cur.clear();
      } else if (c != '\r') {
        cur += c;
      }
    }
    f.push_back(cur);
    return f;
  };
  std::vector<std::string> header;
  std::vector<std::map<std::string, std::string>> rows;
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    const std::vector<std::string> f = split(line);
    if (header.empty()) {
      header = f;
      continue;
    }
    EXPECT_EQ(f.size(), header.size()) << path << ": " << line;
    std::map<std::string, std::string> r;
    for (size_t i = 0; i < header.size() && i < f.size(); ++i) r[header[i]] = f[i];
    rows.push_back(std::move(r));
  }
  return rows;
}

std::vector<std::string> split_args(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  bool have = false;
  char quote = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (quote) {
      if (c == quote) quote = 0;
      else if (c == '\\' && quote == '"' && i + 1 < s.size()) cur += s[++i];
      else cur += c;
    } else if (c == '\'' || c == '"') {
      quote = c;
      have = true;
    } else if (c == '\\' && i + 1 < s.size()) {
      cur += s[++i];
      have = true;
    } else if (c == ' ' || c == '\t' || c == '\n') {
      if (have) out.push_back(cur);
      cur.clear();
      have = false;
    } else {
      cur += c;
      have = true;
    }
  }
  if (quote) throw std::runtime_error("split_args: unclosed quote in: " + s);
  if (have) out.push_back(cur);
  return out;
}

namespace {
std::string clip(const std::string& s, size_t n = 4000) {
  return s.size() <= n ? s : s.substr(0, n / 2) + "\n[...]\n" + s.substr(s.size() - n / 2);
}
}  // namespace

std::string CmdResult::describe() const {
  std::ostringstream os;
  if (timed_out) os << "timed out (killed)";
  else if (signal) os << "killed by signal " << signal << " (" << strsignal(signal) << ")";
  else os << "exited with " << code;
  os << "\n--- stdout ---\n" << clip(out) << "\n--- stderr ---\n" << clip(err);
  return os.str();
}

CmdResult run_process(const std::vector<std::string>& argv_in, const CmdOptions& o) {
  std::vector<std::string> argv = argv_in;
  std::string rss_file;
  if (o.measure_peak_rss) {
#ifdef EDGERUN_PEAK_RSS_LAUNCHER
    std::string tmpl = (fs::temp_directory_path() / "edgerun_rss_XXXXXX").string();
    const int fd = mkstemp(tmpl.data());
    if (fd < 0) throw std::runtime_error("mkstemp " + tmpl + ": " + std::strerror(errno));
    ::close(fd);
    rss_file = tmpl;
    argv.insert(argv.begin(), {EDGERUN_PEAK_RSS_LAUNCHER, rss_file});
#else
    throw std::runtime_error("run_process: no peak-RSS launcher in this build");
#endif
  }
  // The environment: this process's, minus the removed names, with the overrides.
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) {
    const std::string kv = *e;
    const std::string name = kv.substr(0, kv.find('='));
    bool drop = false;
    for (const auto& u : o.unset_env) drop |= u == name;
    for (const auto& [k, v] : o.env) drop |= k == name;
    if (!drop) env.push_back(kv);
  }
  for (const auto& [k, v] : o.env) env.push_back(k + "=" + v);
  std::vector<char*> av, ev;
  for (auto& a : argv) av.push_back(a.data());
  av.push_back(nullptr);
  for (auto& e : env) ev.push_back(e.data());
  ev.push_back(nullptr);

  int out_pipe[2], err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0)
    throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, out_pipe[1], 1);
  posix_spawn_file_actions_adddup2(&fa, err_pipe[1], 2);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, av[0], &fa, nullptr, av.data(), ev.data());
  posix_spawn_file_actions_destroy(&fa);
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  if (rc != 0) {
    ::close(out_pipe[0]);
    ::close(err_pipe[0]);
    throw std::runtime_error("posix_spawn " + argv[0] + ": " + std::strerror(rc));
  }

  CmdResult r;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(o.timeout_s);
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  std::string* sinks[2] = {&r.out, &r.err};
  int open_fds = 2;
  bool killed = false;
  while (open_fds > 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 && !killed) {
      ::kill(pid, SIGKILL);
      killed = true;
    }
    const int n = ::poll(fds, 2, killed ? 1000 : static_cast<int>(std::min<int64_t>(left.count() + 1, 1000)));
    if (n < 0 && errno != EINTR) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buf[65536];
      const ssize_t got = ::read(fds[i].fd, buf, sizeof buf);
      if (got > 0) {
        sinks[i]->append(buf, static_cast<size_t>(got));
      } else if (got == 0 || errno != EINTR) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  for (auto& f : fds)
    if (f.fd >= 0) ::close(f.fd);
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  r.timed_out = killed;
  if (WIFEXITED(st)) r.code = WEXITSTATUS(st);
  if (WIFSIGNALED(st)) r.signal = WTERMSIG(st);
  if (!rss_file.empty()) {
    std::ifstream f(rss_file);
    f >> r.peak_rss_bytes;
    std::error_code ec;
    fs::remove(rss_file, ec);
  }
  return r;
}

::testing::AssertionResult cli_ok(const CmdResult& r) {
  if (r.exited() && r.code == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "expected exit 0; " << r.describe();
}

::testing::AssertionResult cli_failed(const CmdResult& r, int code, const std::string& needle,
                                      const std::vector<std::string>& absent) {
  if (!r.exited()) return ::testing::AssertionFailure() << "expected exit " << code << "; " << r.describe();
  if (r.code != code) return ::testing::AssertionFailure() << "expected exit " << code << "; " << r.describe();
  if (!r.out.empty()) return ::testing::AssertionFailure() << "printed on stdout while failing; " << r.describe();
  std::istringstream lines(r.err);
  std::string line, error;
  int errors = 0;
  while (std::getline(lines, line)) {
    if (line.rfind("edgerun: ", 0) != 0)
      return ::testing::AssertionFailure() << "stderr line without the \"edgerun: \" prefix: \"" << line << "\"; "
                                           << r.describe();
    if (line.rfind("edgerun: warning: ", 0) == 0) continue;
    ++errors;
    error = line;
  }
  if (errors != 1)
    return ::testing::AssertionFailure() << "expected one error line, got " << errors << "; " << r.describe();
  // One line a user can read: no dumps (a 309-digit DBL_MAX was once printed).
  if (error.size() > 1000)
    return ::testing::AssertionFailure() << "the error is " << error.size() << " characters long: " << error;
  if (!contains(error, needle))
    return ::testing::AssertionFailure() << "the error does not name \"" << needle << "\": " << error;
  for (const auto& p : absent)
    if (fs::exists(fs::symlink_status(p)))
      return ::testing::AssertionFailure() << "left " << p << " behind after failing: " << error;
  return ::testing::AssertionSuccess();
}

namespace {
int count_entries(const char* dir) {
  int n = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    (void)e;
    ++n;
  }
  return n;
}

// io_uring's workers (iou-wrk-N) are the kernel's threads, started for reads it cannot issue
// without blocking and ended by it after a while idle: not threads of ours.
int count_tasks_now() {
  int n = 0;
  for (const auto& e : fs::directory_iterator("/proc/self/task")) {
    std::ifstream comm(e.path() / "comm");
    std::string name;
    std::getline(comm, name);
    n += name.rfind("iou-", 0) != 0;
  }
  return n;
}
}  // namespace

// A joined thread can still be listed for a moment (join returns when the kernel clears its
// id, before it removes the task): the count is the one two reads 20 ms apart agree on.
int count_threads() {
  int n = count_tasks_now();
  for (int i = 0; i < 50; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    const int again = count_tasks_now();
    if (again == n) break;
    n = again;
  }
  return n;
}

int count_fds() { return count_entries("/proc/self/fd"); }

}  // namespace edgerun::test
