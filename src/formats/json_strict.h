// Strict JSON parsing for untrusted model files (safetensors headers, sharded indexes, configs).
// nlohmann::json silently keeps the last of two equal keys; this parser refuses duplicate keys at
// every depth and nesting past a fixed limit, and reports errors as FormatError naming the file.
// It does not check the schema: callers validate the fields they use.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace edgerun {

// Deepest nesting of objects/arrays accepted (hostile "[[[[..." inputs stay cheap and shallow).
inline constexpr int kJsonMaxDepth = 64;

// Parses `text` (the contents of `path`, or of the part named by `what`) as one JSON value.
// Throws FormatError "<path>: <what>: ..." on a syntax error, a duplicate key (naming the key and
// where it is), or nesting deeper than kJsonMaxDepth.
nlohmann::json parse_json_strict(std::string_view text, const std::string& path,
                                 const std::string& what = "JSON");

}  // namespace edgerun
