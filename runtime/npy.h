// npy.h - a tiny writer of 2-D float32 .npy files (NumPy format version 1.0).
//
// Layout: "\x93NUMPY", version 1.0, a little-endian uint16 header length, then the header dict
// "{'descr': '<f4', 'fortran_order': False, 'shape': (R, C), }" padded with spaces and a final
// '\n' so that the data starts at a multiple of 64 bytes, then R*C little-endian float32 values
// in row-major order. The row count is declared up front; close() checks that exactly that many
// rows were written. Errors (std::runtime_error) name the file.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

namespace llc {

// The complete header (magic .. padding '\n') for a [rows, cols] float32 array.
std::string npy_header_f32(int64_t rows, int64_t cols);

class NpyWriter {
 public:
  NpyWriter(const std::string& path, int64_t rows, int64_t cols);
  ~NpyWriter();
  NpyWriter(const NpyWriter&) = delete;
  NpyWriter& operator=(const NpyWriter&) = delete;

  void append_rows(const float* data, int64_t n_rows);  // n_rows * cols values
  void close();                                         // throws unless every row was written

 private:
  std::string path_;
  int64_t rows_, cols_, written_ = 0;
  std::FILE* f_ = nullptr;
};

// One call: writes data[rows * cols].
void write_npy_f32(const std::string& path, const float* data, int64_t rows, int64_t cols);

}  // namespace llc
