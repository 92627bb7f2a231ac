//===- RopeFrequencies.h - inv_freq of a llama.rope, as transformers computes it ===//

#ifndef LLC_CODEGEN_ROPEFREQUENCIES_H
#define LLC_CODEGEN_ROPEFREQUENCIES_H

#include "ir/LlamaDialect.h"

#include <vector>

namespace llc {

/// The head_dim/2 inverse frequencies of `op`, computed in float32 in the same
/// order of operations as transformers' rope initialisers (default, linear, llama3),
/// so the compiled model rotates by the same angles as the reference.
std::vector<float> computeRopeInvFreq(llama::RopeOp op);

} // namespace llc

#endif // LLC_CODEGEN_ROPEFREQUENCIES_H
