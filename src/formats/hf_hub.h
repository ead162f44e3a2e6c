// Hugging Face hub cache layout (models--ORG--NAME/{blobs,refs,snapshots}); resolve_model_folder
// itself is public (edgerun/preprocess.h).
#pragma once
#include <filesystem>

#include "edgerun/preprocess.h"

namespace edgerun {

// For a canonical snapshot folder models--ORG--NAME/snapshots/<commit>: the models--ORG--NAME
// folder, inside which the snapshot's symlinks may resolve. Empty for any other folder.
std::filesystem::path hub_repo_root(const std::filesystem::path& canonical_dir);

}  // namespace edgerun
