// Implemented in src/core/
//
// Byte counts for people: the one spelling of sizes in messages, reports, logs and the CLI.
#pragma once
#include <cstdint>
#include <string>

namespace edgerun {

// "512 B", "4.00 KiB", "1.50 MiB", "2.25 GiB" (binary units, two decimals).
std::string format_bytes(double bytes);
// format_bytes and the exact count: "1.50 MiB (1572864 bytes)", for budgets a user may copy.
std::string format_bytes_exact(uint64_t bytes);

}  // namespace edgerun
