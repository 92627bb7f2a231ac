// kv_pool.h - the token-granular KV cache pool (LightLLM's TokenAttention) and slot-table rows.
//
// The device pool holds K and V as [n_layers][n_slots][n_kv_heads][head_dim] each; this class is
// its host-side allocator. A slot holds one token's K/V for every layer. Slot 0 is reserved as the
// pad slot (padded CUDA-graph entries write and read it) and is never handed out. Each step
// allocates exactly as many slots as it has new tokens; a finished sequence returns its slots.
// Sequences own a row of the device slot table (rows 0..max_rows-1); row max_rows is the pad row.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace llc {

class KVPool {
 public:
  // n_slots includes the reserved pad slot 0; usable = n_slots - 1.
  KVPool(int64_t n_slots, int max_rows);

  int64_t capacity() const { return n_slots_ - 1; }
  int64_t free_slots() const { return static_cast<int64_t>(free_.size()) - reserved_; }

  // Reservations let the scheduler admit a sequence only if its whole budget
  // (prompt + max new tokens) will fit, so a running step never finds the pool empty.
  bool reserve(int64_t n);       // false (and nothing changes) if fewer than n are unreserved
  void unreserve(int64_t n);

  // Takes n slots out of the reserved budget and appends them to `out`. Throws std::runtime_error
  // naming the shortfall if fewer than n are reserved (a scheduler bug, never silent corruption).
  // release() throws (changing nothing) for slot 0, a slot outside the pool, or one not allocated.
  void allocate_reserved(int64_t n, std::vector<int32_t>& out);
  void release(const std::vector<int32_t>& slots);  // returns slots to the free list

  int acquire_row();             // -1 when every row is in use
  void release_row(int row);
  int pad_row() const { return max_rows_; }
  int free_rows() const { return static_cast<int>(free_rows_.size()); }

 private:
  int64_t n_slots_;
  int max_rows_;
  int64_t reserved_ = 0;
  std::vector<int32_t> free_;      // stack of free slots (never contains 0)
  std::vector<int> free_rows_;
  std::vector<uint8_t> slot_in_use_;  // double-free detection
  std::vector<uint8_t> row_in_use_;
};

}  // namespace llc
