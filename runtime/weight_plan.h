// weight_plan.h - where each program weight lives on the device and which checkpoint tensor fills
// each part of it: the CPU-only half of weight loading, kept apart so it is unit-tested without a
// GPU.
//
// All weights share one device block. A program weight is one allocation in it (256-byte
// aligned); a merged weight's sources sit one after another along dim 0; program weights with the
// same source list, rank and cols (tied embeddings) share an allocation, unless only one of them
// has a column scale (or their scales differ): a scaled copy is its own allocation.
// A column-scaled allocation (WeightSpec::column_scale) is multiplied by its scale after every
// allocation is filled; a scale is rank 1 and never scaled itself, so the order does not matter.
// Invariant: a plan that bind_checkpoint() accepted names, for every source, a tensor of exactly
// the expected shape and a loadable dtype (BF16/F16/F32), so the copy stage never checks again.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "runtime/program.h"
#include "runtime/safetensors.h"

namespace llc {

// One source's region of an allocation.
struct SourceSlot {
  const WeightSource* source = nullptr;
  int64_t n_elems = 0;    // source rows * cols
  size_t dst_offset = 0;  // bytes from the allocation's start
  // Set by bind_checkpoint():
  const SafetensorsFile* file = nullptr;
  const TensorInfo* tensor = nullptr;
  DType src_type = DType::bf16;
};

struct AllocationPlan {
  int first_weight = 0;  // index of the first program weight that uses it
  int rank = 0;
  int64_t rows = 0, cols = 0;
  size_t offset = 0;     // bytes from the block's start, a multiple of kWeightAlignment
  size_t bytes = 0;      // rows * cols * dtype_size(compiled dtype)
  int scale_allocation = -1;  // the rank-1 allocation [cols] that multiplies each column once
                              // this one is filled (WeightSpec::column_scale); -1: none
  std::vector<SourceSlot> sources;
};

struct WeightPlan {
  DType dtype = DType::bf16;            // the compiled dtype
  std::vector<AllocationPlan> allocations;
  std::vector<int> allocation_of;       // [n_weights]: program weight -> allocation
  size_t block_bytes = 0;               // the whole device block
};

inline constexpr size_t kWeightAlignment = 256;

// Lays out spec.weights. Throws WeightsError if the spec is inconsistent (rank not 1 or 2,
// non-positive sizes, no sources, source rows not summing to the weight's rows, a column scale
// that is out of range, not rank 1 of length cols, on a weight not of rank 2, the weight itself,
// or itself column-scaled, ...).
WeightPlan plan_weights(const ModelSpec& spec);

// Checks that `program` has every function `plan` needs at load time beyond the forward ones
// (scale_columns when some weight has a column scale). Throws WeightsError naming the weight.
void check_load_functions(const WeightPlan& plan, const ModelProgram& program);

// Finds every source in `ckpt` and checks its shape ([rows, cols], or [rows] for rank 1) and dtype.
// Throws WeightsError naming the weight, the directory or file, and what was expected and found.
void bind_checkpoint(WeightPlan& plan, const Checkpoint& ckpt);

}  // namespace llc
