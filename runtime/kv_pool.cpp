// kv_pool.cpp - host allocator of the token-granular KV pool and of slot-table rows.
//
// Slots 1..n_slots-1 sit on a free stack (slot 0, the pad slot, never does); a per-slot in-use byte
// catches double frees, so every operation is O(1) per slot. Rows work the same way.
// Invariants: free_.size() + (slots in use) == n_slots - 1; 0 <= reserved_ <= free_.size();
// a call that throws changes nothing.
#include "runtime/kv_pool.h"

#include <limits>
#include <stdexcept>

namespace llc {

KVPool::KVPool(int64_t n_slots, int max_rows) : n_slots_(n_slots), max_rows_(max_rows) {
  if (n_slots < 1)
    throw std::invalid_argument("KVPool: n_slots is " + std::to_string(n_slots) +
                                "; it must be at least 1 (slot 0 is the reserved pad slot)");
  if (n_slots - 1 > std::numeric_limits<int32_t>::max())
    throw std::invalid_argument("KVPool: n_slots " + std::to_string(n_slots) +
                                " does not fit the int32 slot indices of the slot table");
  if (max_rows < 0)
    throw std::invalid_argument("KVPool: max_rows is " + std::to_string(max_rows) + "; it must be >= 0");
  // Pushed in reverse so allocation hands out 1, 2, 3, ... on a fresh pool.
  free_.reserve(static_cast<size_t>(n_slots - 1));
  for (int64_t s = n_slots - 1; s >= 1; --s) free_.push_back(static_cast<int32_t>(s));
  slot_in_use_.assign(static_cast<size_t>(n_slots), 0);
  for (int r = max_rows - 1; r >= 0; --r) free_rows_.push_back(r);
  row_in_use_.assign(static_cast<size_t>(max_rows), 0);
}

bool KVPool::reserve(int64_t n) {
  if (n < 0) throw std::invalid_argument("KVPool::reserve: negative count " + std::to_string(n));
  if (n > free_slots()) return false;
  reserved_ += n;
  return true;
}

void KVPool::unreserve(int64_t n) {
  if (n < 0) throw std::invalid_argument("KVPool::unreserve: negative count " + std::to_string(n));
  if (n > reserved_)
    throw std::runtime_error("KVPool::unreserve(" + std::to_string(n) + "): only " +
                             std::to_string(reserved_) + " slots are reserved");
  reserved_ -= n;
}

void KVPool::allocate_reserved(int64_t n, std::vector<int32_t>& out) {
  if (n < 0) throw std::invalid_argument("KVPool::allocate_reserved: negative count " + std::to_string(n));
  if (n > reserved_)
    throw std::runtime_error("KVPool::allocate_reserved(" + std::to_string(n) + "): only " +
                             std::to_string(reserved_) + " slots are reserved, " +
                             std::to_string(n - reserved_) +
                             " short (the scheduler must reserve a sequence's budget before it runs)");
  for (int64_t i = 0; i < n; ++i) {
    int32_t s = free_.back();
    free_.pop_back();
    slot_in_use_[static_cast<size_t>(s)] = 1;
    out.push_back(s);
  }
  reserved_ -= n;
}

void KVPool::release(const std::vector<int32_t>& slots) {
  // Check every slot first (marking them, so a slot listed twice is caught), then commit.
  size_t checked = 0;
  auto undo = [&] {
    for (size_t i = 0; i < checked; ++i) slot_in_use_[static_cast<size_t>(slots[i])] = 1;
  };
  for (; checked < slots.size(); ++checked) {
    const int32_t s = slots[checked];
    std::string problem;
    if (s == 0)
      problem = "slot 0 is the reserved pad slot and is never allocated";
    else if (s < 0 || s >= n_slots_)
      problem = "slot " + std::to_string(s) + " is outside the pool (slots 1.." +
                std::to_string(n_slots_ - 1) + ")";
    else if (!slot_in_use_[static_cast<size_t>(s)])
      problem = "slot " + std::to_string(s) + " is not allocated (double free?)";
    if (!problem.empty()) {
      undo();
      throw std::runtime_error("KVPool::release: " + problem + "; nothing was released");
    }
    slot_in_use_[static_cast<size_t>(s)] = 0;
  }
  for (int32_t s : slots) free_.push_back(s);
}

int KVPool::acquire_row() {
  if (free_rows_.empty()) return -1;
  int r = free_rows_.back();
  free_rows_.pop_back();
  row_in_use_[static_cast<size_t>(r)] = 1;
  return r;
}

void KVPool::release_row(int row) {
  if (row == max_rows_)
    throw std::runtime_error("KVPool::release_row: row " + std::to_string(row) +
                             " is the pad row and is never acquired");
  if (row < 0 || row > max_rows_)
    throw std::runtime_error("KVPool::release_row: row " + std::to_string(row) +
                             " is outside the slot table (rows 0.." + std::to_string(max_rows_ - 1) + ")");
  if (!row_in_use_[static_cast<size_t>(row)])
    throw std::runtime_error("KVPool::release_row: row " + std::to_string(row) +
                             " is not in use (double release?)");
  row_in_use_[static_cast<size_t>(row)] = 0;
  free_rows_.push_back(row);
}

}  // namespace llc
