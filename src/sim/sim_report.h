// Report writers for the accelerator models: SCALE-Sim-shaped COMPUTE_REPORT.csv (SCALE-Sim's
// column names and order first, then edgerun's own columns) and JSON. Files are written to a
// temporary name and renamed, so a failure leaves no partial report behind.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "sim/systolic.h"

namespace edgerun::sim {

// The CSV header, fields joined by ", " with a trailing "," as SCALE-Sim writes it.
std::string compute_report_header();
std::string compute_report_csv(const SystolicReport& r);
nlohmann::json systolic_json(const SystolicReport& r);
nlohmann::json energy_table_json();
nlohmann::json energy_json(const EnergyBreakdown& e);

// Shortest text that reads back to the same double (Python's repr, as SCALE-Sim prints).
std::string format_double(double v);

// Creates `dir` if needed and writes every (name, text) file into it: all are written under
// temporary names first and renamed only when all succeeded. IoError naming the path on failure.
void write_report_files(const std::string& dir,
                        const std::vector<std::pair<std::string, std::string>>& files);

}  // namespace edgerun::sim
