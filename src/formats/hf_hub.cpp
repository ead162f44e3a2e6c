// Hugging Face hub cache folders. huggingface_hub stores a download as
//   models--ORG--NAME/blobs/<hash>            the file contents
//   models--ORG--NAME/refs/main               the commit the "main" branch points at
//   models--ORG--NAME/snapshots/<commit>/...  the repository's files, as symlinks into ../../blobs
// so a snapshot's files resolve outside the snapshot folder. Links may stay inside their own
// models--* folder and nothing else: the checks on untrusted links stay as strict as they can be.
#include "formats/hf_hub.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <system_error>
#include <vector>

#include "core/error.h"
#include "io/file.h"

namespace edgerun {

namespace fs = std::filesystem;

namespace {
bool is_repo_folder_name(const std::string& name) {
  return name.rfind("models--", 0) == 0 && name.size() > 8;
}

bool is_commit_name(const std::string& s) {
  return !s.empty() && s.size() <= 64 &&
         std::all_of(s.begin(), s.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
}
}  // namespace

fs::path hub_repo_root(const fs::path& canonical_dir) {
  const fs::path snaps = canonical_dir.parent_path();
  const fs::path repo = snaps.parent_path();
  if (snaps.filename() != "snapshots" || !is_repo_folder_name(repo.filename().string())) return {};
  return repo;
}

std::string resolve_model_folder(const std::string& path) {
  std::error_code ec;
  fs::path p = fs::path(path).lexically_normal();
  if (p.filename().empty()) p = p.parent_path();  // a trailing '/'
  if (!is_repo_folder_name(p.filename().string())) return path;
  if (!fs::is_directory(p / "snapshots", ec)) return path;  // not a hub cache repo folder
  const fs::path ref = p / "refs" / "main";
  std::string commit;
  if (fs::exists(ref, ec)) {
    commit = read_text_file(ref.string(), 256);
    while (!commit.empty() && (commit.back() == '\n' || commit.back() == '\r' || commit.back() == ' '))
      commit.pop_back();
    if (!is_commit_name(commit))
      ER_THROW(FormatError, ref.string(), ": does not hold a commit hash (", commit.size(),
               " characters that are not all hexadecimal digits)");
  } else {
    // No refs/main (a download of a tag or a commit): one snapshot is unambiguous.
    std::vector<std::string> snaps;
    for (const auto& de : fs::directory_iterator(p / "snapshots", ec))
      if (de.is_directory()) snaps.push_back(de.path().filename().string());
    if (snaps.size() != 1)
      ER_THROW(InputError, path, ": a hub cache folder with no refs/main and ", snaps.size(),
               " snapshots; give the snapshot folder (", (p / "snapshots").string(), "/<commit>)");
    commit = snaps[0];
  }
  const fs::path snap = p / "snapshots" / commit;
  if (!fs::is_directory(snap, ec))
    ER_THROW(FormatError, ref.string(), ": names commit ", commit, ", which has no folder in ",
             (p / "snapshots").string(), " (an incomplete download?)");
  return snap.string();
}

}  // namespace edgerun
