// utf8.cpp - UTF-8 validation, iteration, White_Space and lossy decoding (see utf8.h).
#include "runtime/utf8.h"

namespace llc::tok {
namespace {

constexpr const char* kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// The accepted range of the second byte of a sequence led by `lead` (Unicode Table 3-7).
void second_byte_range(unsigned char lead, unsigned char& lo, unsigned char& hi) {
  lo = 0x80;
  hi = 0xBF;
  if (lead == 0xE0) lo = 0xA0;
  if (lead == 0xED) hi = 0x9F;
  if (lead == 0xF0) lo = 0x90;
  if (lead == 0xF4) hi = 0x8F;
}

// Total sequence length for a valid lead byte, 0 for a byte that cannot start one.
int sequence_length(unsigned char lead) {
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) return 2;
  if (lead >= 0xE0 && lead <= 0xEF) return 3;
  if (lead >= 0xF0 && lead <= 0xF4) return 4;
  return 0;
}

}  // namespace

size_t utf8_find_invalid(std::string_view s) {
  size_t i = 0;
  const size_t n = s.size();
  while (i < n) {
    unsigned char lead = static_cast<unsigned char>(s[i]);
    if (lead < 0x80) {
      ++i;
      continue;
    }
    int len = sequence_length(lead);
    if (len == 0 || i + len > n) return i;
    unsigned char lo, hi;
    second_byte_range(lead, lo, hi);
    unsigned char b1 = static_cast<unsigned char>(s[i + 1]);
    if (b1 < lo || b1 > hi) return i;
    for (int k = 2; k < len; ++k) {
      unsigned char b = static_cast<unsigned char>(s[i + k]);
      if (b < 0x80 || b > 0xBF) return i;
    }
    i += len;
  }
  return std::string_view::npos;
}

uint32_t utf8_next(std::string_view s, size_t& i) {
  unsigned char lead = static_cast<unsigned char>(s[i]);
  size_t len = utf8_char_len(lead);
  uint32_t cp = len == 1 ? lead : len == 2 ? (lead & 0x1F) : len == 3 ? (lead & 0x0F) : (lead & 0x07);
  for (size_t k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
  i += len;
  return cp;
}

void utf8_append(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

bool is_unicode_whitespace(uint32_t cp) {
  // PropList.txt White_Space (stable since Unicode 6.3).
  return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F ||
         cp == 0x205F || cp == 0x3000;
}

void Utf8LossyDecoder::push_byte(unsigned char b, std::string& out) {
  if (pending_len_ == 0) {
    int len = sequence_length(b);
    if (len == 1) {
      out.push_back(static_cast<char>(b));
    } else if (len == 0) {
      out += kReplacement;
    } else {
      pending_[0] = b;
      pending_len_ = 1;
      needed_ = len;
    }
    return;
  }
  unsigned char lo = 0x80, hi = 0xBF;
  if (pending_len_ == 1) second_byte_range(pending_[0], lo, hi);
  if (b >= lo && b <= hi) {
    pending_[pending_len_++] = b;
    if (pending_len_ == needed_) {
      out.append(reinterpret_cast<const char*>(pending_), pending_len_);
      pending_len_ = 0;
    }
    return;
  }
  // The pending bytes are a maximal invalid subpart: one U+FFFD, then `b` starts afresh.
  out += kReplacement;
  pending_len_ = 0;
  push_byte(b, out);
}

void Utf8LossyDecoder::push(std::string_view bytes, std::string& out) {
  for (char c : bytes) push_byte(static_cast<unsigned char>(c), out);
}

void Utf8LossyDecoder::finish(std::string& out) {
  if (pending_len_ > 0) out += kReplacement;
  pending_len_ = 0;
}

std::string utf8_lossy(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  Utf8LossyDecoder d;
  d.push(bytes, out);
  d.finish(out);
  return out;
}

}  // namespace llc::tok
