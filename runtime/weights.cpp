// weights.cpp - moves a checkpoint's tensors onto the GPU (load_weights) or fills the same layout
// with deterministic random values (random_weights).
//
// Every check happens first (weight_plan.cpp: names, shapes, dtypes), so a bad checkpoint fails in
// milliseconds, before any device memory is touched. Then the copy pipeline:
//   pread (a few threads) -> pinned staging buffer b -> cudaMemcpyAsync -> [device staging b ->
//   program.convert] -> destination, then an event on b
// with two buffers b = 0, 1: the CPU reads chunk i+1 while the GPU copies chunk i, and a buffer is
// reused only after its event says the GPU is done with it. Same-dtype chunks go straight to their
// destination; others pass through a device staging buffer and the program's convert kernel.
// Once every allocation is filled (loaded or random), each column-scaled weight is multiplied in
// place by its scale (program.scale_columns) on the same stream, before the weights are handed out.
#include "runtime/weights.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <memory>
#include <thread>

#include "runtime/cuda_check.h"
#include "runtime/device_buffer.h"
#include "runtime/safetensors.h"
#include "runtime/steady_clock.h"
#include "runtime/weight_plan.h"

namespace llc {

DeviceWeights::~DeviceWeights() {
  for (void* p : owned) cudaFree(p);
}

DeviceWeights::DeviceWeights(DeviceWeights&& o) noexcept
    : pointers(std::move(o.pointers)), owned(std::move(o.owned)), bytes(o.bytes),
      load_seconds(o.load_seconds) {
  o.owned.clear();
  o.bytes = 0;
}

DeviceWeights& DeviceWeights::operator=(DeviceWeights&& o) noexcept {
  if (this != &o) {
    for (void* p : owned) cudaFree(p);
    pointers = std::move(o.pointers);
    owned = std::move(o.owned);
    bytes = o.bytes;
    load_seconds = o.load_seconds;
    o.owned.clear();
    o.bytes = 0;
  }
  return *this;
}

namespace {

// Reads exactly `len` bytes at `off`; returns an error text, empty on success.
std::string pread_exact(int fd, uint8_t* dst, uint64_t len, uint64_t off) {
  while (len > 0) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(len, uint64_t(1) << 30));
    ssize_t got = ::pread(fd, dst, want, static_cast<off_t>(off));
    if (got < 0) {
      if (errno == EINTR) continue;
      return std::strerror(errno);
    }
    if (got == 0) return "unexpected end of file (was it truncated while loading?)";
    dst += got;
    off += static_cast<uint64_t>(got);
    len -= static_cast<uint64_t>(got);
  }
  return {};
}

// Bytes [off, off + len) of tensor `t` into dst, split over up to `threads` pread() calls.
void read_chunk(const SafetensorsFile& f, const TensorInfo& t, uint8_t* dst, uint64_t off,
                uint64_t len, int threads) {
  constexpr uint64_t kMinPart = uint64_t(4) << 20;
  int parts = static_cast<int>(std::clamp<uint64_t>(len / kMinPart, 1, std::max(threads, 1)));
  std::vector<std::string> errors(parts);
  uint64_t part = (len + parts - 1) / parts;
  auto read_part = [&](int p) {
    uint64_t begin = std::min(len, uint64_t(p) * part), end = std::min(len, begin + part);
    errors[p] = pread_exact(f.fd(), dst + begin, end - begin, t.file_offset + off + begin);
  };
  if (parts == 1) {
    read_part(0);
  } else {
    std::vector<std::thread> pool;
    for (int p = 1; p < parts; ++p) pool.emplace_back(read_part, p);
    read_part(0);
    for (auto& th : pool) th.join();
  }
  for (const auto& e : errors)
    if (!e.empty())
      throw WeightsError("reading weight '" + t.name + "' from " + f.path() + " failed: " + e);
}

// The two-buffer pipeline of the file comment.
class CopyPipeline {
 public:
  CopyPipeline(const ModelProgram& program, size_t chunk_bytes, bool need_device_staging,
               int read_threads, cudaStream_t stream)
      : program_(program), chunk_(chunk_bytes), threads_(read_threads), stream_(stream) {
    for (int b = 0; b < 2; ++b) {
      host_[b].allocate(chunk_, "a weight-loading staging buffer");
      if (need_device_staging) device_[b].allocate(chunk_, "a weight-conversion staging buffer");
    }
  }

