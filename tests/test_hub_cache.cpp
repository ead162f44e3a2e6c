// Hugging Face hub cache folders (models--ORG--NAME/{blobs,refs,snapshots}) as huggingface_hub
// writes them: snapshot files are relative symlinks into ../../blobs. Sharded and single-file
// snapshots load and compute what the plain folder computes; the repo folder itself resolves
// through refs/main; links out of the repo folder (up and out, absolute, into another repo) stay
// refused.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "edgerun/edgerun.h"
#include "edgerun/preprocess.h"
#include "test_util.h"

using namespace edgerun;
namespace fs = std::filesystem;
using edgerun::test::error_of;
using edgerun::test::TempDir;

namespace {
const std::string kGolden = std::string(EDGERUN_TEST_DATA) + "/golden";

// Lays `fixture` out as huggingface_hub does under cache/models--org--NAME, every file a blob
// named after its position, and refs/main naming the snapshot. Returns the repo folder.
fs::path make_repo(const fs::path& cache, const std::string& name, const std::string& fixture,
                   const std::string& commit = "0123abcd") {
  const fs::path repo = cache / ("models--org--" + name);
  fs::create_directories(repo / "blobs");
  fs::create_directories(repo / "refs");
  fs::create_directories(repo / "snapshots" / commit);
  int n = 0;
  for (const auto& de : fs::directory_iterator(kGolden + "/" + fixture)) {
    const std::string blob = "b" + std::to_string(n++);
    fs::copy_file(de.path(), repo / "blobs" / blob);
    fs::create_symlink(fs::path("../..") / "blobs" / blob, repo / "snapshots" / commit / de.path().filename());
  }
  std::ofstream(repo / "refs" / "main") << commit;  // huggingface_hub writes no newline
  return repo;
}

HostArray run_folder(const std::string& dir) {
  auto s = Session::open(dir, {});
  Inputs in;
  in.input_ids = read_npy(dir + "/input.npy");
  return s->run(in);
}

void expect_same(const HostArray& a, const HostArray& b) {
  ASSERT_EQ(a.shape, b.shape);
  for (int64_t i = 0; i < a.numel(); ++i) ASSERT_EQ(a.as<float>()[i], b.as<float>()[i]) << i;
}

// Replaces the snapshot's link to `file` by one pointing at `target`.
void relink(const fs::path& repo, const std::string& file, const fs::path& target) {
  const fs::path link = repo / "snapshots" / "0123abcd" / file;
  fs::remove(link);
  fs::create_symlink(target, link);
}
}  // namespace

TEST(HubCache, ShardedSnapshotLoadsThroughBlobLinks) {
  TempDir t("hub");
  const fs::path repo = make_repo(t.path(), "sharded", "bert_cls_sharded");
  const std::string snap = (repo / "snapshots" / "0123abcd").string();
  expect_same(run_folder(snap), run_folder(kGolden + "/bert_cls_sharded"));
}

TEST(HubCache, SingleFileSnapshotLoads) {
  TempDir t("hub");
  const fs::path repo = make_repo(t.path(), "single", "bert_cls");
  expect_same(run_folder((repo / "snapshots" / "0123abcd").string()), run_folder(kGolden + "/bert_cls"));
}

TEST(HubCache, RepoFolderResolvesThroughRefsMain) {
  TempDir t("hub");
  const fs::path repo = make_repo(t.path(), "sharded", "bert_cls_sharded");
  fs::create_directories(repo / "snapshots" / "ffff0000");  // an older snapshot, not main's
  EXPECT_EQ(resolve_model_folder(repo.string()), (repo / "snapshots" / "0123abcd").string());
  EXPECT_EQ(resolve_model_folder(repo.string() + "/"), (repo / "snapshots" / "0123abcd").string());
  expect_same(run_folder(resolve_model_folder(repo.string())), run_folder(kGolden + "/bert_cls_sharded"));
  // Any other folder is returned as given.
  EXPECT_EQ(resolve_model_folder(kGolden + "/bert_cls"), kGolden + "/bert_cls");

  std::ofstream(repo / "refs" / "main") << "99990000";
  auto e = error_of<FormatError>([&] { resolve_model_folder(repo.string()); });
  EXPECT_NE(e.find("99990000"), std::string::npos) << e;
  std::ofstream(repo / "refs" / "main") << "../../etc";
  e = error_of<FormatError>([&] { resolve_model_folder(repo.string()); });
  EXPECT_NE(e.find("commit hash"), std::string::npos) << e;
  fs::remove(repo / "refs" / "main");  // two snapshots and no ref: ambiguous
  e = error_of<InputError>([&] { resolve_model_folder(repo.string()); });
  EXPECT_NE(e.find("2 snapshots"), std::string::npos) << e;
}

TEST(HubCache, LinksOutOfTheRepoFolderAreRefused) {
  TempDir t("hub");
  const fs::path repo = make_repo(t.path(), "sharded", "bert_cls_sharded");
  const fs::path other = make_repo(t.path(), "other", "bert_cls_sharded");
  const std::string snap = (repo / "snapshots" / "0123abcd").string();
  const std::string shard = "model-00002-of-00003.safetensors";
  // A copy of the real shard outside the cache: only where the link points makes it wrong.
  fs::copy_file(kGolden + "/bert_cls_sharded/" + shard, t.path() / shard);
  const std::vector<fs::path> escapes = {
      fs::path("../../..") / shard,                                      // up and out of the repo
      t.path() / shard,                                                  // absolute, elsewhere
      fs::path("../../../models--org--other/blobs") / "b0",              // another repo's blob
      fs::canonical(other) / "snapshots" / "0123abcd" / shard,           // another repo, absolute
  };
  for (const fs::path& target : escapes) {
    relink(repo, shard, target);
    const auto e = error_of<FormatError>([&] { Session::open(snap, {}); });
    EXPECT_NE(e.find("outside the hub cache folder"), std::string::npos) << target << ": " << e;
  }
}
