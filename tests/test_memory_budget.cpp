// MemoryBudget: limits, high-water mark, coalescing, blocking acquire and cancel.
#include <gtest/gtest.h>

#include <cstring>
#include <thread>
#include <vector>

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

TEST(MemoryBudget, FreedPagesKeptOnlyWithinTheLimit) {
  // Freed pages stay resident for reuse, but in-use plus kept bytes never pass the limit.
  const uint64_t limit = 16 * 4096;
  MemoryBudget b(limit);
  std::vector<Allocation> held;
  uint32_t seed = 7;
  for (int i = 0; i < 2000; ++i) {
    seed = seed * 1103515245u + 12345u;
    const uint64_t pages = 1 + (seed >> 16) % 5;
    if (!held.empty() && ((seed >> 8) % 3 == 0 || b.in_use() + pages * 4096 > limit)) {
      held.erase(held.begin() + static_cast<long>((seed >> 4) % held.size()));
    } else {
      held.push_back(b.acquire(pages * 4096, "x"));
      std::memset(held.back().data(), 0xab, held.back().size());  // touch: pages become resident
    }
    ASSERT_LE(b.resident_bytes(), limit);
    ASSERT_LE(b.in_use(), b.resident_bytes());
  }
  held.clear();
  EXPECT_EQ(b.in_use(), 0u);
  EXPECT_LE(b.resident_bytes(), limit);
}
