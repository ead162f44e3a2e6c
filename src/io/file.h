// RandomAccessFile: positional reads with bounds checks and errors that name the file and offset.
// This is the buffered (page-cache) reader; the direct-I/O and fault-injecting readers of the
// streaming executors implement the same interface.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace edgerun {

// One read of a batch: `n` bytes at `offset` into `dst`.
struct ReadRequest {
  uint64_t offset = 0, n = 0;
  void* dst = nullptr;
};

class RandomAccessFile {
 public:
  virtual ~RandomAccessFile() = default;
  virtual const std::string& path() const = 0;
  virtual uint64_t size() const = 0;
  // Reads exactly `n` bytes at `offset` into dst; throws FormatError if the range lies past the
  // end of the file and IoError on an OS error or an unexpected short read.
  virtual void read_at(uint64_t offset, uint64_t n, void* dst) = 0;
  // Reads every request as read_at would. Readers with reads in flight (the direct reader) keep
  // their queue full from one request to the next instead of draining between them; this
  // default reads them one after another.
  virtual void read_many(const ReadRequest* reqs, size_t count) {
    for (size_t i = 0; i < count; ++i) read_at(reqs[i].offset, reqs[i].n, reqs[i].dst);
  }
  // Hint that [offset, offset + n) will be read soon (the kernel may start reading it now, in
  // parallel with other hinted ranges). No-op where unsupported.
  virtual void will_need(uint64_t offset, uint64_t n) {}
};

// Opens `path` for buffered positional reads (pread). Throws IoError if it cannot be opened.
std::unique_ptr<RandomAccessFile> open_file(const std::string& path);

// Whole small file (configs, tokenizer files) as a string, with a size cap against hostile files.
std::string read_text_file(const std::string& path, uint64_t max_bytes = 256ull << 20);

}  // namespace edgerun
