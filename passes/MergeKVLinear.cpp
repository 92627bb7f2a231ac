//===- MergeKVLinear.cpp - one GEMM for the K and V (and Q, gate/up) projections ===//
//
// Horizontal fusion of linears that read the same input. The groups are found by the
// structure around them, not by weight names:
//   - K and V: the linears feeding a `llama.kv_store` (K through its `llama.rope`);
//   - Q (with merge-q): the linear feeding, through rope, the attention that reads
//     that kv_store's cache views (directly or through repeat_kv);
//   - gate and up (with merge-gate-up): the linears feeding a `llama.silu_mul`.
// Collect the groups first, then rewrite each (never mutate while collecting).
// Invariant: every merged weight lists its sources in output-column order.
//
//===--------------------------------------------------------------------------===//

#include "ir/LlamaDialect.h"
#include "passes/Passes.h"

#include "mlir/IR/Builders.h"
#include "llvm/ADT/DenseSet.h"

namespace llc {
#define GEN_PASS_DEF_MERGEKVLINEARPASS
#include "passes/Passes.h.inc"
} // namespace llc

using namespace mlir;
using namespace llc::llama;

namespace {

/// A set of linears over one input, in the column order of the merged result.
struct LinearGroup {
  SmallVector<LinearOp> linears;
};

/// The linear that produces `v`, looking through one rope (K and Q are rotated after
/// their projection). Null when `v` has another producer or the linear has other users
/// that would see the merged layout.
LinearOp producingLinear(Value v) {
  if (auto rope = v.getDefiningOp<RopeOp>())
    v = rope.getInput();
  auto linear = v.getDefiningOp<LinearOp>();
  if (!linear || !linear.getWeight().getDefiningOp<WeightOp>())
    return nullptr;
  if (Value bias = linear.getBias(); bias && !bias.getDefiningOp<WeightOp>())
    return nullptr;
  return linear;
}

/// The attention reading `view` directly or through repeat_kv, if exactly one does.
AttentionOp attentionReading(Value view) {
  AttentionOp found;
  for (Operation *user : view.getUsers()) {
    SmallVector<Operation *> readers;
    if (auto repeat = dyn_cast<RepeatKVOp>(user))
      readers.append(repeat->user_begin(), repeat->user_end());
    else
      readers.push_back(user);
    for (Operation *reader : readers)
      if (auto attention = dyn_cast<AttentionOp>(reader)) {
        if (found && found != attention)
          return nullptr;
        found = attention;
      }
  }
  return found;
}

/// All linears of a group read the same input and either all have a bias or none.
bool isMergeable(ArrayRef<LinearOp> linears) {
  LinearOp front = linears.front();
  if (!front)
    return false;
  for (LinearOp l : linears) {
    if (!l || l.getInput() != front.getInput() ||
        static_cast<bool>(l.getBias()) != static_cast<bool>(front.getBias()) ||
        l.getKernel())
      return false;
    if (llvm::count(linears, l) != 1)
      return false;
  }
  return true;
}

/// Concatenates the weight ops of `weights` along dim 0 into one merged `llama.weight`,
/// created at the builder's insertion point.
///   %wk = llama.weight "k" : tensor<512x2048xbf16>
///   %wv = llama.weight "v" : tensor<512x2048xbf16>
/// ->
///   %wkv = llama.weight ["k", "v"] rows [512, 512] : tensor<1024x2048xbf16>
Value mergeWeights(OpBuilder &builder, Location loc, ArrayRef<Value> weights) {
  SmallVector<Attribute> sources;
  SmallVector<int64_t> rows;
  auto first = cast<RankedTensorType>(weights.front().getType());
  for (Value w : weights) {
    auto op = w.getDefiningOp<WeightOp>();
    auto type = cast<RankedTensorType>(w.getType());
    std::optional<ArrayRef<int64_t>> sourceRows = op.getSourceRows();
    for (auto [i, name] : llvm::enumerate(op.getSources())) {
      sources.push_back(name);
      rows.push_back(sourceRows ? (*sourceRows)[i] : type.getDimSize(0));
    }
  }
  SmallVector<int64_t> shape(first.getShape());
  shape[0] = 0;
  for (int64_t r : rows)
    shape[0] += r;
  auto type = RankedTensorType::get(shape, first.getElementType());
  return builder.create<WeightOp>(loc, type, builder.getArrayAttr(sources),
                                  builder.getDenseI64ArrayAttr(rows), /*scaled_by=*/nullptr);
}

/// Rewrites one group:
///   %k = llama.linear %x, %wk     %v = llama.linear %x, %wv
/// ->
///   %kv = llama.linear %x, %wkv
///   %k, %v = llama.split %kv [512, 512]
void mergeGroup(const LinearGroup &group) {
  SmallVector<LinearOp> linears = group.linears;
  Operation *first = linears.front();
  for (LinearOp l : linears)
    if (l->isBeforeInBlock(first))
      first = l;
  OpBuilder builder(first);
  Location loc = builder.getFusedLoc(llvm::to_vector(
      llvm::map_range(linears, [](LinearOp l) { return l.getLoc(); })));

  SmallVector<Value> weights, biases;
  SmallVector<int64_t> sizes;
  for (LinearOp l : linears) {
    weights.push_back(l.getWeight());
    if (l.getBias())
      biases.push_back(l.getBias());
    sizes.push_back(cast<RankedTensorType>(l.getType()).getDimSize(1));
  }
  Value weight = mergeWeights(builder, loc, weights);
  Value bias = biases.empty() ? Value() : mergeWeights(builder, loc, biases);

  auto inputType = cast<RankedTensorType>(linears.front().getType());
  int64_t total = 0;
  for (int64_t s : sizes)
    total += s;
  auto mergedType = RankedTensorType::get({inputType.getDimSize(0), total},
                                          inputType.getElementType());
  auto merged = builder.create<LinearOp>(loc, mergedType, linears.front().getInput(), weight,
                                         bias, /*kernel=*/nullptr, /*gemv_max_rows=*/nullptr,
                                         /*short_kernel=*/nullptr, /*norm_eps=*/nullptr);
  SmallVector<Type> resultTypes;
  for (LinearOp l : linears)
    resultTypes.push_back(l.getType());
  auto split = builder.create<SplitOp>(loc, resultTypes, merged.getResult(),
                                       builder.getDenseI64ArrayAttr(sizes));

  for (auto [l, part] : llvm::zip(linears, split.getResults())) {
    Operation *oldWeight = l.getWeight().getDefiningOp();
    Operation *oldBias = l.getBias() ? l.getBias().getDefiningOp() : nullptr;
    l.getResult().replaceAllUsesWith(part);
    l.erase();
    if (oldWeight->use_empty())
      oldWeight->erase();
    if (oldBias && oldBias->use_empty())
      oldBias->erase();
  }
}

struct MergeKVLinearPass : llc::impl::MergeKVLinearPassBase<MergeKVLinearPass> {
  using MergeKVLinearPassBase::MergeKVLinearPassBase;

