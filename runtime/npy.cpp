// npy.cpp - 2-D float32 .npy writer (see npy.h).
#include "runtime/npy.h"

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace llc {

namespace {
bool host_is_little_endian() {
  const uint16_t one = 1;
  unsigned char b;
  std::memcpy(&b, &one, 1);
  return b == 1;
}
}  // namespace

std::string npy_header_f32(int64_t rows, int64_t cols) {
  if (rows < 0 || cols < 0)
    throw std::invalid_argument("npy: negative shape (" + std::to_string(rows) + ", " +
                                std::to_string(cols) + ")");
  std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + std::to_string(rows) +
                     ", " + std::to_string(cols) + "), }";
  const size_t prefix = 10;  // magic (6) + version (2) + header length (2)
  size_t total = prefix + dict.size() + 1;  // + '\n'
  size_t padded = (total + 63) / 64 * 64;
  dict.append(padded - total, ' ');
  dict.push_back('\n');
  const size_t hlen = dict.size();
  std::string h = "\x93NUMPY";
  h.push_back('\x01');
  h.push_back('\x00');
  h.push_back(static_cast<char>(hlen & 0xff));
  h.push_back(static_cast<char>((hlen >> 8) & 0xff));
  return h + dict;
}

NpyWriter::NpyWriter(const std::string& path, int64_t rows, int64_t cols)
    : path_(path), rows_(rows), cols_(cols) {
  if (!host_is_little_endian()) throw std::runtime_error("npy: big-endian hosts are not supported");
  const std::string header = npy_header_f32(rows, cols);
  f_ = std::fopen(path.c_str(), "wb");
  if (!f_) throw std::runtime_error("cannot write " + path + ": " + std::strerror(errno));
  if (std::fwrite(header.data(), 1, header.size(), f_) != header.size())
    throw std::runtime_error("writing " + path + " failed: " + std::strerror(errno));
}

NpyWriter::~NpyWriter() {
  if (f_) std::fclose(f_);
}

void NpyWriter::append_rows(const float* data, int64_t n_rows) {
  if (!f_) throw std::logic_error("npy: " + path_ + " is closed");
  if (n_rows < 0 || written_ + n_rows > rows_)
    throw std::logic_error("npy: " + path_ + " declared " + std::to_string(rows_) +
                           " rows; writing " + std::to_string(n_rows) + " more after " +
                           std::to_string(written_));
  const size_t n = static_cast<size_t>(n_rows * cols_);
  if (n && std::fwrite(data, sizeof(float), n, f_) != n)
    throw std::runtime_error("writing " + path_ + " failed: " + std::strerror(errno));
  written_ += n_rows;
}

void NpyWriter::close() {
  if (!f_) return;
  std::FILE* f = f_;
  f_ = nullptr;
  const bool flushed = std::fclose(f) == 0;
  if (written_ != rows_)
    throw std::logic_error("npy: " + path_ + " declared " + std::to_string(rows_) + " rows, " +
                           std::to_string(written_) + " written");
  if (!flushed) throw std::runtime_error("closing " + path_ + " failed: " + std::strerror(errno));
}

void write_npy_f32(const std::string& path, const float* data, int64_t rows, int64_t cols) {
  NpyWriter w(path, rows, cols);
  w.append_rows(data, rows);
  w.close();
}

}  // namespace llc
