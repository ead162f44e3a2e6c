// Page-cache control for cold-run measurements (DESIGN.md "Testing and measuring"): drop a
// file's cached pages and count the ones left, the fincore check. Works for files other
// processes have closed; pages still mapped or dirty elsewhere may survive a drop, which
// resident_pages() reveals. Leaves out: /proc/sys/vm/drop_caches (root only, whole machine).
#pragma once
#include <cstdint>
#include <string>

namespace edgerun {

// fsync (so dirty pages can be dropped), then posix_fadvise(POSIX_FADV_DONTNEED) on the whole
// file. Throws IoError if the file cannot be opened or the advice fails.
void drop_file_cache(const std::string& path);

// Pages of the file now in the page cache (mmap + mincore). Throws IoError on failure.
uint64_t resident_pages(const std::string& path);

// Pages the whole file spans (its size over the page size, rounded up).
uint64_t file_pages(const std::string& path);

// Drops the file's cache up to `attempts` times until no page is resident; returns the pages
// still resident (0 on success).
uint64_t make_cold(const std::string& path, int attempts = 3);

}  // namespace edgerun
