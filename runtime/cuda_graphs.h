// cuda_graphs.h - the decode step's CUDA graphs, one per batch bucket, context class and
// metadata block.
//
// The context class (short_kv) is whether every sequence of the step has at most
// ModelSpec::decode_short_kv_len cached tokens: such steps run attention's one-block path, whose
// launches differ from the general path's, so each class has a graph of its own. Decode steps
// alternate between two metadata blocks (engine_impl.h), and a graph's pointers are fixed, so
// each block has its graphs too.
// capture() records whatever `body` enqueues on `stream` (cudaStreamCaptureModeThreadLocal, so
// another thread's CUDA calls are not affected), instantiates the graph and uploads it; launch()
// replays it. The caller must run `body` once uncaptured first so that everything it sets up
// lazily (cuBLASLt algorithm choice, module loading) happens outside the capture. Every pointer
// and size the body uses is frozen into the graph: the engine keeps them fixed and changes only
// the contents of the metadata block between replays. A failed capture ends the capture before
// throwing, so the stream stays usable, and its message names the bucket.
#pragma once

#include <functional>
#include <vector>

#include <cuda_runtime.h>

namespace llc {

class DecodeGraphs {
 public:
  DecodeGraphs() = default;
  ~DecodeGraphs();
  DecodeGraphs(const DecodeGraphs&) = delete;
  DecodeGraphs& operator=(const DecodeGraphs&) = delete;

  void capture(int bucket, bool short_kv, int block, cudaStream_t stream,
               const std::function<void(cudaStream_t)>& body);
  // Throws if it was not captured.
  void launch(int bucket, bool short_kv, int block, cudaStream_t stream) const;
  bool has(int bucket, bool short_kv, int block) const { return find(bucket, short_kv, block) != nullptr; }
  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    int bucket;
    bool short_kv;
    int block;
    cudaGraph_t graph;
    cudaGraphExec_t exec;
  };
  const Entry* find(int bucket, bool short_kv, int block) const;
  std::vector<Entry> entries_;
};

}  // namespace llc
