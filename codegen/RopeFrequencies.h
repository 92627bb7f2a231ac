//===- RopeFrequencies.h - inv_freq of a llama.rope, as transformers computes it ===//

#ifndef LLC_CODEGEN_ROPEFREQUENCIES_H
#define LLC_CODEGEN_ROPEFREQUENCIES_H

#include "ir/LlamaDialect.h"

#include <string>
#include <vector>

namespace llc {

/// The rope attributes of a llama.rope, llama.rope_kv_store or llama.rope_kv_store_linear.
struct RopeParams {
  int64_t headDim;
  double theta;
  std::string scaling;
  double factor, lowFreqFactor, highFreqFactor;
  int64_t originalMaxPosition;
};

template <typename RopeLikeOp> RopeParams ropeParams(RopeLikeOp op) {
  return {static_cast<int64_t>(op.getHeadDim()),
          op.getTheta().convertToDouble(),
          op.getScaling().str(),
          op.getFactor().convertToDouble(),
          op.getLowFreqFactor().convertToDouble(),
          op.getHighFreqFactor().convertToDouble(),
          static_cast<int64_t>(op.getOriginalMaxPosition())};
}

/// The head_dim/2 inverse frequencies of a rope, computed in float32 in the same
/// order of operations as transformers' rope initialisers (default, linear, llama3),
/// so the compiled model rotates by the same angles as the reference.
std::vector<float> computeRopeInvFreq(const RopeParams &rope);

} // namespace llc

#endif // LLC_CODEGEN_ROPEFREQUENCIES_H
