//===- WeightTable.h - the program's weights, in first-use order ---------------===//
//
// Every `llama.weight` of the module becomes one entry of the generated weight table
// (`llc::WeightSpec`), shared by @prefill and @decode: two ops naming the same
// sources with the same shape are one entry, so tied embeddings load once.
//
//===--------------------------------------------------------------------------===//

#ifndef LLC_CODEGEN_WEIGHTTABLE_H
#define LLC_CODEGEN_WEIGHTTABLE_H

#include "ir/LlamaDialect.h"

#include "llvm/ADT/DenseMap.h"

#include <map>
#include <string>
#include <vector>

namespace llc {

struct WeightEntry {
  std::vector<std::string> sources;
  std::vector<int64_t> sourceRows;
  int64_t rows = 0;
  int64_t cols = 1;
  int rank = 1;
  /// Index of the rank-1 entry whose values multiply each column of this one at load
  /// (a folded RMSNorm weight); -1: none.
  int columnScale = -1;
};

class WeightTable {
public:
  /// The table index of a weight op's value (adding the entry on first sight).
  int indexOf(llama::WeightOp op);
  /// The index of an entry with `entry`'s sources and shape (a `scaled_by` weight's scale),
  /// adding it on first sight.
  int add(WeightEntry entry);
  const std::vector<WeightEntry> &entries() const { return entries_; }

private:
  std::vector<WeightEntry> entries_;
  std::map<std::string, int> byKey_;
};

} // namespace llc

#endif // LLC_CODEGEN_WEIGHTTABLE_H
