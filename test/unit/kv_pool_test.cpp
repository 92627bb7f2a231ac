// kv_pool_test.cpp - the KV pool's host allocator: reservation, allocation, release, exhaustion,
// double frees, slot-table rows, and a random operation sequence checked against a simple model.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>
#include <stdexcept>

#include "runtime/kv_pool.h"

using llc::KVPool;

namespace {

template <class Fn>
std::string error_of(Fn fn) {
  try {
    fn();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "<no exception>";
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

TEST(KVPool, FreshPoolCountsWithoutThePadSlot) {
  KVPool pool(10, 4);
  EXPECT_EQ(pool.capacity(), 9);
  EXPECT_EQ(pool.free_slots(), 9);
  EXPECT_EQ(pool.free_rows(), 4);
  EXPECT_EQ(pool.pad_row(), 4);
}

TEST(KVPool, ReserveThenAllocateHandsOutDistinctNonZeroSlots) {
  KVPool pool(10, 2);
  ASSERT_TRUE(pool.reserve(5));
  EXPECT_EQ(pool.free_slots(), 4);
  std::vector<int32_t> got = {77};  // allocate_reserved appends
  pool.allocate_reserved(3, got);
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[0], 77);
  std::set<int32_t> distinct(got.begin() + 1, got.end());
  EXPECT_EQ(distinct.size(), 3u);
  for (int32_t s : distinct) {
    EXPECT_GE(s, 1);
    EXPECT_LE(s, 9);
  }
  EXPECT_EQ(pool.free_slots(), 4);  // allocating reserved slots does not change the unreserved count
  std::vector<int32_t> more;
  pool.allocate_reserved(2, more);  // the rest of the reservation
  EXPECT_EQ(more.size(), 2u);
  EXPECT_EQ(pool.free_slots(), 4);
}

TEST(KVPool, ReserveBeyondFreeFailsAndChangesNothing) {
  KVPool pool(6, 1);
  ASSERT_TRUE(pool.reserve(3));
  EXPECT_FALSE(pool.reserve(3));  // only 2 unreserved left
  EXPECT_EQ(pool.free_slots(), 2);
  EXPECT_TRUE(pool.reserve(2));
  EXPECT_EQ(pool.free_slots(), 0);
  EXPECT_FALSE(pool.reserve(1));
  EXPECT_TRUE(pool.reserve(0));
}

TEST(KVPool, AllocatingMoreThanReservedThrowsNamingTheShortfall) {
  KVPool pool(10, 1);
  ASSERT_TRUE(pool.reserve(2));
  std::vector<int32_t> out;
  std::string msg = error_of([&] { pool.allocate_reserved(5, out); });
  EXPECT_TRUE(contains(msg, "only 2 slots are reserved")) << msg;
  EXPECT_TRUE(contains(msg, "3 short")) << msg;
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(pool.free_slots(), 7);  // unchanged
  pool.allocate_reserved(2, out);
  EXPECT_EQ(out.size(), 2u);
}

TEST(KVPool, UnreserveReturnsBudgetAndRejectsExcess) {
  KVPool pool(10, 1);
  ASSERT_TRUE(pool.reserve(4));
  pool.unreserve(3);
  EXPECT_EQ(pool.free_slots(), 8);
  std::string msg = error_of([&] { pool.unreserve(2); });
  EXPECT_TRUE(contains(msg, "only 1 slots are reserved")) << msg;
  EXPECT_EQ(pool.free_slots(), 8);
}

TEST(KVPool, ExhaustionHandsOutEverySlotOnceThenRefuses) {
  const int64_t n = 100;
  KVPool pool(n, 1);
  ASSERT_TRUE(pool.reserve(n - 1));
  std::vector<int32_t> all;
  pool.allocate_reserved(n - 1, all);
  std::sort(all.begin(), all.end());
  for (int64_t i = 0; i < n - 1; ++i) EXPECT_EQ(all[i], i + 1);  // exactly 1..n-1
  EXPECT_EQ(pool.free_slots(), 0);
  EXPECT_FALSE(pool.reserve(1));
  pool.release({all[10], all[20]});
  EXPECT_EQ(pool.free_slots(), 2);
  ASSERT_TRUE(pool.reserve(2));
  std::vector<int32_t> again;
  pool.allocate_reserved(2, again);
  std::sort(again.begin(), again.end());
  EXPECT_EQ(again, (std::vector<int32_t>{all[10], all[20]}));
}

TEST(KVPool, PoolWithOnlyThePadSlotHasNoCapacity) {
  KVPool pool(1, 1);
  EXPECT_EQ(pool.capacity(), 0);
  EXPECT_FALSE(pool.reserve(1));
}

TEST(KVPool, ReleaseErrorsAreClearAndChangeNothing) {
  KVPool pool(10, 1);
  ASSERT_TRUE(pool.reserve(3));
  std::vector<int32_t> s;
  pool.allocate_reserved(3, s);

  std::string zero = error_of([&] { pool.release({0}); });
  EXPECT_TRUE(contains(zero, "slot 0 is the reserved pad slot")) << zero;
  std::string out_of_range = error_of([&] { pool.release({10}); });
  EXPECT_TRUE(contains(out_of_range, "slot 10 is outside the pool (slots 1..9)")) << out_of_range;
  std::string negative = error_of([&] { pool.release({-3}); });
  EXPECT_TRUE(contains(negative, "slot -3 is outside the pool")) << negative;

  pool.release({s[0]});
  std::string twice = error_of([&] { pool.release({s[0]}); });
  EXPECT_TRUE(contains(twice, "slot " + std::to_string(s[0]) + " is not allocated (double free?)")) << twice;

  // A list naming a slot twice fails as a whole: s[1] stays allocated.
  std::string dup = error_of([&] { pool.release({s[1], s[2], s[1]}); });
  EXPECT_TRUE(contains(dup, "not allocated")) << dup;
  EXPECT_TRUE(contains(dup, "nothing was released")) << dup;
  EXPECT_EQ(pool.free_slots(), 7);
  // A good slot listed before a bad one is not released either.
  std::string mixed = error_of([&] { pool.release({s[1], 0}); });
  EXPECT_TRUE(contains(mixed, "pad slot")) << mixed;
  EXPECT_EQ(pool.free_slots(), 7);
  pool.release({s[1], s[2]});  // still allocated, so this works
  EXPECT_EQ(pool.free_slots(), 9);
}

TEST(KVPool, NeverHandsOutSlotZeroEvenAfterChurn) {
  KVPool pool(5, 1);
  std::mt19937 rng(1);
  for (int round = 0; round < 200; ++round) {
    ASSERT_TRUE(pool.reserve(4));
    std::vector<int32_t> s;
    pool.allocate_reserved(4, s);
    for (int32_t x : s) ASSERT_NE(x, 0);
    std::shuffle(s.begin(), s.end(), rng);
    pool.release(s);
  }
}

TEST(KVPool, RowsAcquireReleaseAndErrors) {
  KVPool pool(10, 3);
  std::set<int> rows;
  for (int i = 0; i < 3; ++i) {
    int r = pool.acquire_row();
    ASSERT_GE(r, 0);
    ASSERT_LT(r, 3);
    rows.insert(r);
  }
  EXPECT_EQ(rows.size(), 3u);
  EXPECT_EQ(pool.acquire_row(), -1);
  EXPECT_EQ(pool.free_rows(), 0);
  pool.release_row(1);
  EXPECT_EQ(pool.free_rows(), 1);
  std::string twice = error_of([&] { pool.release_row(1); });
  EXPECT_TRUE(contains(twice, "row 1 is not in use")) << twice;
  std::string pad = error_of([&] { pool.release_row(3); });
  EXPECT_TRUE(contains(pad, "row 3 is the pad row")) << pad;
  std::string outside = error_of([&] { pool.release_row(7); });
  EXPECT_TRUE(contains(outside, "row 7 is outside the slot table (rows 0..2)")) << outside;
  EXPECT_EQ(pool.acquire_row(), 1);
  EXPECT_EQ(pool.acquire_row(), -1);
}

TEST(KVPool, ConstructorRejectsBadSizes) {
  EXPECT_TRUE(contains(error_of([] { KVPool p(0, 1); }), "n_slots is 0"));
  EXPECT_TRUE(contains(error_of([] { KVPool p(int64_t(1) << 32, 1); }), "int32"));
  EXPECT_TRUE(contains(error_of([] { KVPool p(8, -1); }), "max_rows is -1"));
}

// Random reserve / allocate / release / unreserve / row operations against a model of the pool.
TEST(KVPool, RandomStressMatchesModel) {
  const int64_t n_slots = 257;
  const int max_rows = 8;
  KVPool pool(n_slots, max_rows);
  std::mt19937_64 rng(12345);
  std::set<int32_t> allocated;
  std::vector<int32_t> allocated_list;
  int64_t reserved = 0;
  std::set<int> rows_in_use;

  auto check_invariants = [&] {
    ASSERT_EQ(pool.free_slots(), pool.capacity() - int64_t(allocated.size()) - reserved);
    ASSERT_EQ(pool.free_rows(), max_rows - int(rows_in_use.size()));
  };
  for (int step = 0; step < 20000; ++step) {
    int op = int(rng() % 7);
    int64_t unreserved = pool.capacity() - int64_t(allocated.size()) - reserved;
    if (op == 0) {  // reserve
      int64_t n = int64_t(rng() % 40);
      bool ok = pool.reserve(n);
      ASSERT_EQ(ok, n <= unreserved);
      if (ok) reserved += n;
    } else if (op == 1) {  // allocate part of the reservation (sometimes too much)
      int64_t n = int64_t(rng() % 30);
      std::vector<int32_t> out;
      if (n > reserved) {
        ASSERT_THROW(pool.allocate_reserved(n, out), std::runtime_error);
        ASSERT_TRUE(out.empty());
      } else {
        pool.allocate_reserved(n, out);
        ASSERT_EQ(int64_t(out.size()), n);
        for (int32_t s : out) {
          ASSERT_GE(s, 1);
          ASSERT_LT(s, n_slots);
          ASSERT_TRUE(allocated.insert(s).second) << "slot " << s << " handed out twice";
          allocated_list.push_back(s);
        }
        reserved -= n;
      }
    } else if (op == 2 && !allocated_list.empty()) {  // release a random subset
      std::shuffle(allocated_list.begin(), allocated_list.end(), rng);
      size_t k = 1 + rng() % allocated_list.size();
      std::vector<int32_t> give(allocated_list.end() - k, allocated_list.end());
      pool.release(give);
      allocated_list.resize(allocated_list.size() - k);
      for (int32_t s : give) allocated.erase(s);
    } else if (op == 3) {  // double free or pad slot: must throw and change nothing
      std::vector<int32_t> bad;
      if (rng() % 2 == 0) {
        bad.push_back(0);
      } else {
        int32_t s = int32_t(1 + rng() % (n_slots - 1));
        if (allocated.count(s)) continue;
        bad.push_back(s);
      }
      if (!allocated_list.empty()) bad.insert(bad.begin(), allocated_list.front());
      ASSERT_THROW(pool.release(bad), std::runtime_error);
    } else if (op == 4) {  // unreserve
      int64_t n = int64_t(rng() % 20);
      if (n > reserved) {
        ASSERT_THROW(pool.unreserve(n), std::runtime_error);
      } else {
        pool.unreserve(n);
        reserved -= n;
      }
    } else if (op == 5) {  // acquire a row
      int r = pool.acquire_row();
      if (int(rows_in_use.size()) == max_rows) {
        ASSERT_EQ(r, -1);
      } else {
        ASSERT_GE(r, 0);
        ASSERT_LT(r, max_rows);
        ASSERT_TRUE(rows_in_use.insert(r).second);
      }
    } else if (op == 6 && !rows_in_use.empty()) {  // release a row
      auto it = rows_in_use.begin();
      std::advance(it, rng() % rows_in_use.size());
      pool.release_row(*it);
      rows_in_use.erase(it);
    }
    check_invariants();
    if (HasFatalFailure()) return;
  }
  // Release everything: the pool is whole again.
  pool.release(allocated_list);
  pool.unreserve(reserved);
  EXPECT_EQ(pool.free_slots(), pool.capacity());
}
