// The scheduler's quotas (runtime/scheduler_quotas.h) on constructed pass curves: the budget
// goes where the predictions say it saves the most time, not evenly.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <vector>

#include "edgerun/errors.h"
#include "runtime/scheduler_quotas.h"

using namespace edgerun;

namespace {

constexpr uint64_t MiB = 1 << 20;

std::vector<ModelSpec> models(int n) {
  std::vector<ModelSpec> s(static_cast<size_t>(n));
  const char* names[] = {"a", "b", "c"};
  for (int i = 0; i < n; ++i) s[static_cast<size_t>(i)].name = names[i];
  return s;
}

}  // namespace

TEST(SchedulerQuotas, TheBudgetGoesWherePassesGetFaster) {
  // Model 0 streams and gets 1 ms faster per MiB up to 100 MiB more; model 1 gains nothing from
  // memory. Sharing by weight would give each half of the 128 MiB left over.
  auto specs = models(2);
  const std::vector<uint64_t> min = {10 * MiB, 10 * MiB};
  const std::vector<uint64_t> useful = {UINT64_MAX, UINT64_MAX};
  const uint64_t M = 148 * MiB;
  auto curve = [&](size_t i, const std::vector<uint64_t>& at) {
    std::vector<double> t;
    for (uint64_t b : at) t.push_back(i == 0 ? 200.0 - static_cast<double>(std::min<uint64_t>(b - min[0], 100 * MiB)) / MiB : 50.0);
    return t;
  };
  const auto q = assign_quotas(specs, min, useful, M, curve);
  EXPECT_GE(q[0], min[0] + 100 * MiB);
  EXPECT_GE(q[1], min[1]);
  EXPECT_LE(q[0] + q[1], M);
  const auto even = assign_quotas(specs, min, useful, M);
  EXPECT_EQ(even[0], even[1]);  // without curves: by weight alone
}

TEST(SchedulerQuotas, AStepThatNeedsALargeShareIsTaken) {
  // Model 0 gains only once it holds 96 MiB more (a large layer kept resident); model 1 gains a
  // little from every MiB. The sum of passes is least with model 0's step taken.
  auto specs = models(2);
  const std::vector<uint64_t> min = {8 * MiB, 8 * MiB};
  const std::vector<uint64_t> useful = {UINT64_MAX, UINT64_MAX};
  const uint64_t M = 16 * MiB + 128 * MiB;
  auto curve = [&](size_t i, const std::vector<uint64_t>& at) {
    std::vector<double> t;
    for (uint64_t b : at) {
      const double extra = static_cast<double>(b - min[i]) / MiB;
      t.push_back(i == 0 ? (extra >= 96 ? 100.0 : 300.0) : 200.0 - 0.5 * extra);
    }
    return t;
  };
  const auto q = assign_quotas(specs, min, useful, M, curve);
  EXPECT_GE(q[0], min[0] + 96 * MiB);
  EXPECT_GE(q[1], min[1] + 28 * MiB);  // the rest helps model 1
  EXPECT_LE(q[0] + q[1], M);
}

TEST(SchedulerQuotas, WeightsScaleTheTimesAndGivenQuotasStay) {
  auto specs = models(3);
  specs[2].quota_bytes = 40 * MiB;
  specs[1].weight = 10;  // model 1's passes count ten times
  const std::vector<uint64_t> min = {8 * MiB, 8 * MiB, 8 * MiB};
  const std::vector<uint64_t> useful = {UINT64_MAX, UINT64_MAX, UINT64_MAX};
  const uint64_t M = 40 * MiB + 16 * MiB + 64 * MiB;
  // Both gain 1 ms per MiB up to 64 MiB: the weighted one takes it all.
  auto curve = [&](size_t i, const std::vector<uint64_t>& at) {
    std::vector<double> t;
    for (uint64_t b : at) t.push_back(100.0 - static_cast<double>(std::min<uint64_t>(b - min[i], 64 * MiB)) / MiB);
    return t;
  };
  const auto q = assign_quotas(specs, min, useful, M, curve);
  EXPECT_EQ(q[2], 40 * MiB);
  EXPECT_EQ(q[1], min[1] + 64 * MiB);
  EXPECT_EQ(q[0], min[0]);
}

TEST(SchedulerQuotas, BelowTheMinimumsIsABudgetErrorNamingWhatWorks) {
  auto specs = models(2);
  const std::vector<uint64_t> min = {8 * MiB, 8 * MiB};
  try {
    assign_quotas(specs, min, {UINT64_MAX, UINT64_MAX}, 12 * MiB);
    FAIL() << "no error";
  } catch (const BudgetError& e) {
    EXPECT_NE(std::string(e.what()).find("give at least 16"), std::string::npos) << e.what();
  }
  specs[0].quota_bytes = 4 * MiB;
  EXPECT_THROW(assign_quotas(specs, min, {UINT64_MAX, UINT64_MAX}, 64 * MiB), BudgetError);
}
