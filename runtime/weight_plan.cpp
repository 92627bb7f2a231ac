// weight_plan.cpp - lays out a program's weights in one device block and binds each source to its
// checkpoint tensor, checking name, shape and dtype. No CUDA here.
#include "runtime/weight_plan.h"

#include <map>
#include <string>

#include "runtime/weights.h"

namespace llc {
namespace {

std::string weight_label(const WeightSpec& w) {
  std::string s;
  for (int i = 0; i < w.n_sources; ++i) {
    if (i) s += " + ";
    s += w.sources[i].name ? w.sources[i].name : "<null>";
  }
  return s;
}

[[noreturn]] void spec_error(int i, const WeightSpec& w, const std::string& what) {
  throw WeightsError("program weight " + std::to_string(i) + " (" + weight_label(w) + "): " + what +
                     " (the compiled program's weight table is inconsistent)");
}

void check_spec(int i, const WeightSpec& w) {
  if (w.n_sources < 1 || !w.sources)
    throw WeightsError("program weight " + std::to_string(i) +
                       " has no sources (the compiled program's weight table is inconsistent)");
  if (w.rank != 1 && w.rank != 2) spec_error(i, w, "rank " + std::to_string(w.rank) + ", expected 1 or 2");
  if (w.rows < 1 || w.cols < 1)
    spec_error(i, w, "shape [" + std::to_string(w.rows) + ", " + std::to_string(w.cols) +
                         "] has a non-positive dimension");
  if (w.rank == 1 && w.cols != 1) spec_error(i, w, "rank 1 but cols " + std::to_string(w.cols) + " != 1");
  int64_t sum = 0;
  for (int s = 0; s < w.n_sources; ++s) {
    const WeightSource& src = w.sources[s];
    if (!src.name || !*src.name) spec_error(i, w, "source " + std::to_string(s) + " has no name");
    if (src.rows < 1)
      spec_error(i, w, "source '" + std::string(src.name) + "' has " + std::to_string(src.rows) + " rows");
    sum += src.rows;
  }
  if (sum != w.rows)
    spec_error(i, w, "sources have " + std::to_string(sum) + " rows in all, the weight " +
                         std::to_string(w.rows));
}

// Tied weights have equal keys: the same sources (names and rows), rank and cols.
std::string sharing_key(const WeightSpec& w) {
  std::string key = std::to_string(w.rank) + "|" + std::to_string(w.cols);
  for (int s = 0; s < w.n_sources; ++s)
    key += "|" + std::string(w.sources[s].name) + "#" + std::to_string(w.sources[s].rows);
  return key;
}

std::string expected_shape(const AllocationPlan& a, const SourceSlot& s) {
  return a.rank == 1 ? "[" + std::to_string(s.source->rows) + "]"
                     : "[" + std::to_string(s.source->rows) + ", " + std::to_string(a.cols) + "]";
}

}  // namespace

WeightPlan plan_weights(const ModelSpec& spec) {
  if (spec.n_weights < 0 || (spec.n_weights > 0 && !spec.weights))
    throw WeightsError("the compiled program's weight table is missing (n_weights = " +
                       std::to_string(spec.n_weights) + ")");
  WeightPlan plan;
  plan.dtype = spec.dtype;
  const size_t elem = dtype_size(spec.dtype);
  std::map<std::string, int> by_key;
  for (int i = 0; i < spec.n_weights; ++i) {
    const WeightSpec& w = spec.weights[i];
    check_spec(i, w);
    auto [it, inserted] = by_key.emplace(sharing_key(w), static_cast<int>(plan.allocations.size()));
    plan.allocation_of.push_back(it->second);
    if (!inserted) continue;

    AllocationPlan a;
    a.first_weight = i;
    a.rank = w.rank;
    a.rows = w.rows;
    a.cols = w.cols;
    a.bytes = static_cast<size_t>(w.rows) * static_cast<size_t>(w.cols) * elem;
    a.offset = plan.block_bytes;
    size_t row_bytes = static_cast<size_t>(w.cols) * elem;
    size_t at = 0;
    for (int s = 0; s < w.n_sources; ++s) {
      SourceSlot slot;
      slot.source = &w.sources[s];
      slot.n_elems = w.sources[s].rows * w.cols;
      slot.dst_offset = at;
      at += static_cast<size_t>(w.sources[s].rows) * row_bytes;
      a.sources.push_back(slot);
    }
    plan.block_bytes += (a.bytes + kWeightAlignment - 1) / kWeightAlignment * kWeightAlignment;
    plan.allocations.push_back(std::move(a));
  }
  return plan;
}

void bind_checkpoint(WeightPlan& plan, const Checkpoint& ckpt) {
  for (AllocationPlan& a : plan.allocations) {
    for (SourceSlot& s : a.sources) {
      const std::string name = s.source->name;
      Checkpoint::Entry e = ckpt.find(name);
      if (!e.tensor)
        throw WeightsError("weight '" + name + "' not found in " + ckpt.dir() + " (looked in " +
                           ckpt.looked_in(name) + ")");
      const TensorInfo& t = *e.tensor;
      bool shape_ok = a.rank == 1 ? t.shape.size() == 1 && t.shape[0] == s.source->rows
                                  : t.shape.size() == 2 && t.shape[0] == s.source->rows &&
                                        t.shape[1] == a.cols;
      if (!shape_ok)
        throw WeightsError("weight '" + name + "' in " + e.file->path() + " has shape " +
                           t.shape_string() + ", expected " + expected_shape(a, s));
      if (!t.runtime_dtype(&s.src_type))
        throw WeightsError("weight '" + name + "' in " + e.file->path() + " has dtype " + t.dtype +
                           "; only BF16, F16 and F32 can be loaded (converted to " +
                           dtype_name(plan.dtype) + ")");
      s.file = e.file;
      s.tensor = e.tensor;
    }
  }
}

}  // namespace llc
