// Test tool: an LD_PRELOAD library that makes pread(2) fail as a failing disk would, so that the
// CLI's handling of I/O errors is tested through the real binary and its real readers (the
// thread-pool and buffered engines read with pread; io_uring is not intercepted).
//   EDGERUN_FAULT_PATH    a file whose path ends with this (resolved through /proc/self/fd)
//   EDGERUN_FAULT_OFFSET  the byte: a read whose range covers it is a hit
//   EDGERUN_FAULT_NTH     which hit fails (1: the first; default 1); the others read normally
//   EDGERUN_FAULT_KIND    eio (default: -1 with errno EIO) or eof (0: the file ended before it)
//   EDGERUN_FAULT_LOG     appends one line per injected fault to this file
#include <dlfcn.h>
#include <fcntl.h>
#include <sys/types.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

using PreadFn = ssize_t (*)(int, void*, size_t, off_t);

struct Config {
  std::string path, kind, log;
  unsigned long long offset = 0;
  long nth = 1;
  bool active = false;
  Config() {
    const char* p = std::getenv("EDGERUN_FAULT_PATH");
    const char* o = std::getenv("EDGERUN_FAULT_OFFSET");
    if (!p || !o) return;
    path = p;
    offset = std::strtoull(o, nullptr, 10);
    if (const char* n = std::getenv("EDGERUN_FAULT_NTH")) nth = std::strtol(n, nullptr, 10);
    kind = std::getenv("EDGERUN_FAULT_KIND") ? std::getenv("EDGERUN_FAULT_KIND") : "eio";
    if (const char* l = std::getenv("EDGERUN_FAULT_LOG")) log = l;
    active = true;
  }
};

const Config& config() {
  static const Config c;
  return c;
}

std::atomic<long> hits{0};

bool path_matches(int fd, const std::string& suffix) {
  char link[64], target[4096];
  std::snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  const ssize_t n = readlink(link, target, sizeof target - 1);
  if (n <= 0) return false;
  const std::string t(target, static_cast<size_t>(n));
  return t.size() >= suffix.size() && t.compare(t.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Whether this read fails; *ret is what pread returns then (errno set for -1).
bool inject(int fd, size_t n, off_t off, ssize_t* ret) {
  const Config& c = config();
  if (!c.active || n == 0) return false;
  const unsigned long long b = static_cast<unsigned long long>(off);
  if (c.offset < b || c.offset - b >= n) return false;
  if (!path_matches(fd, c.path)) return false;
  if (hits.fetch_add(1) + 1 != c.nth) return false;
  if (!c.log.empty()) {
    const int lfd = open(c.log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (lfd >= 0) {
      char line[160];
      const int len = std::snprintf(line, sizeof line, "injected %s at offset %llu (read of %zu at %lld)\n",
                                    c.kind.c_str(), c.offset, n, static_cast<long long>(off));
      if (write(lfd, line, static_cast<size_t>(len)) < 0) {
      }
      close(lfd);
    }
  }
  if (c.kind == "eof") {
    *ret = 0;
    return true;
  }
  errno = EIO;
  *ret = -1;
  return true;
}

PreadFn next(const char* name) { return reinterpret_cast<PreadFn>(dlsym(RTLD_NEXT, name)); }

}  // namespace

extern "C" ssize_t pread(int fd, void* buf, size_t n, off_t off) {
  static const PreadFn real = next("pread");
  ssize_t r;
  if (inject(fd, n, off, &r)) return r;
  return real(fd, buf, n, off);
}

extern "C" ssize_t pread64(int fd, void* buf, size_t n, off_t off) {
  static const PreadFn real = next("pread64");
  ssize_t r;
  if (inject(fd, n, off, &r)) return r;
  return real(fd, buf, n, off);
}
