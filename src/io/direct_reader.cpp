// DirectReader implementation. One read_at, or one read_many batch, becomes a Job of chunks,
// served by one of two engines:
//  - io_uring (io/uring.h), where built and allowed: the caller submits the chunks to a ring of
//    the file's pool and reaps them, queue_depth in flight, no helper threads;
//  - threads: the caller and up to queue_depth-1 persistent helper threads of the file claim
//    chunks with an atomic counter, so queue_depth preads are in flight.
// Either way the caller returns only when no read of its job is in flight (they write into its
// buffer), and rethrows the first error.
#include "io/direct_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <exception>
#include <mutex>
#include <system_error>
#include <thread>
#include <vector>

#include "core/error.h"
#include "io/read_chunk.h"
#include "io/uring.h"

namespace edgerun {

namespace {

constexpr uint64_t kAlign = 4096;

uint64_t round_up(uint64_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

std::atomic<bool> g_fallback_warned{false};

struct Job {
  std::vector<Chunk> chunks;
  std::atomic<uint32_t> next{0};  // next chunk to claim
  std::atomic<bool> failed{false};
  std::mutex mu;
  std::condition_variable cv;
  uint32_t done = 0;  // chunks finished or skipped (guarded by mu)
  std::exception_ptr error;
  uint32_t n_chunks() const { return static_cast<uint32_t>(chunks.size()); }
};

class DirectFile final : public DirectReader {
 public:
  // uring: the file's io_uring rings, or null for the thread pool.
  DirectFile(std::string path, int buffered_fd, int direct_fd, uint64_t size, DirectOptions o,
             std::unique_ptr<UringPool> uring)
      : path_(std::move(path)), bfd_(buffered_fd), dfd_(direct_fd), size_(size), opt_(o),
        uring_(std::move(uring)) {}

  ~DirectFile() override {
    {
      std::lock_guard<std::mutex> lk(pool_mu_);
      stop_ = true;
    }
    pool_cv_.notify_all();
    for (auto& t : workers_) t.join();
    ::close(bfd_);
    if (dfd_ >= 0) ::close(dfd_);
  }

  const std::string& path() const override { return path_; }
  uint64_t size() const override { return size_; }
  bool is_direct() const override { return dfd_ >= 0; }
  const DirectOptions& options() const override { return opt_; }
  const char* engine() const override { return uring_ ? "io_uring" : "threads"; }
  DirectStats stats() const override {
    return {direct_reads_.load(), direct_bytes_.load(), buffered_reads_.load(),
            buffered_bytes_.load()};
  }

  void read_at(uint64_t offset, uint64_t n, void* dst) override {
    const ReadRequest r{offset, n, dst};
    read_many(&r, 1);
  }

  // All requests become one job, so the pool keeps queue_depth reads in flight from the first
  // request's first chunk to the last request's last one.
  void read_many(const ReadRequest* reqs, size_t count) override {
    auto job = std::make_shared<Job>();
    for (size_t i = 0; i < count; ++i) add_chunks(*job, reqs[i]);
    if (job->chunks.empty()) return;
    if (uring_ && job->n_chunks() > 1) {
      uring_->run(job->chunks, dfd_, bfd_, path_, size_);
      return;
    }
    const bool parallel = job->n_chunks() > 1 && opt_.queue_depth > 1 && start_workers();
    if (parallel) {
      {
        std::lock_guard<std::mutex> lk(pool_mu_);
        queue_.push_back(job);
      }
      pool_cv_.notify_all();
    }
    run_chunks(*job);
    if (parallel) {
      std::lock_guard<std::mutex> lk(pool_mu_);
      auto it = std::find(queue_.begin(), queue_.end(), job);
      if (it != queue_.end()) queue_.erase(it);
    }
    std::unique_lock<std::mutex> lk(job->mu);
    job->cv.wait(lk, [&] { return job->done == job->n_chunks(); });
    // Take the error out of the job: a helper may drop the job's last reference, and the
    // exception object must not be released there while the caller is handling it.
    std::exception_ptr error = std::move(job->error);
    job->error = nullptr;
    lk.unlock();
    if (error) std::rethrow_exception(error);
  }

 private:
  // Checks one request and appends its chunks to `j`.
  void add_chunks(Job& j, const ReadRequest& r) {
    if (r.offset > size_ || r.n > size_ - r.offset)
      ER_THROW(FormatError, path_, ": read of ", r.n, " bytes at offset ", r.offset,
               " runs past the end of the file (", size_, " bytes)");
    if (r.n == 0) return;
    const bool aligned = r.offset % kAlign == 0 && reinterpret_cast<uintptr_t>(r.dst) % kAlign == 0 &&
                         (r.n % kAlign == 0 || r.offset + r.n == size_);
    const bool direct = dfd_ >= 0 && aligned;
    if (dfd_ >= 0 && !aligned && opt_.strict_alignment)
      ER_CHECK(false, path_, ": direct read at offset ", r.offset, " of ", r.n,
               " bytes is not 4 KiB aligned (dst ", r.dst, ")");
    if (direct) {
      ++direct_reads_;
      direct_bytes_ += r.n;
    } else {
      ++buffered_reads_;
      buffered_bytes_ += r.n;
    }
    // A direct read at the end of the file asks for the aligned-up length and gets the rest.
    const uint64_t total = direct ? round_up(r.n) : r.n;
    for (uint64_t rel = 0; rel < total; rel += opt_.chunk_bytes) {
      Chunk c;
      c.off = r.offset + rel;
      c.len = std::min(opt_.chunk_bytes, total - rel);
      c.expected = direct ? std::min(c.len, size_ - c.off) : c.len;
      c.dst = static_cast<char*>(r.dst) + rel;
      c.direct = direct;
      j.chunks.push_back(c);
    }
  }

  // Claims and reads chunks of `j` until none is left; records the first error.
  void run_chunks(Job& j) {
    for (;;) {
      const uint32_t c = j.next.fetch_add(1);
      if (c >= j.n_chunks()) return;
      if (!j.failed.load()) {
        try {
          read_chunk(j.chunks[c]);
        } catch (...) {
          std::lock_guard<std::mutex> lk(j.mu);
          if (!j.error) j.error = std::current_exception();
          j.failed = true;
        }
      }
      std::lock_guard<std::mutex> lk(j.mu);
      if (++j.done == j.n_chunks()) j.cv.notify_all();
    }
  }

  void read_chunk(const Chunk& c) {
    const int fd = c.direct ? dfd_ : bfd_;
    uint64_t done = 0;
    while (done < c.expected) {
      const ssize_t r = ::pread(fd, c.dst + done, c.len - done, static_cast<off_t>(c.off + done));
      if (r < 0) {
        if (errno == EINTR) continue;
        throw_read_error(path_, c.off + done, errno, c.direct);
      }
      if (r == 0) throw_truncated(path_, c.off + done, size_);
      done = chunk_progress(path_, size_, c, done, static_cast<uint64_t>(r));
    }
  }

  // Starts the helper threads on first use (most files see only small reads). Returns false if
  // none could be started: reads then run on the caller alone, correct but at depth 1.
  bool start_workers() {
    std::lock_guard<std::mutex> lk(pool_mu_);
    if (workers_started_) return !workers_.empty();
    workers_started_ = true;
    try {
      for (int i = 1; i < opt_.queue_depth; ++i) workers_.emplace_back([this] { worker_loop(); });
    } catch (const std::system_error&) {
      // Keep the threads that did start.
    }
    return !workers_.empty();
  }

  void worker_loop() {
    for (;;) {
      std::shared_ptr<Job> j;
      {
        std::unique_lock<std::mutex> lk(pool_mu_);
        for (;;) {
          while (!queue_.empty() && queue_.front()->next.load() >= queue_.front()->n_chunks())
            queue_.pop_front();
          if (stop_) return;
          if (!queue_.empty()) break;
          pool_cv_.wait(lk);
        }
        j = queue_.front();
      }
      run_chunks(*j);
    }
  }

  std::string path_;
  int bfd_;  // buffered descriptor: unaligned reads and the fallback
  int dfd_;  // O_DIRECT descriptor, -1 when refused or not wanted
  uint64_t size_;
  DirectOptions opt_;
  std::unique_ptr<UringPool> uring_;  // null: the thread pool serves every read
  std::atomic<uint64_t> direct_reads_{0}, direct_bytes_{0}, buffered_reads_{0}, buffered_bytes_{0};

  std::mutex pool_mu_;
  std::condition_variable pool_cv_;
  std::deque<std::shared_ptr<Job>> queue_;
  std::vector<std::thread> workers_;
  bool workers_started_ = false;
  bool stop_ = false;
};

// Opens `path` with O_DIRECT; returns -1 if the filesystem refuses it (at open, or at the first
// read, as some filesystems accept the flag and fail reads with EINVAL). Throws on other errors.
int open_o_direct(const std::string& path, const struct stat& expect, uint64_t size,
                  bool simulate_refusal) {
  if (simulate_refusal) return -1;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_DIRECT);
  if (fd < 0) {
    if (errno == EINVAL) return -1;
    ER_THROW(IoError, path, ": cannot open for direct I/O: ", std::strerror(errno));
  }
  struct stat st {};
  if (fstat(fd, &st) != 0 || st.st_dev != expect.st_dev || st.st_ino != expect.st_ino) {
    ::close(fd);
    ER_THROW(IoError, path, ": file was replaced while being opened");
  }
  if (size == 0) return fd;
  void* probe = std::aligned_alloc(kAlign, kAlign);
  if (!probe) {
    ::close(fd);
    ER_THROW(IoError, path, ": out of memory for the direct-I/O probe");
  }
  ssize_t r;
  do {
    r = ::pread(fd, probe, kAlign, 0);
  } while (r < 0 && errno == EINTR);
  const int e = errno;
  std::free(probe);
  if (r < 0) {
    ::close(fd);
    if (e == EINVAL) return -1;
    ER_THROW(IoError, path, ": read failed at offset 0: ", std::strerror(e));
  }
  return fd;
}

}  // namespace

void throw_truncated(const std::string& path, uint64_t at, uint64_t size) {
  ER_THROW(IoError, path, ": file changed or truncated while reading: it ended at offset ", at,
           " but had ", size, " bytes when opened");
}

void throw_read_error(const std::string& path, uint64_t at, int err, bool direct) {
  ER_THROW(IoError, path, ": read failed at offset ", at, ": ", std::strerror(err),
           direct && err == EINVAL ? " (O_DIRECT read refused)" : "");
}

uint64_t chunk_progress(const std::string& path, uint64_t size, const Chunk& c, uint64_t done,
                        uint64_t got) {
  done += got;
  if (c.direct && done < c.expected && done % kAlign != 0) throw_truncated(path, c.off + done, size);
  return done;
}

bool io_uring_available() {
  static const bool ok = UringPool::create(2) != nullptr;
  return ok;
}

bool is_direct(const RandomAccessFile& f) {
  const auto* r = dynamic_cast<const IoReader*>(&f);
  return r != nullptr && r->is_direct();
}

std::string read_engine(const RandomAccessFile& f) {
  const auto* d = dynamic_cast<const DirectReader*>(&f);
  return d != nullptr && d->is_direct() ? d->engine() : "buffered";
}

std::unique_ptr<DirectReader> open_direct_reader(const std::string& path, const DirectOptions& o) {
  ER_CHECK(o.queue_depth >= 1 && o.queue_depth <= 256, "queue_depth ", o.queue_depth);
  ER_CHECK(o.chunk_bytes >= 1 && o.chunk_bytes <= (1ull << 40), "chunk_bytes ", o.chunk_bytes);
  DirectOptions opt = o;
  opt.chunk_bytes = round_up(o.chunk_bytes);
  // The rings first: a refusal then leaves no descriptor to close. Depth 1 reads on the caller.
  std::unique_ptr<UringPool> uring;
  if (o.engine != IoEngine::Threads && o.queue_depth > 1) {
    uring = UringPool::create(static_cast<unsigned>(o.queue_depth));
    if (!uring && o.engine == IoEngine::Uring)
      ER_THROW(IoError, path, ": io_uring is not available (",
               uring_compiled() ? "the kernel refuses it" : "built without liburing", ")");
  }
  // O_NONBLOCK: opening a FIFO must not block forever; regular files ignore it for reads.
  int bfd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (bfd < 0) ER_THROW(IoError, path, ": cannot open: ", std::strerror(errno));
  struct stat st {};
  if (fstat(bfd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(bfd);
    ER_THROW(IoError, path, ": not a regular file");
  }
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  int dfd = -1;
  if (!opt.buffered) {
    try {
      dfd = open_o_direct(path, st, size, opt.simulate_refusal);
    } catch (...) {
      ::close(bfd);
      throw;
    }
    if (dfd < 0) {
      if (!opt.allow_fallback) {
        ::close(bfd);
        ER_THROW(IoError, path, ": the filesystem refuses direct I/O (O_DIRECT)");
      }
      if (!g_fallback_warned.exchange(true))
        std::fprintf(stderr,
                     "edgerun: warning: %s: the filesystem refuses direct I/O (O_DIRECT); reading "
                     "through the page cache instead (further files: no warning)\n",
                     path.c_str());
    }
  }
  return std::make_unique<DirectFile>(path, bfd, dfd, size, opt, std::move(uring));
}

std::unique_ptr<RandomAccessFile> open_direct(const std::string& path, const DirectOptions& o) {
  return open_direct_reader(path, o);
}

}  // namespace edgerun
