// drop_file_cache / resident_pages on posix_fadvise and mincore. The file is mapped in windows
// so that a file of any size costs a bounded mincore vector.
#include "io/page_cache.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "core/error.h"

namespace edgerun {

namespace {
class Fd {
 public:
  explicit Fd(const std::string& path) : fd_(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK)) {
    if (fd_ < 0) ER_THROW(IoError, path, ": cannot open: ", std::strerror(errno));
    struct stat st {};
    if (fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode)) {
      ::close(fd_);
      ER_THROW(IoError, path, ": not a regular file");
    }
    size_ = static_cast<uint64_t>(st.st_size);
  }
  ~Fd() { ::close(fd_); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  uint64_t size() const { return size_; }

 private:
  int fd_;
  uint64_t size_ = 0;
};

uint64_t page_size() { return static_cast<uint64_t>(sysconf(_SC_PAGESIZE)); }
}  // namespace

void drop_file_cache(const std::string& path) {
  Fd f(path);
  // fsync on a read-only descriptor flushes the file's dirty pages on Linux; it fails only where
  // the filesystem has nothing to sync (EINVAL), which is harmless here.
  if (::fsync(f.get()) != 0 && errno != EINVAL && errno != EROFS)
    ER_THROW(IoError, path, ": fsync failed: ", std::strerror(errno));
  const int r = posix_fadvise(f.get(), 0, 0, POSIX_FADV_DONTNEED);
  if (r != 0) ER_THROW(IoError, path, ": posix_fadvise(DONTNEED) failed: ", std::strerror(r));
}

uint64_t file_pages(const std::string& path) {
  Fd f(path);
  const uint64_t ps = page_size();
  return (f.size() + ps - 1) / ps;
}

uint64_t resident_pages(const std::string& path) {
  Fd f(path);
  const uint64_t ps = page_size();
  constexpr uint64_t kWindow = 1ull << 30;  // multiple of any page size
  std::vector<unsigned char> vec;
  uint64_t resident = 0;
  for (uint64_t off = 0; off < f.size(); off += kWindow) {
    const uint64_t len = std::min(kWindow, f.size() - off);
    void* p = mmap(nullptr, len, PROT_READ, MAP_SHARED, f.get(), static_cast<off_t>(off));
    if (p == MAP_FAILED) ER_THROW(IoError, path, ": mmap for mincore failed: ", std::strerror(errno));
    vec.assign((len + ps - 1) / ps, 0);
    const int r = mincore(p, len, vec.data());
    const int e = errno;
    munmap(p, len);
    if (r != 0) ER_THROW(IoError, path, ": mincore failed: ", std::strerror(e));
    for (unsigned char v : vec) resident += v & 1;
  }
  return resident;
}

uint64_t make_cold(const std::string& path, int attempts) {
  uint64_t left = 0;
  for (int i = 0; i < std::max(1, attempts); ++i) {
    drop_file_cache(path);
    left = resident_pages(path);
    if (left == 0) break;
  }
  return left;
}

}  // namespace edgerun
