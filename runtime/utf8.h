// utf8.h - the UTF-8 helpers the tokenizer needs: validation, code point iteration,
// Unicode White_Space, and lossy decoding of arbitrary bytes.
//
// Lossy decoding replaces each maximal invalid subpart with one U+FFFD, exactly as Rust's
// String::from_utf8_lossy (and Python's bytes.decode("utf-8", "replace")) do, so decoded
// text matches Hugging Face `tokenizers` byte for byte. Utf8LossyDecoder does the same
// incrementally: feeding bytes in any chunking gives the same text as one call.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace llc::tok {

// Byte offset of the first invalid UTF-8 sequence in `s`, or npos when `s` is valid.
size_t utf8_find_invalid(std::string_view s);

// Length in bytes of the character starting at `s[i]` (s must be valid UTF-8).
inline size_t utf8_char_len(unsigned char lead) {
  return lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
}

// Decodes the character at `s[i]` (valid UTF-8) and advances `i` past it.
uint32_t utf8_next(std::string_view s, size_t& i);

void utf8_append(std::string& out, uint32_t cp);

// Unicode White_Space (Rust's char::is_whitespace, Oniguruma's Unicode \s).
bool is_unicode_whitespace(uint32_t cp);

// Incremental lossy UTF-8 decoding; see the file comment.
class Utf8LossyDecoder {
 public:
  // Appends the text of every character completed by `bytes` to `out`; a trailing
  // incomplete (but so far valid) sequence is kept for the next call.
  void push(std::string_view bytes, std::string& out);
  // Ends the input: a pending incomplete sequence becomes one U+FFFD.
  void finish(std::string& out);
  bool pending() const { return pending_len_ > 0; }

 private:
  void push_byte(unsigned char b, std::string& out);
  unsigned char pending_[4] = {0, 0, 0, 0};
  int pending_len_ = 0;
  int needed_ = 0;  // total length of the pending sequence
};

std::string utf8_lossy(std::string_view bytes);

}  // namespace llc::tok
