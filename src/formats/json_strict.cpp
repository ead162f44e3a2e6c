// Strict JSON parsing: nlohmann's parser with a callback that tracks the keys of every open object.
#include "formats/json_strict.h"

#include <set>
#include <vector>

#include "core/error.h"

namespace edgerun {

nlohmann::json parse_json_strict(std::string_view text, const std::string& path,
                                 const std::string& what) {
  using json = nlohmann::json;
  // nlohmann stops at a NUL byte as if the input ended there, so "{}\0garbage" would pass;
  // a raw NUL can never appear in valid JSON text.
  if (auto nul = text.find('\0'); nul != std::string_view::npos)
    ER_THROW(FormatError, path, ": ", what, " is not valid JSON: NUL byte at offset ", nul);
  struct Frame {
    bool is_object;
    std::string name;  // key under which this container sits ("[]" inside an array)
    std::set<std::string, std::less<>> keys;
  };
  std::vector<Frame> stack;
  std::string last_key;
  auto open = [&](bool is_object) {
    if (stack.size() >= static_cast<size_t>(kJsonMaxDepth))
      ER_THROW(FormatError, path, ": ", what, ": nested deeper than ", kJsonMaxDepth, " levels");
    std::string name;
    if (!stack.empty()) name = stack.back().is_object ? last_key : "[]";
    stack.push_back(Frame{is_object, std::move(name), {}});
  };
  // "the top-level object" or object "weight_map" / "a.b" for messages.
  auto where = [&] {
    if (stack.size() <= 1) return std::string("the top-level object");
    std::string p = "object \"";
    for (size_t i = 1; i < stack.size(); ++i) p += (i > 1 ? "." : "") + stack[i].name;
    return p + "\"";
  };
  json::parser_callback_t cb = [&](int /*depth*/, json::parse_event_t ev, json& parsed) -> bool {
    switch (ev) {
      case json::parse_event_t::object_start:
        open(true);
        break;
      case json::parse_event_t::array_start:
        open(false);
        break;
      case json::parse_event_t::object_end:
      case json::parse_event_t::array_end:
        if (!stack.empty()) stack.pop_back();
        break;
      case json::parse_event_t::key:
        last_key = parsed.get<std::string>();
        if (stack.empty() || !stack.back().keys.insert(last_key).second)
          ER_THROW(FormatError, path, ": ", what, ": duplicate key \"", last_key, "\" in ",
                   where());
        break;
      case json::parse_event_t::value:
        break;
    }
    return true;
  };
  try {
    return json::parse(text.begin(), text.end(), cb, /*allow_exceptions=*/true,
                       /*ignore_comments=*/false);
  } catch (const json::exception& e) {
    ER_THROW(FormatError, path, ": ", what, " is not valid JSON: ", e.what());
  }
}

}  // namespace edgerun
