// io_uring engine: a submit / reap loop over a job's chunks on one ring of the pool.
#include "io/uring.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>

#include "core/error.h"

#ifdef EDGERUN_HAVE_URING
#include <liburing.h>
#endif

namespace edgerun {

#ifdef EDGERUN_HAVE_URING

struct UringPool::Ring {
  io_uring ring{};
  bool live = false;  // set up: queue_exit on destruction
  ~Ring() {
    if (live) io_uring_queue_exit(&ring);
  }
};

namespace {

// A ring of `depth` entries, or null where the kernel refuses. COOP_TASKRUN: completions are
// handled when the submitter next waits instead of by interrupting whichever thread runs (the
// compute threads, most of the time); kernels before 5.19 reject the flag, so retry without.
std::unique_ptr<UringPool::Ring> make_ring(unsigned depth) {
  auto r = std::make_unique<UringPool::Ring>();
  io_uring_params p{};
  p.flags = IORING_SETUP_COOP_TASKRUN;
  int rc = io_uring_queue_init_params(depth, &r->ring, &p);
  if (rc == -EINVAL) {
    p = io_uring_params{};
    rc = io_uring_queue_init_params(depth, &r->ring, &p);
  }
  if (rc < 0) return nullptr;
  r->live = true;
  return r;
}

}  // namespace

std::unique_ptr<UringPool> UringPool::create(unsigned depth) {
  auto ring = make_ring(depth);
  if (!ring) return nullptr;
  std::unique_ptr<UringPool> pool(new UringPool(depth));
  pool->free_.push_back(std::move(ring));
  return pool;
}

UringPool::UringPool(unsigned depth) : depth_(depth) {}
UringPool::~UringPool() = default;

std::unique_ptr<UringPool::Ring> UringPool::take() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (!free_.empty()) {
      auto r = std::move(free_.back());
      free_.pop_back();
      return r;
    }
  }
  return make_ring(depth_);
}

void UringPool::give(std::unique_ptr<Ring> r) {
  std::lock_guard<std::mutex> lk(mu_);
  free_.push_back(std::move(r));
}

void UringPool::run(const std::vector<Chunk>& chunks, int dfd, int bfd, const std::string& path,
                    uint64_t size) {
  std::unique_ptr<Ring> owned = take();
  ER_CHECK(owned != nullptr, path, ": could not set up another io_uring ring");
  io_uring* ring = &owned->ring;
  const size_t n = chunks.size();
  std::vector<uint64_t> done(n, 0);  // bytes of each chunk read so far
  size_t next = 0;                   // next chunk to submit
  unsigned in_flight = 0;            // queued or in the kernel
  unsigned queued = 0;               // queued, not yet handed to the kernel
  bool broken = false;               // the kernel refused a submission: do not reuse the ring
  std::exception_ptr error;

  // Queues the rest of chunk i (at most 1 GiB: a ring read's length is 32-bit; the rest goes
  // on after it completes). The ring has room: in_flight < depth_, its entry count.
  auto queue = [&](size_t i) {
    const Chunk& c = chunks[i];
    io_uring_sqe* sqe = io_uring_get_sqe(ring);
    const uint64_t len = std::min<uint64_t>(c.len - done[i], 1ull << 30);
    io_uring_prep_read(sqe, c.direct ? dfd : bfd, c.dst + done[i], static_cast<unsigned>(len),
                       c.off + done[i]);
    io_uring_sqe_set_data64(sqe, i);
    ++in_flight;
    ++queued;
  };

  while (true) {
    while (!error && next < n && in_flight < depth_) queue(next++);
    if (in_flight == 0) break;
    // Submit what is queued and wait for a completion; once broken, only wait for the reads the
    // kernel has. EINTR / EAGAIN / EBUSY lose nothing: reap what completed and try again.
    // Once every chunk is queued, wait for all of them at once: one wakeup per job instead of
    // one per read, each of which would take a core from the compute.
    io_uring_cqe* first = nullptr;
    const unsigned want = next < n || error ? 1u : in_flight;
    const int rc = broken ? io_uring_wait_cqe(ring, &first) : io_uring_submit_and_wait(ring, want);
    if (rc >= 0) {
      if (!broken) queued -= std::min<unsigned>(queued, static_cast<unsigned>(rc));
    } else if (rc != -EINTR && rc != -EAGAIN && rc != -EBUSY) {
      if (broken) {
        // Reads are in the kernel and their completions cannot be waited for: returning would
        // let them write into memory the caller is about to reuse. Not seen in practice.
        std::fprintf(stderr, "edgerun: fatal: %s: io_uring wait failed: %s\n", path.c_str(),
                     std::strerror(-rc));
        std::abort();
      }
      if (!error) error = std::make_exception_ptr(
          IoError(path + ": io_uring submission failed: " + std::strerror(-rc)));
      broken = true;
      in_flight -= queued;  // these never reached the kernel and never will
      queued = 0;
    }
    io_uring_cqe* cqe = nullptr;
    unsigned head = 0, seen = 0;
    io_uring_for_each_cqe(ring, head, cqe) {
      ++seen;
      --in_flight;
      const size_t i = io_uring_cqe_get_data64(cqe);
      const int res = cqe->res;
      if (error) continue;  // draining: only wait for the reads still in flight
      const Chunk& c = chunks[i];
      try {
        if (res == -EINTR || res == -EAGAIN) {
          queue(i);
        } else if (res < 0) {
          throw_read_error(path, c.off + done[i], -res, c.direct);
        } else if (res == 0) {
          throw_truncated(path, c.off + done[i], size);
        } else {
          done[i] = chunk_progress(path, size, c, done[i], static_cast<uint64_t>(res));
          if (done[i] < c.expected) queue(i);
        }
      } catch (...) {
        error = std::current_exception();
      }
    }
    io_uring_cq_advance(ring, seen);
  }
  if (!broken) give(std::move(owned));
  if (error) std::rethrow_exception(error);
}

bool uring_compiled() { return true; }

#else  // no liburing at configure time: the thread pool serves every read

struct UringPool::Ring {};
std::unique_ptr<UringPool> UringPool::create(unsigned) { return nullptr; }
UringPool::UringPool(unsigned depth) : depth_(depth) {}
UringPool::~UringPool() = default;
void UringPool::run(const std::vector<Chunk>&, int, int, const std::string& path, uint64_t) {
  ER_CHECK(false, path, ": this build has no io_uring");
}
bool uring_compiled() { return false; }

#endif

}  // namespace edgerun
