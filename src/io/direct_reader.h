// Direct-I/O reader: O_DIRECT positional reads that bypass the page cache, split into chunks
// with several reads in flight (io_uring where built and allowed, else a small persistent pool
// of pread threads per file). Falls back to buffered pread, with a one-time warning, where the
// filesystem refuses O_DIRECT. Leaves out: mmap reading, write support.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "edgerun/types.h"
#include "io/file.h"

namespace edgerun {

// Readers of this module (direct, fault-injecting, throttled) say whether aligned reads bypass
// the page cache; wrappers forward the answer of the reader they wrap.
class IoReader : public RandomAccessFile {
 public:
  virtual bool is_direct() const = 0;
};

// is_direct() of an IoReader; false for any other reader (open_file's buffered one).
bool is_direct(const RandomAccessFile& f);

// IoEngine (edgerun/types.h) keeps the reads in flight. Auto: io_uring where this build and the
// kernel allow it, else threads; Uring: io_uring or an IoError at open.

struct DirectOptions {
  int queue_depth = 4;             // reads in flight for one read_at (1..256)
  IoEngine engine = IoEngine::Auto;
  uint64_t chunk_bytes = 1 << 20;  // size of each read; rounded up to 4 KiB
  bool allow_fallback = true;      // if O_DIRECT is refused: buffered (true) or IoError (false)
  // Unaligned requests (see below) are served by buffered pread unless strict_alignment, which
  // turns them into an InternalError: for callers that must prove every read bypassed the cache.
  bool strict_alignment = false;
  bool buffered = false;           // never try O_DIRECT (iobench --buffered); no warning
  bool simulate_refusal = false;   // tests: act as if the filesystem refused O_DIRECT
};

struct DirectStats {
  uint64_t direct_reads = 0, direct_bytes = 0;      // read_at calls served with O_DIRECT
  uint64_t buffered_reads = 0, buffered_bytes = 0;  // served through the page cache
};

// read_at(offset, n, dst) of this reader:
//  - goes direct when the file is open with O_DIRECT, offset and dst are 4 KiB aligned, and n is
//    a multiple of 4 KiB or the read ends at the end of the file. In that last case the reader
//    reads round_up(n, 4096) bytes, and the kernel may write all of them: dst must hold
//    round_up(n, 4096) bytes (the aligned extents of coalesce_ranges and budget allocations do).
//  - otherwise reads exactly n bytes with buffered pread (embedding rows, small headers).
//  - throws FormatError if [offset, offset+n) passes the size seen at open; IoError naming the
//    file and offset on an OS error, or when the file ends early (changed/truncated while
//    reading). Thread-safe: concurrent read_at calls share the file's reader threads.
class DirectReader : public IoReader {
 public:
  virtual DirectStats stats() const = 0;
  virtual const DirectOptions& options() const = 0;
  // "io_uring" or "threads": the engine that serves reads of more than one chunk.
  virtual const char* engine() const = 0;
};

// How `f` reads: "io_uring" or "threads" (a direct reader and its engine), or "buffered" (the
// page cache: a buffered reader, or a direct one whose filesystem refused O_DIRECT).
std::string read_engine(const RandomAccessFile& f);

// Whether readers here can use io_uring: this build has it and the kernel allows it (probed once).
bool io_uring_available();

// Throws IoError if the file cannot be opened or is not a regular file, or if O_DIRECT is
// refused and !o.allow_fallback.
std::unique_ptr<DirectReader> open_direct_reader(const std::string& path,
                                                 const DirectOptions& o = {});
std::unique_ptr<RandomAccessFile> open_direct(const std::string& path, const DirectOptions& o = {});

}  // namespace edgerun
