// One read of a DirectReader job and the errors both of its engines (the pread thread pool and
// io_uring) throw, so a failure reads the same whichever engine served it. Internal to src/io.
#pragma once
#include <cstdint>
#include <string>

namespace edgerun {

// `len` bytes asked of the kernel at `off`, of which `expected` must come back: less than len
// only for a direct read that ends at the end of the file (the kernel is asked for the aligned-up
// length and returns the rest).
struct Chunk {
  uint64_t off = 0, len = 0, expected = 0;
  char* dst = nullptr;
  bool direct = false;
};

// IoError: the file ended at `at` although it had `size` bytes when opened.
[[noreturn]] void throw_truncated(const std::string& path, uint64_t at, uint64_t size);
// IoError for the OS error `err` of a read at `at` (EINVAL on a direct read says O_DIRECT).
[[noreturn]] void throw_read_error(const std::string& path, uint64_t at, int err, bool direct);

// How a read of chunk `c` that has `done` bytes so far goes on after the kernel returned `got`
// more (got > 0): the new total, or a throw if the file ended early. O_DIRECT cannot continue
// from an unaligned point, so a short unaligned direct read before `expected` is the end of file.
uint64_t chunk_progress(const std::string& path, uint64_t size, const Chunk& c, uint64_t done,
                        uint64_t got);

}  // namespace edgerun
