// MemoryBudget: limits, high-water mark, coalescing, blocking acquire and cancel.
#include <gtest/gtest.h>

#include <thread>

#include "core/error.h"
#include "core/memory_budget.h"

using namespace edgerun;

TEST(MemoryBudget, RoundsToPagesAndTracksHighWater) {
  MemoryBudget b(1 << 20);
  auto a = b.acquire(1, "a");
  EXPECT_EQ(a.size(), 4096u);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(a.data()) % 4096, 0u);
  {
    auto c = b.acquire(10000, "c");
    EXPECT_EQ(b.in_use(), 4096u + 12288u);
  }
  EXPECT_EQ(b.in_use(), 4096u);
  EXPECT_EQ(b.high_water(), 4096u + 12288u);
}

TEST(MemoryBudget, RefusesOverLimitWithMessage) {
  MemoryBudget b(8192);
  auto a = b.acquire(8192, "weights");
  try {
    b.acquire(1, "activation");
    FAIL() << "expected BudgetError";
  } catch (const BudgetError& e) {
    EXPECT_NE(std::string(e.what()).find("activation"), std::string::npos);
  }
}

TEST(MemoryBudget, CoalescesFreedRanges) {
  MemoryBudget b(3 * 4096);
  auto x = b.acquire(4096, "x");
  auto y = b.acquire(4096, "y");
  auto z = b.acquire(4096, "z");
  y.reset();
  x.reset();
  z.reset();
  auto all = b.acquire(3 * 4096, "all");  // needs the three ranges merged back into one
  EXPECT_EQ(all.size(), 3u * 4096);
}

TEST(MemoryBudget, BlockingAcquireWaitsForRelease) {
  MemoryBudget b(2 * 4096);
  auto held = std::make_unique<Allocation>(b.acquire(2 * 4096, "held"));
  std::thread t([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    held->reset();
  });
  auto got = b.acquire_blocking(4096, "waiter");
  EXPECT_TRUE(got);
  t.join();
  EXPECT_LE(b.high_water(), 2u * 4096);
}

TEST(MemoryBudget, BlockingAcquireLargerThanLimitThrows) {
  MemoryBudget b(4096);
  EXPECT_THROW(b.acquire_blocking(8192, "huge"), BudgetError);
}

TEST(MemoryBudget, CancelWakesWaiters) {
  MemoryBudget b(4096);
  auto held = b.acquire(4096, "held");
  std::thread t([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    b.cancel();
  });
  EXPECT_THROW(b.acquire_blocking(4096, "waiter"), BudgetError);
  t.join();
}
