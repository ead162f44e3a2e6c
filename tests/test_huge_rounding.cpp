// Huge pages for tiles (MemoryBudget::kind_for, Session's plan): a 4 MiB tile is not a whole
// number of 2 MiB units, and read into small pages it costs the compute several interrupts per
// read (docs/STREAMING.md "Huge pages for tiles"). Where the plan fits the budget with every
// buffer rounded to whole units it takes them; at the minimum budget it cannot, and the minimum
// stays what the narrow rounding needs.
#include <gtest/gtest.h>

#include <cstring>
#include <nlohmann/json.hpp>

#include "core/memory_budget.h"
#include "edgerun/edgerun.h"
#include "edgerun/models.h"
#include "test_models.h"
#include "test_util.h"

using namespace edgerun;
using edgerun::test::with_deadline;

TEST(MemoryBudget, WideRoundingTakesHugeUnitsWhereTheyAtMostDoubleABuffer) {
  const uint64_t H = MemoryBudget::kHugePage;
  MemoryBudget b(64 * H);
  if (!b.huge_pages()) GTEST_SKIP() << "no transparent huge pages of 2 MiB on this kernel";
  const uint64_t tile = 9 * H / 8;  // a 768 x 768 fp32 matrix: 2.25 MiB
  EXPECT_EQ(b.kind_for(tile), PageKind::Small);
  EXPECT_EQ(b.read_buffer_bytes(tile), tile);
  b.set_huge_rounding(true);
  EXPECT_EQ(b.kind_for(tile), PageKind::Huge);
  EXPECT_EQ(b.read_buffer_bytes(tile), 2 * H);
  EXPECT_EQ(b.kind_for(H / 2 - 4096), PageKind::Small);  // rounding would more than double it
  EXPECT_EQ(b.kind_for(H / 2 + 4096), PageKind::Huge);
  EXPECT_EQ(b.kind_for(H), PageKind::Huge);
  b.set_huge_rounding(false);
  EXPECT_EQ(b.kind_for(tile), PageKind::Small);
}

namespace {

struct VitLayer {
  edgerun::test::TempDir dir{"huge"};
  std::string model;
  Inputs in;
  VitLayer() {
    // One ViT-B/16 layer: its Linears tile into units of 2.25 and 3 MiB.
    SynthOptions so;
    so.n_layer = 1;
    model = dir.file("vit");
    synth_folder("vit-base", model, so);
    in = edgerun::test::test_inputs(model);
  }
};

VitLayer& vit_layer() {
  static VitLayer m;
  return m;
}

SessionOptions at(uint64_t budget, Executor ex = Executor::Auto) {
  SessionOptions o;
  o.budget_bytes = budget;
  o.executor = ex;
  o.threads = 1;
  return o;
}

nlohmann::json plan_at(uint64_t budget) {
  auto s = Session::open(vit_layer().model, at(budget, Executor::Pipeload));
  return nlohmann::json::parse(s->plan_json(vit_layer().in));
}

}  // namespace

TEST(HugeRounding, TakenWhereThePlanFitsWithItNeverAtTheMinimum) {
  if (!MemoryBudget::huge_pages_available()) GTEST_SKIP() << "no transparent huge pages of 2 MiB on this kernel";
  const uint64_t min = plan_at(1ull << 40)["min_budget_bytes"].get<uint64_t>();
  const auto tight = plan_at(min), roomy = plan_at(4 * min);
  EXPECT_FALSE(tight["wide_huge_rounding"].get<bool>());
  EXPECT_TRUE(roomy["wide_huge_rounding"].get<bool>());
  // The minimum is the narrow rounding's, whichever the plan takes.
  EXPECT_EQ(tight["min_budget_bytes"], roomy["min_budget_bytes"]);
  EXPECT_LE(roomy["predicted_peak_bytes"].get<uint64_t>(), 4 * min);
}

TEST(HugeRounding, RunsUnderTheBudgetWithTheResidentBits) {
  VitLayer& m = vit_layer();
  HostArray ref;
  {
    auto s = Session::open(m.model, at(0, Executor::Resident));
    with_deadline([&] { ref = s->run(m.in); });
  }
  const uint64_t min = plan_at(1ull << 40)["min_budget_bytes"].get<uint64_t>();
  for (uint64_t budget : {min, 2 * min, 4 * min}) {
    auto s = Session::open(m.model, at(budget, Executor::Pipeload));
    HostArray out;
    with_deadline([&] { out = s->run(m.in); });
    ASSERT_EQ(out.bytes.size(), ref.bytes.size());
    EXPECT_EQ(std::memcmp(out.bytes.data(), ref.bytes.data(), ref.bytes.size()), 0) << "budget " << budget;
    EXPECT_LE(s->report().budget_high_water_bytes, budget);
  }
}