  void runOnOperation() override {
    // 1. Collect.
    SmallVector<LinearGroup> groups;
    getOperation().walk([&](Operation *op) {
      if (auto store = dyn_cast<KVStoreOp>(op)) {
        LinearGroup group;
        if (mergeQ)
          if (AttentionOp attention = attentionReading(store.getKCache()))
            if (LinearOp q = producingLinear(attention.getQ()))
              group.linears.push_back(q);
        group.linears.push_back(producingLinear(store.getK()));
        group.linears.push_back(producingLinear(store.getV()));
        // Without a mergeable Q, still merge K and V.
        if (!isMergeable(group.linears) && group.linears.size() == 3)
          group.linears.erase(group.linears.begin());
        if (isMergeable(group.linears))
          groups.push_back(group);
      } else if (auto siluMul = dyn_cast<SiluMulOp>(op); siluMul && mergeGateUp) {
        LinearGroup group;
        group.linears = {producingLinear(siluMul.getGate()), producingLinear(siluMul.getUp())};
        // silu_mul reads the projections directly, not through rope.
        if (isMergeable(group.linears) && siluMul.getGate().getDefiningOp<LinearOp>() &&
            siluMul.getUp().getDefiningOp<LinearOp>())
          groups.push_back(group);
      }
    });
    // 2. Rewrite; a linear claimed by an earlier group is never merged twice.
    llvm::DenseSet<Operation *> claimed;
    for (const LinearGroup &group : groups) {
      if (llvm::any_of(group.linears, [&](LinearOp l) { return claimed.contains(l); }))
        continue;
      for (LinearOp l : group.linears)
        claimed.insert(l);
      mergeGroup(group);
    }
  }
};

} // namespace
