// safetensors_writer.h - test helpers: a scratch directory and writers of safetensors files
// (valid ones built from tensors, and raw ones from any header text, for malformed cases).
// Written from the format description (8-byte little-endian header length, JSON, data), not
// from the reader under test.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace llc_test {

// A fresh directory under the system temp dir, removed with everything in it on destruction.
class ScratchDir {
 public:
  ScratchDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "llc_test_XXXXXX").string();
    if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + path);
}

// The 8-byte little-endian length, then `header` verbatim, then `data`.
inline void write_raw_safetensors(const std::string& path, const std::string& header,
                                  const std::string& data = {}, uint64_t declared_len = UINT64_MAX) {
  uint64_t n = declared_len == UINT64_MAX ? header.size() : declared_len;
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  write_bytes(path, bytes + header + data);
}

struct TestTensor {
  std::string name;
  std::string dtype;            // "BF16", "F16", "F32", "I64", ...
  std::vector<int64_t> shape;
  std::string bytes;            // exactly the tensor's data
};

// A valid file: tensors laid out back to back in the order given, header padded with spaces to
// a multiple of 8 (as Hugging Face writes it).
inline void write_safetensors(const std::string& path, const std::vector<TestTensor>& tensors,
                              const nlohmann::json& metadata = nullptr) {
  nlohmann::json header = nlohmann::json::object();
  std::string data;
  for (const auto& t : tensors) {
    header[t.name] = {{"dtype", t.dtype},
                      {"shape", t.shape},
                      {"data_offsets", {data.size(), data.size() + t.bytes.size()}}};
    data += t.bytes;
  }
  if (!metadata.is_null()) header["__metadata__"] = metadata;
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  write_raw_safetensors(path, text, data);
}

// Element bytes of common dtypes, little-endian.
inline std::string f32_bytes(const std::vector<float>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));
}
inline std::string u16_bytes(const std::vector<uint16_t>& v) {
  std::string s;
  for (uint16_t x : v) {
    s += static_cast<char>(x & 0xff);
    s += static_cast<char>(x >> 8);
  }
  return s;
}
// n elements of `elem_bytes` each, byte i = (seed + i) mod 251 (distinct, recognisable patterns).
inline std::string pattern_bytes(size_t n, size_t elem_bytes, int seed) {
  std::string s(n * elem_bytes, '\0');
  for (size_t i = 0; i < s.size(); ++i) s[i] = static_cast<char>((seed + i) % 251);
  return s;
}

}  // namespace llc_test
