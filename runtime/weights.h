// weights.h - loading a program's weights onto the GPU.
//
// Reads a Hugging Face checkpoint directory (model.safetensors, or shards listed in
// model.safetensors.index.json), checks every source tensor the program names by name, shape and
// dtype, converts bf16/fp16/fp32 on disk to the compiled dtype, concatenates merged weights along
// dim 0, and loads a tensor used by several program weights (tied embeddings) once. Then a weight
// with a column scale (WeightSpec::column_scale, a folded RMSNorm weight) is multiplied in place:
// W'[r][c] = W[r][c] * S[c] in the compiled dtype (program.scale_columns).
// Errors (WeightsError) name the file, the tensor, and what was expected and found.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include <cuda_runtime.h>

#include "runtime/program.h"

namespace llc {

class WeightsError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct DeviceWeights {
  std::vector<void*> pointers;   // [ModelSpec::n_weights], in spec order (aliases for shared ones)
  std::vector<void*> owned;      // device allocations to free
  size_t bytes = 0;              // device bytes held
  double load_seconds = 0;       // wall time of the load
  ~DeviceWeights();
  DeviceWeights() = default;
  DeviceWeights(const DeviceWeights&) = delete;
  DeviceWeights& operator=(const DeviceWeights&) = delete;
  DeviceWeights(DeviceWeights&&) noexcept;
  DeviceWeights& operator=(DeviceWeights&&) noexcept;
};

DeviceWeights load_weights(const ModelProgram& program, const std::string& dir, cudaStream_t stream);

// Tuning of the copy pipeline (disk -> pinned staging -> device); the defaults suit real
// checkpoints, tests shrink the staging buffers to exercise chunking.
struct LoadOptions {
  size_t staging_bytes = size_t(32) << 20;  // each of the two pinned (and device) staging buffers
  int read_threads = 4;                     // pread() threads filling one staging buffer
};
DeviceWeights load_weights(const ModelProgram& program, const std::string& dir, cudaStream_t stream,
                           const LoadOptions& options);

// Random weights for benchmarking: 2-D weights uniform(+-1/sqrt(cols)), norm weights
// 1 + uniform(+-0.1), biases uniform(+-0.02); deterministic in `seed`. Column scales are applied
// as after a load, so a scaled weight holds (its random values) * (its scale's random values).
DeviceWeights random_weights(const ModelProgram& program, uint64_t seed, cudaStream_t stream);

}  // namespace llc
