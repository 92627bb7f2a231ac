//===- RopeFrequencies.cpp - inv_freq of a llama.rope --------------------------===//
//
// transformers computes rope frequencies once, in float32 tensors:
//   default: inv_freq[i] = 1 / theta ** (float(2i) / dim)
//   linear:  inv_freq[i] /= factor
//   llama3:  wavelen = 2*pi / inv_freq; low-frequency bands divided by factor,
//            high-frequency bands kept, the middle band interpolated smoothly.
// Every step below is a float operation in that order (Python scalars meeting a
// float32 tensor are rounded to float32 first), so the tables agree to the bit
// except where std::pow and torch's pow differ in the last place.
//
//===--------------------------------------------------------------------------===//

#include "codegen/RopeFrequencies.h"

#include <cmath>

namespace llc {

std::vector<float> computeRopeInvFreq(const RopeParams &op) {
  int64_t dim = op.headDim;
  float theta = static_cast<float>(op.theta);
  std::vector<float> inv(dim / 2);
  for (int64_t i = 0; i < dim / 2; ++i) {
    float exponent = static_cast<float>(2 * i) / static_cast<float>(dim);
    float power = static_cast<float>(std::pow(static_cast<double>(theta),
                                              static_cast<double>(exponent)));
    inv[i] = 1.0f / power;
  }

  const std::string &scaling = op.scaling;
  float factor = static_cast<float>(op.factor);
  if (scaling == "linear") {
    for (float &f : inv)
      f = f / factor;
  } else if (scaling == "llama3") {
    float low = static_cast<float>(op.lowFreqFactor);
    float high = static_cast<float>(op.highFreqFactor);
    double oldContext = static_cast<double>(op.originalMaxPosition);
    float lowFreqWavelen = static_cast<float>(oldContext / op.lowFreqFactor);
    float highFreqWavelen = static_cast<float>(oldContext / op.highFreqFactor);
    float twoPi = static_cast<float>(2.0 * M_PI);
    for (float &f : inv) {
      float wavelen = twoPi / f;
      float scaled = wavelen > lowFreqWavelen ? f / factor : f;
      float smooth = (static_cast<float>(oldContext) / wavelen - low) / (high - low);
      float smoothed = (1.0f - smooth) * scaled / factor + smooth * scaled;
      bool medium = !(wavelen < highFreqWavelen) && !(wavelen > lowFreqWavelen);
      f = medium ? smoothed : scaled;
    }
  }
  return inv;
}

} // namespace llc
