// byte_level.cpp - GPT-2's byte <-> Unicode alphabet (see byte_level.h).
#include "runtime/byte_level.h"

#include <array>

#include "runtime/utf8.h"

namespace llc::tok {
namespace {

struct Tables {
  std::array<uint32_t, 256> to_unicode{};
  std::array<std::string, 256> utf8{};  // UTF-8 of to_unicode[b]
  std::array<int16_t, 0x144> to_byte{};  // code point (< 0x144) -> byte, -1 when none

  Tables() {
    to_byte.fill(-1);
    auto printable = [](int b) { return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE); };
    uint32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      uint32_t cp = printable(b) ? static_cast<uint32_t>(b) : next++;
      to_unicode[b] = cp;
      to_byte[cp] = static_cast<int16_t>(b);
      utf8_append(utf8[b], cp);
    }
  }
};

const Tables& tables() {
  static const Tables t;
  return t;
}

}  // namespace

const char* const kByteLevelRegex =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

uint32_t byte_to_unicode(uint8_t b) { return tables().to_unicode[b]; }

int unicode_to_byte(uint32_t cp) { return cp < tables().to_byte.size() ? tables().to_byte[cp] : -1; }

void byte_level_encode(std::string_view bytes, std::string& out) {
  const Tables& t = tables();
  for (char c : bytes) out += t.utf8[static_cast<uint8_t>(c)];
}

void byte_level_decode_token(std::string_view token, std::string& out) {
  const size_t start = out.size();
  for (size_t i = 0; i < token.size();) {
    int b = unicode_to_byte(utf8_next(token, i));
    if (b < 0) {
      out.resize(start);
      out += token;
      return;
    }
    out.push_back(static_cast<char>(b));
  }
}

}  // namespace llc::tok