  // Waits for chunks still in flight, so no copy outlives the buffers (also on an error path).
  ~CopyPipeline() {
    for (int b = 0; b < 2; ++b)
      if (in_flight_[b]) cudaEventSynchronize(done_[b].get());
  }
  CopyPipeline(const CopyPipeline&) = delete;
  CopyPipeline& operator=(const CopyPipeline&) = delete;

  // Copies every byte of `slot`'s tensor to `dst` (the slot's place in the compiled dtype).
  void copy(const SourceSlot& slot, DType dst_type, uint8_t* dst) {
    const TensorInfo& t = *slot.tensor;
    const size_t src_elem = dtype_size(slot.src_type), dst_elem = dtype_size(dst_type);
    const bool convert = slot.src_type != dst_type;
    for (uint64_t off = 0; off < t.nbytes(); off += chunk_) {
      const uint64_t len = std::min<uint64_t>(chunk_, t.nbytes() - off);
      const int b = next_;
      next_ ^= 1;
      if (in_flight_[b]) LLC_CUDA(cudaEventSynchronize(done_[b].get()));
      auto* host = host_[b].as<uint8_t>();
      read_chunk(*slot.file, t, host, off, len, threads_);
      uint8_t* out = dst + off / src_elem * dst_elem;
      if (!convert) {
        LLC_CUDA(cudaMemcpyAsync(out, host, len, cudaMemcpyHostToDevice, stream_));
      } else {
        LLC_CUDA(cudaMemcpyAsync(device_[b].get(), host, len, cudaMemcpyHostToDevice, stream_));
        program_.convert(out, device_[b].get(), slot.src_type, static_cast<int64_t>(len / src_elem),
                         stream_);
        LLC_CUDA_LAUNCH("program.convert (weight dtype conversion kernel)");
      }
      LLC_CUDA(cudaEventRecord(done_[b].get(), stream_));
      in_flight_[b] = true;
    }
  }

 private:
  const ModelProgram& program_;
  size_t chunk_;
  int threads_;
  cudaStream_t stream_;
  PinnedBuffer host_[2];
  DeviceBuffer device_[2];
  CudaEvent done_[2];
  bool in_flight_[2] = {false, false};
  int next_ = 0;
};

// The one device block every weight of `plan` lives in (empty if the plan needs no bytes).
DeviceBuffer allocate_block(const WeightPlan& plan) {
  try {
    return DeviceBuffer(plan.block_bytes, "the weights");
  } catch (const std::runtime_error& e) {
    throw WeightsError(e.what());
  }
}

// Points out's weights into the filled `block` and gives it the block to free.
void adopt_block(const WeightPlan& plan, DeviceBuffer block, DeviceWeights& out) {
  out.pointers.resize(plan.allocation_of.size());
  for (size_t i = 0; i < plan.allocation_of.size(); ++i)
    out.pointers[i] = block.as<uint8_t>() + plan.allocations[plan.allocation_of[i]].offset;
  out.bytes = plan.block_bytes;
  if (block.get()) out.owned.push_back(block.release());
}

// w[r][c] *= scale[c] for every column-scaled allocation of the filled `base` block, on `stream`
// (after the fills enqueued there). Scales are never scaled themselves, so one pass suffices.
void apply_column_scales(const ModelProgram& program, const WeightPlan& plan, uint8_t* base,
                         cudaStream_t stream) {
  for (const AllocationPlan& a : plan.allocations) {
    if (a.scale_allocation < 0) continue;
    const AllocationPlan& scale = plan.allocations[a.scale_allocation];
    program.scale_columns(base + a.offset, base + scale.offset, a.rows, a.cols, stream);
    LLC_CUDA_LAUNCH("program.scale_columns (folded-norm column scale kernel)");
  }
}

