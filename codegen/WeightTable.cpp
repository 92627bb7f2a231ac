//===- WeightTable.cpp - the program's weights, in first-use order -------------===//

#include "codegen/WeightTable.h"

#include "llvm/ADT/StringExtras.h"

namespace llc {

int WeightTable::indexOf(llama::WeightOp op) {
  auto type = llvm::cast<mlir::RankedTensorType>(op.getType());
  WeightEntry entry;
  entry.rank = static_cast<int>(type.getRank());
  entry.rows = type.getDimSize(0);
  entry.cols = entry.rank == 2 ? type.getDimSize(1) : 1;
  for (mlir::Attribute a : op.getSources())
    entry.sources.push_back(llvm::cast<mlir::StringAttr>(a).getValue().str());
  if (auto rows = op.getSourceRows())
    entry.sourceRows.assign(rows->begin(), rows->end());
  else
    entry.sourceRows = {entry.rows};

  if (auto scale = op.getScaledBy()) {  // W scaled column-wise by a rank-1 weight at load
    WeightEntry scaleEntry;
    scaleEntry.sources = {scale->str()};
    scaleEntry.sourceRows = {entry.cols};
    scaleEntry.rows = entry.cols;
    entry.columnScale = add(std::move(scaleEntry));
  }
  return add(std::move(entry));
}

int WeightTable::add(WeightEntry entry) {
  std::string key = llvm::join(entry.sources, "|") + "#" + std::to_string(entry.rows) + "x" +
                    std::to_string(entry.cols);
  if (entry.columnScale >= 0)  // the same tensor scaled is another weight
    key += "*" + entries_[entry.columnScale].sources.front();
  auto [it, inserted] = byKey_.try_emplace(key, static_cast<int>(entries_.size()));
  if (inserted)
    entries_.push_back(std::move(entry));
  return it->second;
}

} // namespace llc
