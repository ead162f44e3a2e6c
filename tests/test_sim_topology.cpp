// SCALE-Sim GEMM topology CSV reader: accepted forms, and malformed files rejected with the file
// and line number in the error.
#include <gtest/gtest.h>

#include "test_util.h"

#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "core/error.h"
#include "sim/topology_csv.h"

using namespace edgerun;
using namespace edgerun::sim;

namespace {

template <typename E>
std::string error_of(const std::string& text) {
  return edgerun::test::error_of<E>([&] { parse_topology_csv(text, "t.csv"); });
}

}  // namespace

TEST(SimTopology, ParsesScaleSimForms) {
  auto g = parse_topology_csv(
      "Layer, M, N, K,\n"
      "qkv, 17, 32, 32,\n"
      "\n"
      "  fc1 ,64,  128 ,  32   \r\n"  // no trailing comma, CRLF, spaces
      "dense, 1, 2, 3, 1:1,\n"         // SCALE-Sim's optional (dense) sparsity ratio
      "last, 5, 6, 7,,,\n",
      "t.csv");
  ASSERT_EQ(g.size(), 4u);
  EXPECT_EQ(g[0].name, "qkv");
  EXPECT_EQ(g[0].m, 17);
  EXPECT_EQ(g[0].n, 32);
  EXPECT_EQ(g[0].k, 32);
  EXPECT_EQ(g[1].name, "fc1");
  EXPECT_EQ(g[1].m, 64);
  EXPECT_EQ(g[1].n, 128);
  EXPECT_EQ(g[2].k, 3);
  EXPECT_EQ(g[3].k, 7);
  // Header case and a leading blank line do not matter.
  EXPECT_EQ(parse_topology_csv("\nlayer,m,n,k\na,1,1,1\n", "t.csv").size(), 1u);
}

TEST(SimTopology, MalformedFilesNameFileAndLine) {
  EXPECT_NE(error_of<FormatError>("Layer, M, N, K,\na, 1, 2\n").find("t.csv:2"), std::string::npos);
  EXPECT_NE(error_of<FormatError>("Layer, M, N, K,\na, 1, 2, 3,\nb, 0, 2, 3,\n").find("t.csv:3"),
            std::string::npos);
  const std::string bad_header = error_of<FormatError>("Layer, M, K, N,\na, 1, 2, 3,\n");
  EXPECT_NE(bad_header.find("t.csv:1"), std::string::npos) << bad_header;
  EXPECT_NE(bad_header.find("header"), std::string::npos) << bad_header;
  const char* bad_rows[] = {
      "a, -1, 2, 3,",           // negative
      "a, 1.5, 2, 3,",          // not an integer
      "a, x, 2, 3,",            // not a number
      "a, 99999999999999999999, 2, 3,",  // overflows int64
      "a, 16777217, 2, 3,",     // over kMaxGemmDim
      "a, 1, , 3,",             // empty field
      ", 1, 2, 3,",             // empty name
      "a, 1, 2, 3, 1:1, extra,",  // too many fields
      "a, 1, 2, 3, dense,",     // fifth field not a ratio
      "a, +1, 2, 3,",           // sign
      "a, 1 2, 2, 3,",          // embedded space
  };
  for (const char* row : bad_rows) {
    const std::string msg = error_of<FormatError>(std::string("Layer, M, N, K,\n\n") + row + "\n");
    EXPECT_NE(msg.find("t.csv:3"), std::string::npos) << row << " -> " << msg;
  }
  EXPECT_NE(error_of<UnsupportedError>("Layer, M, N, K,\na, 1, 2, 3, 2:4,\n").find("t.csv:2"),
            std::string::npos);
  EXPECT_NE(error_of<FormatError>("").find("empty"), std::string::npos);
  EXPECT_NE(error_of<FormatError>("Layer, M, N, K,\n\n").find("no layers"), std::string::npos);
  const char nul[] = "Layer, M, N, K,\na\0, 1, 2, 3,\n";
  EXPECT_NE(error_of<FormatError>(std::string(nul, sizeof nul - 1)).find("NUL"),
            std::string::npos);
  EXPECT_NE(error_of<FormatError>("Layer, M, N, K,\na\x01, 1, 2, 3,\n").find("control"),
            std::string::npos);
}

TEST(SimTopology, FileRoundTripAndMissingFile) {
  namespace fs = std::filesystem;
  const edgerun::test::TempDir t("topo");
  const std::string path = t.file("topo.csv");
  write_topology_csv(path, {{"a,b", 3, 4, 5}, {"c", 6, 7, 8}});
  auto g = read_topology_csv(path);
  ASSERT_EQ(g.size(), 2u);
  EXPECT_EQ(g[0].name, "a;b");  // a comma in a name would split the row
  EXPECT_EQ(g[1].n, 7);
  fs::remove(path);
  EXPECT_THROW(read_topology_csv(path), IoError);
}