// FNV-1a of a source name, so each tensor's random stream depends on its name, not its position.
uint64_t name_hash(const char* s) {
  uint64_t h = 1469598103934665603ull;
  for (; *s; ++s) h = (h ^ static_cast<uint8_t>(*s)) * 1099511628211ull;
  return h;
}

uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

DeviceWeights load_weights(const ModelProgram& program, const std::string& dir, cudaStream_t stream) {
  return load_weights(program, dir, stream, LoadOptions{});
}

DeviceWeights load_weights(const ModelProgram& program, const std::string& dir, cudaStream_t stream,
                           const LoadOptions& options) {
  const auto t0 = SteadyClock::now();
  if (!program.spec) throw WeightsError("load_weights: the program has no ModelSpec");
  WeightPlan plan = plan_weights(*program.spec);
  check_load_functions(plan, program);
  std::unique_ptr<Checkpoint> ckpt;
  try {
    ckpt = std::make_unique<Checkpoint>(dir);
  } catch (const SafetensorsError& e) {
    throw WeightsError(e.what());
  }
  bind_checkpoint(plan, *ckpt);

  bool need_convert = false;
  for (const auto& a : plan.allocations)
    for (const auto& s : a.sources) need_convert |= s.src_type != plan.dtype;
  if (need_convert && !program.convert)
    throw WeightsError("the checkpoint in " + dir + " needs dtype conversion to " +
                       dtype_name(plan.dtype) + ", but the program has no convert function");

  DeviceWeights out;
  try {
    DeviceBuffer block = allocate_block(plan);
    if (plan.block_bytes > 0) {
      // Chunks hold whole elements of every dtype (multiples of 16 bytes).
      size_t chunk = std::max<size_t>(16, options.staging_bytes / 16 * 16);
      CopyPipeline pipeline(program, chunk, need_convert, options.read_threads, stream);
      auto* base = block.as<uint8_t>();
      for (const auto& a : plan.allocations)
        for (const auto& s : a.sources) pipeline.copy(s, plan.dtype, base + a.offset + s.dst_offset);
      apply_column_scales(program, plan, base, stream);
      LLC_CUDA(cudaStreamSynchronize(stream));
    }
    adopt_block(plan, std::move(block), out);
  } catch (const WeightsError&) {
    throw;
  } catch (const std::runtime_error& e) {
    throw WeightsError("loading weights from " + dir + ": " + e.what());
  }
  out.load_seconds = seconds_since(t0);
  return out;
}

DeviceWeights random_weights(const ModelProgram& program, uint64_t seed, cudaStream_t stream) {
  const auto t0 = SteadyClock::now();
  if (!program.spec) throw WeightsError("random_weights: the program has no ModelSpec");
  if (!program.fill_random) throw WeightsError("random_weights: the program has no fill_random function");
  WeightPlan plan = plan_weights(*program.spec);
  check_load_functions(plan, program);

  DeviceWeights out;
  try {
    DeviceBuffer block = allocate_block(plan);
    auto* base = block.as<uint8_t>();
    for (const auto& a : plan.allocations) {
      for (const auto& s : a.sources) {
        // 2-D: uniform(+-1/sqrt(cols)); 1-D "*.bias": uniform(+-0.02); other 1-D (norms): 1 +- 0.1.
        float offset = 0.f, scale = 0.f;
        if (a.rank == 2) {
          scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(a.cols)));
        } else if (ends_with(s.source->name, ".bias")) {
          scale = 0.02f;
        } else {
          offset = 1.f;
          scale = 0.1f;
        }
        uint64_t source_seed = splitmix64(seed ^ splitmix64(name_hash(s.source->name)));
        program.fill_random(base + a.offset + s.dst_offset, s.n_elems, source_seed, offset, scale, stream);
        LLC_CUDA_LAUNCH("program.fill_random (random weight kernel)");
      }
    }
    apply_column_scales(program, plan, base, stream);
    LLC_CUDA(cudaStreamSynchronize(stream));
    adopt_block(plan, std::move(block), out);
  } catch (const WeightsError&) {
    throw;
  } catch (const std::runtime_error& e) {
    throw WeightsError(std::string("random weights: ") + e.what());
  }
  out.load_seconds = seconds_since(t0);
  return out;
}

}  // namespace llc
