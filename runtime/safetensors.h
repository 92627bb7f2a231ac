// safetensors.h - a validating reader of the safetensors format, single file or sharded.
//
// A file is: an 8-byte little-endian length N, N bytes of JSON header
//   {"<tensor>": {"dtype": "BF16", "shape": [rows, cols], "data_offsets": [begin, end]}, ...,
//    "__metadata__": {"<key>": "<string>", ...}}
// then the data section; offsets are relative to its start (byte 8 + N of the file).
// A sharded checkpoint is `model.safetensors.index.json` ({"weight_map": {tensor: file}}) beside
// its shard files.
//
// Invariants: a SafetensorsFile that constructed is fully validated: every tensor's dtype is known,
// its shape non-negative, its byte range inside the data section, exactly product(shape) elements
// long and disjoint from every other tensor's; the file stays mapped read-only (and open for
// pread) for the object's life. Every error is a SafetensorsError naming the file and, where
// there is one, the tensor. No CUDA here.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include "runtime/program.h"

namespace llc {

class SafetensorsError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The largest header accepted (the reference implementation's limit too).
inline constexpr uint64_t kMaxSafetensorsHeader = uint64_t(100) << 20;

struct TensorInfo {
  std::string name;
  std::string dtype;           // as the file spells it: "BF16", "F16", "F32", "I64", ...
  int dtype_bits = 0;          // bits per element (4 for F4, 6 for F6_*, 8..64 otherwise)
  std::vector<int64_t> shape;  // outermost first
  uint64_t numel = 0;          // product(shape); 1 for a scalar (shape [])
  uint64_t begin = 0;          // data_offsets, relative to the data section
  uint64_t end = 0;
  uint64_t file_offset = 0;    // absolute offset of the first byte in the file
  const uint8_t* data = nullptr;  // the bytes, inside the read-only mapping (any alignment)

  uint64_t nbytes() const { return end - begin; }
  // BF16 / F16 / F32 as the runtime's DType; false for every other dtype.
  bool runtime_dtype(DType* out) const;
  // "[4096, 2048]"
  std::string shape_string() const;
};

class SafetensorsFile {
 public:
  // Opens, maps and validates `path`. Throws SafetensorsError.
  explicit SafetensorsFile(const std::string& path);
  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::string& path() const { return path_; }
  uint64_t file_size() const { return size_; }
  uint64_t data_start() const { return data_start_; }  // 8 + N
  int fd() const { return fd_; }                        // open read-only, for pread()

  const std::vector<TensorInfo>& tensors() const { return tensors_; }  // sorted by name
  const TensorInfo* find(const std::string& name) const;                // nullptr if absent
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

 private:
  void parse_header();
  [[noreturn]] void fail(const std::string& what) const;

  std::string path_;
  int fd_ = -1;
  const uint8_t* map_ = nullptr;
  uint64_t size_ = 0;
  uint64_t data_start_ = 0;
  std::vector<TensorInfo> tensors_;
  std::unordered_map<std::string, size_t> index_;
  std::map<std::string, std::string> metadata_;
};

// A Hugging Face checkpoint directory: `model.safetensors`, or the shards that
// `model.safetensors.index.json` lists (the index wins when both exist).
class Checkpoint {
 public:
  static constexpr const char* kSingleFile = "model.safetensors";
  static constexpr const char* kIndexFile = "model.safetensors.index.json";

  // Opens every file and checks that each tensor the index names is in its shard.
  // Throws SafetensorsError.
  explicit Checkpoint(const std::string& dir);

  struct Entry {
    const SafetensorsFile* file = nullptr;
    const TensorInfo* tensor = nullptr;
  };
  Entry find(const std::string& name) const;  // {nullptr, nullptr} if absent
  // Where a lookup of `name` looked, for "not found" messages: "model.safetensors", or
  // "model.safetensors.index.json, whose weight_map does not list it".
  std::string looked_in(const std::string& name) const;

  const std::string& dir() const { return dir_; }
  bool sharded() const { return sharded_; }
  const std::vector<std::unique_ptr<SafetensorsFile>>& files() const { return files_; }

 private:
  void open_index(const std::string& index_path);

  std::string dir_;
  bool sharded_ = false;
  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::unordered_map<std::string, const SafetensorsFile*> weight_map_;  // sharded only
};

}  // namespace llc
