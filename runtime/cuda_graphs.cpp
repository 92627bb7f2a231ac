// cuda_graphs.cpp - capture and replay of the per-bucket decode graphs (see cuda_graphs.h).
#include "runtime/cuda_graphs.h"

#include <stdexcept>
#include <string>

#include "runtime/cuda_check.h"

namespace llc {

DecodeGraphs::~DecodeGraphs() {
  for (Entry& e : entries_) {
    if (e.exec) cudaGraphExecDestroy(e.exec);
    if (e.graph) cudaGraphDestroy(e.graph);
  }
}

namespace {
std::string graph_name(int bucket, bool short_kv, int block) {
  return "batch bucket " + std::to_string(bucket) + (short_kv ? ", short contexts" : "") +
         ", metadata block " + std::to_string(block);
}
}  // namespace

const DecodeGraphs::Entry* DecodeGraphs::find(int bucket, bool short_kv, int block) const {
  for (const Entry& e : entries_)
    if (e.bucket == bucket && e.short_kv == short_kv && e.block == block) return &e;
  return nullptr;
}

void DecodeGraphs::capture(int bucket, bool short_kv, int block, cudaStream_t stream,
                           const std::function<void(cudaStream_t)>& body) {
  const std::string name = graph_name(bucket, short_kv, block);
  if (has(bucket, short_kv, block)) throw std::logic_error("decode graph for " + name + " captured twice");
  const std::string where = "decode graph capture (" + name + "): ";
  LLC_CUDA(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal));
  cudaGraph_t graph = nullptr;
  try {
    body(stream);
  } catch (...) {
    cudaStreamEndCapture(stream, &graph);  // leave capture mode before reporting
    if (graph) cudaGraphDestroy(graph);
    cudaGetLastError();
    throw;
  }
  cudaError_t err = cudaStreamEndCapture(stream, &graph);
  if (err != cudaSuccess) {
    if (graph) cudaGraphDestroy(graph);
    cudaGetLastError();
    throw CudaError(err, where + "cudaStreamEndCapture failed: " + cuda_error_text(err) +
                             "; a call in program.decode/sample is not capturable (a "
                             "synchronisation, an allocation or a host read?)");
  }
  cudaGraphExec_t exec = nullptr;
  err = cudaGraphInstantiate(&exec, graph, 0);
  if (err != cudaSuccess) {
    cudaGraphDestroy(graph);
    cudaGetLastError();
    throw CudaError(err, where + "cudaGraphInstantiate failed: " + cuda_error_text(err));
  }
  entries_.push_back({bucket, short_kv, block, graph, exec});
  LLC_CUDA(cudaGraphUpload(exec, stream));
}

void DecodeGraphs::launch(int bucket, bool short_kv, int block, cudaStream_t stream) const {
  const Entry* e = find(bucket, short_kv, block);
  if (!e) throw std::logic_error("no decode graph for " + graph_name(bucket, short_kv, block));
  LLC_CUDA(cudaGraphLaunch(e->exec, stream));
}

}  // namespace llc
