// FaultReader: injected errors carry the messages of the real readers (file, offset, strerror).
#include "io/fault_reader.h"

#include <algorithm>
#include <cstring>
#include <thread>

#include "core/error.h"

namespace edgerun {

void FaultReader::read_at(uint64_t offset, uint64_t n, void* dst) {
  const int64_t index = reads_.fetch_add(1);
  auto wait = plan_.delay;
  if (plan_.delay_for) wait += plan_.delay_for(index, offset, n);
  if (wait.count() > 0) std::this_thread::sleep_for(wait);
  const uint64_t size = inner_->size();
  if (offset > size || n > size - offset)
    ER_THROW(FormatError, path(), ": read of ", n, " bytes at offset ", offset,
             " runs past the end of the file (", size, " bytes)");
  if (n == 0) return;
  if (plan_.armed && !plan_.armed->load()) {
    inner_->read_at(offset, n, dst);
    return;
  }
  const bool covers_bad = plan_.fail_offset != FaultPlan::kNoOffset &&
                          plan_.fail_offset >= offset && plan_.fail_offset - offset < n;
  if (index == plan_.fail_read || covers_bad) {
    ++faults_;
    const uint64_t at = covers_bad ? plan_.fail_offset : offset;
    ER_THROW(IoError, path(), ": read failed at offset ", at, ": ",
             std::strerror(plan_.fail_errno), " (injected)");
  }
  const bool truncated = plan_.truncate_at != FaultPlan::kNoOffset && offset + n > plan_.truncate_at;
  if (index == plan_.short_read || truncated) {
    ++faults_;
    // The file ends inside this read: halfway for a short read, at truncate_at otherwise.
    const uint64_t end = truncated ? std::max(offset, plan_.truncate_at) : offset + n / 2;
    ER_THROW(IoError, path(), ": file changed or truncated while reading: it ended at offset ",
             end, " but had ", size, " bytes when opened (injected)");
  }
  inner_->read_at(offset, n, dst);
}

std::unique_ptr<FaultReader> make_fault_reader(std::unique_ptr<RandomAccessFile> inner,
                                               FaultPlan plan) {
  return std::make_unique<FaultReader>(std::move(inner), std::move(plan));
}

}  // namespace edgerun
