//===- BufferPlan.cpp - activation buffers of one function ---------------------===//
//
// 1. Number the ops in program order.
// 2. For each value that needs a buffer, its live range is [defining op, last reader],
//    where readers of a split's results count as readers of the split's input.
// 3. Assign offsets first-fit in program order, freeing ranges whose last reader ran
//    before the current op (an op may write a range its own inputs are not using).
//
//===--------------------------------------------------------------------------===//

#include "codegen/BufferPlan.h"

#include "ir/LlamaDialect.h"

#include <algorithm>
#include <vector>

using namespace mlir;
using namespace llc::llama;

namespace llc {

namespace {
constexpr size_t kAlign = 256;
size_t alignUp(size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

bool needsBuffer(Value v) {
  Operation *def = v.getDefiningOp();
  if (!def || isa<WeightOp, SplitOp, KVStoreOp, RepeatKVOp, LMHeadOp>(def))
    return false;
  return isa<RankedTensorType>(v.getType());
}

struct Interval {
  size_t offset, bytes;
  int end;
};
} // namespace

size_t activationBytes(Type type, int64_t maxTokens) {
  auto tensor = cast<RankedTensorType>(type);
  size_t elementBytes = (tensor.getElementType().getIntOrFloatBitWidth() + 7) / 8;
  return alignUp(static_cast<size_t>(maxTokens) * tensor.getDimSize(1) * elementBytes);
}

BufferPlan planBuffers(func::FuncOp func, int64_t maxTokens) {
  // 1. Program order.
  DenseMap<Operation *, int> index;
  int n = 0;
  func.walk([&](Operation *op) { index[op] = n++; });

  // 2. Live ranges.
  auto lastUse = [&](Value v) {
    int last = index[v.getDefiningOp()];
    SmallVector<Value> pending = {v};
    while (!pending.empty()) {
      Value cur = pending.pop_back_val();
      for (Operation *user : cur.getUsers()) {
        last = std::max(last, index[user]);
        if (auto split = dyn_cast<SplitOp>(user))
          pending.append(split.getResults().begin(), split.getResults().end());
      }
    }
    return last;
  };

  struct Request {
    Value value;
    Operation *scratchOf = nullptr;
    int start, end;
    size_t bytes;
  };
  std::vector<Request> requests;
  func.walk([&](Operation *op) {
    for (Value result : op->getResults())
      if (needsBuffer(result))
        requests.push_back({result, nullptr, index[op], lastUse(result),
                            activationBytes(result.getType(), maxTokens)});
    if (auto head = dyn_cast<LMHeadOp>(op); head && head.getLogitRows())  // its gathered rows
      requests.push_back({Value(), op, index[op], index[op],
                          activationBytes(head.getInput().getType(), maxTokens)});
  });

  // 3. First fit.
  BufferPlan plan;
  std::vector<Interval> live;
  for (const Request &r : requests) {
    live.erase(std::remove_if(live.begin(), live.end(),
                              [&](const Interval &i) { return i.end < r.start; }),
               live.end());
    std::sort(live.begin(), live.end(),
              [](const Interval &a, const Interval &b) { return a.offset < b.offset; });
    size_t offset = 0;
    for (const Interval &i : live) {
      if (i.offset >= offset + r.bytes)
        break;
      offset = std::max(offset, i.offset + i.bytes);
    }
    live.push_back({offset, r.bytes, r.end});
    plan.bytes = std::max(plan.bytes, offset + r.bytes);
    if (r.scratchOf)
      plan.scratch[r.scratchOf] = offset;
    else
      plan.offsets[r.value] = offset;
  }
  return plan;
}

} // namespace llc
