// What the CLI says about its inputs before any work: output paths are checked first (a run
// that cannot write its result must fail in its first millisecond, naming the option and the
// reason, not after the whole run), and warnings about the model folder.
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "cli/commands.h"

namespace edgerun::cli {

namespace fs = std::filesystem;

namespace {
void check_folder_writable(const std::string& opt, const std::string& path, const fs::path& folder) {
  std::error_code ec;
  if (!fs::is_directory(folder, ec))
    fail<InputError>(opt, " ", path, ": folder ", folder.string(), " does not exist");
  if (::access(folder.c_str(), W_OK | X_OK) != 0)
    fail<InputError>(opt, " ", path, ": cannot write in folder ", folder.string(), ": ", std::strerror(errno));
}

fs::path parent_of(const std::string& path) {
  const fs::path p = fs::path(path).lexically_normal();
  const fs::path parent = p.has_filename() ? p.parent_path() : p.parent_path().parent_path();
  return parent.empty() ? fs::path(".") : parent;
}
}  // namespace

void warn_about_model(const std::string& architecture_note, const std::vector<std::string>& unused_tensors) {
  if (!architecture_note.empty()) std::fprintf(stderr, "edgerun: warning: %s\n", architecture_note.c_str());
  if (unused_tensors.empty()) return;
  std::string names;
  for (size_t i = 0; i < unused_tensors.size() && i < 5; ++i) names += (i ? ", " : "") + unused_tensors[i];
  if (unused_tensors.size() > 5) names += ", ...";
  std::fprintf(stderr, "edgerun: warning: %zu tensor%s in the weights %s not used by this architecture: %s\n",
               unused_tensors.size(), unused_tensors.size() == 1 ? "" : "s", unused_tensors.size() == 1 ? "is" : "are",
               names.c_str());
}

void check_output_file(const std::string& opt, const std::string& path) {
  if (path.empty()) return;
  std::error_code ec;
  const auto st = fs::status(path, ec);
  if (fs::is_directory(st)) fail<InputError>(opt, " ", path, ": is a folder; give a file name");
  if (fs::exists(st) && !fs::is_regular_file(st))
    fail<InputError>(opt, " ", path, ": exists and is not a regular file");
  if (fs::exists(st) && ::access(path.c_str(), W_OK) != 0)
    fail<InputError>(opt, " ", path, ": cannot overwrite: ", std::strerror(errno));
  check_folder_writable(opt, path, parent_of(path));
}

void check_output_folder(const std::string& opt, const std::string& path) {
  if (path.empty()) return;
  std::error_code ec;
  const auto st = fs::status(path, ec);
  if (fs::exists(st) && !fs::is_directory(st)) fail<InputError>(opt, " ", path, ": exists and is not a folder");
  if (fs::exists(st)) check_folder_writable(opt, path, path);
  else check_folder_writable(opt, path, parent_of(path));
}

}  // namespace edgerun::cli
