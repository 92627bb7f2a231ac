// safetensors.cpp - parses and validates safetensors files and sharded checkpoint indexes.
//
// Every check named in safetensors.h happens here, before any tensor is handed out, so a
// consumer may trust each TensorInfo's byte range. Errors read
//   safetensors file '<path>': tensor '<name>': <what was expected>, found <what is there>
#include "runtime/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <unordered_set>

#include <nlohmann/json.hpp>

namespace llc {
namespace {

using json = nlohmann::json;

// Element sizes of every dtype the safetensors format defines.
struct DtypeBits {
  const char* name;
  int bits;
};
constexpr DtypeBits kDtypes[] = {
    {"BOOL", 8},     {"F4", 4},       {"F6_E2M3", 6},  {"F6_E3M2", 6}, {"U8", 8},
    {"I8", 8},       {"F8_E5M2", 8},  {"F8_E4M3", 8},  {"F8_E8M0", 8}, {"I16", 16},
    {"U16", 16},     {"F16", 16},     {"BF16", 16},    {"I32", 32},    {"U32", 32},
    {"F32", 32},     {"C64", 64},     {"F64", 64},     {"I64", 64},    {"U64", 64},
};

int dtype_bits(const std::string& name) {
  for (const auto& d : kDtypes)
    if (name == d.name) return d.bits;
  return 0;
}

const char* json_kind(const json& j) {
  switch (j.type()) {
    case json::value_t::null: return "null";
    case json::value_t::object: return "an object";
    case json::value_t::array: return "an array";
    case json::value_t::string: return "a string";
    case json::value_t::boolean: return "a boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned: return "an integer";
    case json::value_t::number_float: return "a non-integer number";
    default: return "an unsupported JSON value";
  }
}

// A JSON value as a non-negative integer, or false (negative, fractional, too large, not a number).
bool as_u64(const json& j, uint64_t* out) {
  if (j.is_number_unsigned()) {
    *out = j.get<uint64_t>();
    return true;
  }
  if (j.is_number_integer() && j.get<int64_t>() >= 0) {
    *out = static_cast<uint64_t>(j.get<int64_t>());
    return true;
  }
  return false;
}

std::string join_path(const std::string& dir, const std::string& name) {
  if (dir.empty()) return name;
  return dir.back() == '/' ? dir + name : dir + "/" + name;
}

bool is_regular_file(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// TensorInfo

bool TensorInfo::runtime_dtype(DType* out) const {
  if (dtype == "BF16") *out = DType::bf16;
  else if (dtype == "F16") *out = DType::fp16;
  else if (dtype == "F32") *out = DType::fp32;
  else return false;
  return true;
}

std::string TensorInfo::shape_string() const {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// ---------------------------------------------------------------------------------------------
// SafetensorsFile

void SafetensorsFile::fail(const std::string& what) const {
  throw SafetensorsError("safetensors file '" + path_ + "': " + what);
}

SafetensorsFile::SafetensorsFile(const std::string& path) : path_(path) {
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) fail(std::string("cannot open: ") + std::strerror(errno));
  try {
    struct stat st;
    if (::fstat(fd_, &st) != 0) fail(std::string("cannot stat: ") + std::strerror(errno));
    if (!S_ISREG(st.st_mode)) fail("not a regular file");
    size_ = static_cast<uint64_t>(st.st_size);
    if (size_ < 8)
      fail("file is " + std::to_string(size_) +
           " bytes, shorter than the 8-byte header length that starts every safetensors file");
    void* m = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd_, 0);
    if (m == MAP_FAILED) fail(std::string("cannot mmap: ") + std::strerror(errno));
    map_ = static_cast<const uint8_t*>(m);
    parse_header();
  } catch (...) {
    if (map_) ::munmap(const_cast<uint8_t*>(map_), size_);
    ::close(fd_);
    throw;
  }
}

SafetensorsFile::~SafetensorsFile() {
  if (map_) ::munmap(const_cast<uint8_t*>(map_), size_);
  if (fd_ >= 0) ::close(fd_);
}

const TensorInfo* SafetensorsFile::find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

void SafetensorsFile::parse_header() {
  // 1. The header length: little-endian u64, independent of the host's byte order.
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | map_[i];
  if (n > kMaxSafetensorsHeader)
    fail("header length " + std::to_string(n) + " is absurd (more than the " +
         std::to_string(kMaxSafetensorsHeader >> 20) + " MB limit); not a safetensors file?");
  if (n > size_ - 8)
    fail("header length " + std::to_string(n) + " runs past the end of the file (" +
         std::to_string(size_) + " bytes, so at most " + std::to_string(size_ - 8) + ")");
  data_start_ = 8 + n;
  const uint64_t data_size = size_ - data_start_;

  // 2. The JSON, noting duplicate top-level keys (nlohmann would silently keep the last one).
  std::unordered_set<std::string> seen;
  std::string duplicate;
  json::parser_callback_t on_event = [&](int depth, json::parse_event_t event, json& parsed) {
    if (event == json::parse_event_t::key && depth == 1 && parsed.is_string()) {
      const auto& key = parsed.get_ref<const std::string&>();
      if (!seen.insert(key).second && duplicate.empty()) duplicate = key;
    }
    return true;
  };
  json header;
  try {
    const char* text = reinterpret_cast<const char*>(map_ + 8);
    header = json::parse(text, text + n, on_event);
  } catch (const json::exception& e) {
    fail(std::string("header is not valid JSON: ") + e.what());
  }
  if (!header.is_object()) fail(std::string("header is ") + json_kind(header) + ", not a JSON object");
  if (!duplicate.empty()) fail("header names '" + duplicate + "' twice");

  // 3. Each entry.
  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string& name = it.key();
    const json& entry = it.value();
    if (name == "__metadata__") {
      if (!entry.is_object()) fail(std::string("__metadata__ is ") + json_kind(entry) + ", not an object");
      for (auto m = entry.begin(); m != entry.end(); ++m) {
        if (!m.value().is_string())
          fail("__metadata__ key '" + m.key() + "' holds " + json_kind(m.value()) +
               "; metadata values must be strings");
        metadata_[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    const std::string where = "tensor '" + name + "': ";
    if (!entry.is_object()) fail(where + "entry is " + json_kind(entry) + ", not an object");
    for (const char* key : {"dtype", "shape", "data_offsets"})
      if (!entry.contains(key)) fail(where + "missing \"" + key + "\"");

    TensorInfo t;
    t.name = name;
    const json& dtype = entry["dtype"];
    if (!dtype.is_string()) fail(where + "\"dtype\" is " + json_kind(dtype) + ", not a string");
    t.dtype = dtype.get<std::string>();
    t.dtype_bits = dtype_bits(t.dtype);
    if (t.dtype_bits == 0) fail(where + "unknown dtype \"" + t.dtype + "\"");

    const json& shape = entry["shape"];
    if (!shape.is_array()) fail(where + "\"shape\" is " + json_kind(shape) + ", not an array");
    t.numel = 1;
    for (size_t d = 0; d < shape.size(); ++d) {
      uint64_t dim = 0;
      if (!as_u64(shape[d], &dim) || dim > uint64_t(INT64_MAX))
        fail(where + "shape dimension " + std::to_string(d) + " is " + shape[d].dump() +
             ", not a non-negative integer");
      t.shape.push_back(static_cast<int64_t>(dim));
      if (__builtin_mul_overflow(t.numel, dim, &t.numel))
        fail(where + "shape " + shape.dump() + " has more elements than fit in 64 bits");
    }

    const json& offsets = entry["data_offsets"];
    if (!offsets.is_array() || offsets.size() != 2 || !as_u64(offsets[0], &t.begin) ||
        !as_u64(offsets[1], &t.end))
      fail(where + "\"data_offsets\" is " + offsets.dump() +
           ", not [begin, end] with two non-negative integers");
    if (t.begin > t.end)
      fail(where + "data_offsets [" + std::to_string(t.begin) + ", " + std::to_string(t.end) +
           "] has begin > end");
    if (t.end > data_size)
      fail(where + "data_offsets end " + std::to_string(t.end) +
           " is beyond the data section (" + std::to_string(data_size) + " bytes)");

    uint64_t bits = 0;
    if (__builtin_mul_overflow(t.numel, uint64_t(t.dtype_bits), &bits) || bits % 8 != 0 ||
        bits / 8 != t.nbytes())
      fail(where + "holds " + std::to_string(t.nbytes()) + " bytes, but shape " + t.shape_string() +
           " of " + t.dtype + " needs " +
           (bits % 8 ? std::to_string(t.numel) + " x " + std::to_string(t.dtype_bits) + " bits"
                     : std::to_string(bits / 8)) +
           (bits % 8 ? " (not a whole number of bytes)" : ""));
    t.file_offset = data_start_ + t.begin;
    t.data = map_ + t.file_offset;
    tensors_.push_back(std::move(t));
  }

  // 4. No two tensors share a byte (empty tensors own none).
  std::vector<const TensorInfo*> by_begin;
  for (const auto& t : tensors_)
    if (t.nbytes() > 0) by_begin.push_back(&t);
  std::sort(by_begin.begin(), by_begin.end(), [](const TensorInfo* a, const TensorInfo* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->name < b->name;
  });
  for (size_t i = 1; i < by_begin.size(); ++i) {
    const TensorInfo* a = by_begin[i - 1];
    const TensorInfo* b = by_begin[i];
    if (b->begin < a->end)
      fail("tensors '" + a->name + "' [" + std::to_string(a->begin) + ", " + std::to_string(a->end) +
           ") and '" + b->name + "' [" + std::to_string(b->begin) + ", " + std::to_string(b->end) +
           ") overlap");
  }
  for (size_t i = 0; i < tensors_.size(); ++i) index_[tensors_[i].name] = i;
}

// ---------------------------------------------------------------------------------------------
// Checkpoint

Checkpoint::Checkpoint(const std::string& dir) : dir_(dir) {
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0)
    throw SafetensorsError("checkpoint directory '" + dir + "' does not exist");
  if (!S_ISDIR(st.st_mode))
    throw SafetensorsError("checkpoint '" + dir + "' is not a directory (pass the directory that "
                           "holds model.safetensors)");
  const std::string index_path = join_path(dir, kIndexFile);
  const std::string single_path = join_path(dir, kSingleFile);
  if (is_regular_file(index_path)) {
    sharded_ = true;
    open_index(index_path);
  } else if (is_regular_file(single_path)) {
    files_.push_back(std::make_unique<SafetensorsFile>(single_path));
  } else {
    throw SafetensorsError("no " + std::string(kSingleFile) + " or " + kIndexFile + " in '" + dir +
                           "'");
  }
}

void Checkpoint::open_index(const std::string& index_path) {
  auto fail = [&](const std::string& what) {
    throw SafetensorsError("checkpoint index '" + index_path + "': " + what);
  };
  std::ifstream in(index_path, std::ios::binary);
  if (!in) fail("cannot be read");
  std::stringstream text;
  text << in.rdbuf();
  json index;
  try {
    index = json::parse(text.str());
  } catch (const json::exception& e) {
    fail(std::string("not valid JSON: ") + e.what());
  }
  if (!index.is_object()) fail(std::string("is ") + json_kind(index) + ", not a JSON object");
  if (!index.contains("weight_map")) fail("missing \"weight_map\"");
  const json& map = index["weight_map"];
  if (!map.is_object()) fail(std::string("\"weight_map\" is ") + json_kind(map) + ", not an object");

  std::unordered_map<std::string, const SafetensorsFile*> shards;
  for (auto it = map.begin(); it != map.end(); ++it) {
    const std::string& tensor = it.key();
    if (!it.value().is_string())
      fail("weight_map entry '" + tensor + "' is " + json_kind(it.value()) +
           ", not a string naming a shard file");
    const std::string shard = it.value().get<std::string>();
    if (shard.empty() || shard.front() == '/')
      fail("weight_map entry '" + tensor + "' names shard '" + shard +
           "'; shards are files relative to the checkpoint directory");
    auto found = shards.find(shard);
    if (found == shards.end()) {
      const std::string shard_path = join_path(dir_, shard);
      if (!is_regular_file(shard_path))
        fail("weight_map puts '" + tensor + "' in shard '" + shard + "', which is missing from '" +
             dir_ + "'");
      files_.push_back(std::make_unique<SafetensorsFile>(shard_path));
      found = shards.emplace(shard, files_.back().get()).first;
    }
    if (!found->second->find(tensor))
      fail("weight_map puts '" + tensor + "' in shard '" + shard + "', but that shard has no tensor '" +
           tensor + "'");
    weight_map_[tensor] = found->second;
  }
}

Checkpoint::Entry Checkpoint::find(const std::string& name) const {
  if (sharded_) {
    auto it = weight_map_.find(name);
    if (it == weight_map_.end()) return {};
    return {it->second, it->second->find(name)};
  }
  const TensorInfo* t = files_[0]->find(name);
  return t ? Entry{files_[0].get(), t} : Entry{};
}

std::string Checkpoint::looked_in(const std::string& name) const {
  if (!sharded_) return kSingleFile;
  auto it = weight_map_.find(name);
  if (it == weight_map_.end())
    return std::string(kIndexFile) + ", whose weight_map does not list it";
  return it->second->path();
}

}  // namespace llc
