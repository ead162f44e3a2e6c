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

// Sizes as people write them: "300M", "1.5G", "500MB", "4096", "25%" (of `percent_base`
// bytes). K M G T = KiB MiB GiB TiB (powers of 1024), KB MB GB TB powers of 1000,
// case-insensitive. Throws InputError naming the text.
uint64_t parse_bytes(const std::string& s, uint64_t percent_base = 0);
// "10%" -> 0.10. Throws InputError.
double parse_percent(const std::string& s);

}  // namespace edgerun
