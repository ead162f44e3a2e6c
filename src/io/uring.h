// io_uring engine of the DirectReader: one thread submits a job's chunks to a ring and reaps
// their completions, instead of one blocked pread thread per read in flight.
//
// Why: on a 2-core machine the pread pool's threads wake once per completed read and preempt
// the compute threads; a BLAS GEMM then waits at its barrier for the preempted thread. With fio
// reading beside a resident compute, a pread pool slowed the compute measurably and one
// io_uring submitter at the same depth did not; and the pool's threads per file add to the
// fixed baseline (docs/BENCHMARKS.md §2 has the figures).
//
// Built only where liburing is found at configure time (EDGERUN_HAVE_URING); where the kernel
// refuses io_uring (old kernel, seccomp, kernel.io_uring_disabled) create() returns null and the
// reader keeps its thread pool. Leaves out: registered (fixed) buffers, SQ polling.
#pragma once
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "io/read_chunk.h"

namespace edgerun {

// A pool of rings of one file's reader: each read_many in progress takes one, so concurrent
// callers (the loading agents) each keep `depth` reads in flight. Thread-safe.
class UringPool {
 public:
  // A pool whose rings hold `depth` reads in flight, with one ring created to prove the kernel
  // allows io_uring; null if it does not or this build has no io_uring.
  static std::unique_ptr<UringPool> create(unsigned depth);
  ~UringPool();
  UringPool(const UringPool&) = delete;
  UringPool& operator=(const UringPool&) = delete;

  // Reads every chunk (direct ones through dfd, the rest through bfd) with up to depth in flight,
  // and returns when none is in flight. Throws the first error (read_chunk.h) after the reads
  // already submitted have completed, so no read writes into the caller's buffers after a throw.
  void run(const std::vector<Chunk>& chunks, int dfd, int bfd, const std::string& path,
           uint64_t size);

  struct Ring;

 private:
  explicit UringPool(unsigned depth);
  std::unique_ptr<Ring> take();
  void give(std::unique_ptr<Ring> r);

  unsigned depth_;
  std::mutex mu_;
  std::vector<std::unique_ptr<Ring>> free_;
};

// Whether this build includes the io_uring engine.
bool uring_compiled();

}  // namespace edgerun
