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

// Checks weight i's column scale (if any) against the whole table: in range, not the weight
// itself, on a rank-2 weight, naming a rank-1 weight of length cols that is not scaled itself.
void check_column_scale(int i, const ModelSpec& spec) {
  const WeightSpec& w = spec.weights[i];
  const int j = w.column_scale;
  if (j < 0) return;
  if (j >= spec.n_weights)
    spec_error(i, w, "column_scale " + std::to_string(j) + " is out of range (the program has " +
                         std::to_string(spec.n_weights) + " weights)");
  if (j == i) spec_error(i, w, "column_scale names the weight itself");
  if (w.rank != 2)
    spec_error(i, w, "has a column scale (weight " + std::to_string(j) + ") but rank " +
                         std::to_string(w.rank) + "; only rank-2 weights can be column-scaled");
  const WeightSpec& s = spec.weights[j];
  const std::string scale = "its column scale, weight " + std::to_string(j) + " (" + weight_label(s) + "),";
  if (s.column_scale >= 0)
    spec_error(i, w, scale + " is itself column-scaled (by weight " + std::to_string(s.column_scale) +
                         "); a scale must stay as loaded");
  if (s.rank != 1) spec_error(i, w, scale + " has rank " + std::to_string(s.rank) + ", expected 1");
  if (s.rows != w.cols)
    spec_error(i, w, scale + " has " + std::to_string(s.rows) + " values, expected " +
                         std::to_string(w.cols) + " (the weight's cols)");
}

// Tied weights have equal keys: the same sources (names and rows), rank and cols, and the same
// column scale (or none), so a scaled weight never shares its allocation with an unscaled copy.
std::string sharing_key(const ModelSpec& spec, const WeightSpec& w) {
  std::string key = std::to_string(w.rank) + "|" + std::to_string(w.cols);
  for (int s = 0; s < w.n_sources; ++s)
    key += "|" + std::string(w.sources[s].name) + "#" + std::to_string(w.sources[s].rows);
  if (w.column_scale >= 0) key += "|scaled by|" + sharing_key(spec, spec.weights[w.column_scale]);
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
  for (int i = 0; i < spec.n_weights; ++i) check_spec(i, spec.weights[i]);
  for (int i = 0; i < spec.n_weights; ++i) check_column_scale(i, spec);
  std::map<std::string, int> by_key;
  for (int i = 0; i < spec.n_weights; ++i) {
    const WeightSpec& w = spec.weights[i];
    auto [it, inserted] = by_key.emplace(sharing_key(spec, w), static_cast<int>(plan.allocations.size()));
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
  // Scales may come later in the table than the weights they scale: link them once all are laid out.
  for (AllocationPlan& a : plan.allocations) {
    const int j = spec.weights[a.first_weight].column_scale;
    if (j >= 0) a.scale_allocation = plan.allocation_of[j];
  }
  return plan;
}

void check_load_functions(const WeightPlan& plan, const ModelProgram& program) {
  if (program.scale_columns) return;
  for (const AllocationPlan& a : plan.allocations) {
    if (a.scale_allocation < 0) continue;
    const WeightSpec& w = program.spec->weights[a.first_weight];
    throw WeightsError("program weight " + std::to_string(a.first_weight) + " (" + weight_label(w) +
                       ") has a column scale (weight " + std::to_string(w.column_scale) +
                       "), but the program has no scale_columns function");
  }
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
