// Buffered positional reader on pread(2).
#include "io/file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/error.h"

namespace edgerun {

namespace {
class PreadFile final : public RandomAccessFile {
 public:
  PreadFile(std::string path, int fd, uint64_t size) : path_(std::move(path)), fd_(fd), size_(size) {}
  ~PreadFile() override { ::close(fd_); }
  const std::string& path() const override { return path_; }
  uint64_t size() const override { return size_; }
  void will_need(uint64_t offset, uint64_t n) override {
    if (offset < size_) ::posix_fadvise(fd_, static_cast<off_t>(offset), static_cast<off_t>(n), POSIX_FADV_WILLNEED);
  }
  void read_at(uint64_t offset, uint64_t n, void* dst) override {
    if (offset > size_ || n > size_ - offset)
      ER_THROW(FormatError, path_, ": read of ", n, " bytes at offset ", offset,
               " runs past the end of the file (", size_, " bytes)");
    auto* out = static_cast<char*>(dst);
    uint64_t done = 0;
    while (done < n) {
      ssize_t r = ::pread(fd_, out + done, n - done, static_cast<off_t>(offset + done));
      if (r < 0) {
        if (errno == EINTR) continue;
        ER_THROW(IoError, path_, ": read failed at offset ", offset + done, ": ",
                 std::strerror(errno));
      }
      if (r == 0)
        ER_THROW(IoError, path_, ": file ended at offset ", offset + done,
                 " (truncated while in use?)");
      done += static_cast<uint64_t>(r);
    }
  }

 private:
  std::string path_;
  int fd_;
  uint64_t size_;
};
}  // namespace

std::unique_ptr<RandomAccessFile> open_file(const std::string& path) {
  // O_NONBLOCK: opening a FIFO must not block forever; regular files ignore the flag for reads.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) ER_THROW(IoError, path, ": cannot open: ", std::strerror(errno));
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    ER_THROW(IoError, path, ": not a regular file");
  }
  return std::make_unique<PreadFile>(path, fd, static_cast<uint64_t>(st.st_size));
}

std::string read_text_file(const std::string& path, uint64_t max_bytes) {
  auto f = open_file(path);
  if (f->size() > max_bytes)
    ER_THROW(FormatError, path, ": file is ", f->size(), " bytes, over the ", max_bytes,
             "-byte limit for this kind of file");
  std::string s(f->size(), '\0');
  if (!s.empty()) f->read_at(0, s.size(), s.data());
  return s;
}

}  // namespace edgerun
