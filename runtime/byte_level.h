// byte_level.h - the byte-level alphabet of GPT-2 style BPE (Llama 3, Qwen2): every byte is
// written as one printable Unicode character, so any byte string is a string of vocabulary
// symbols.
//
// The table is GPT-2's bytes_to_unicode: the printable bytes '!'..'~', 0xA1..0xAC and
// 0xAE..0xFF stand for themselves; the other 68 bytes map, in byte order, to U+0100.. U+0143.
// It is a bijection; the decoder inverts it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace llc::tok {

// Code point standing for byte `b`.
uint32_t byte_to_unicode(uint8_t b);

// Byte a code point stands for, or -1 when it is not in the alphabet.
int unicode_to_byte(uint32_t cp);

// Appends the byte-level form of `bytes` (each byte as its character) to `out`.
void byte_level_encode(std::string_view bytes, std::string& out);

// The bytes a decoded token stands for, as HF's ByteLevel decoder computes them: when every
// character of `token` is in the alphabet, the bytes they stand for; otherwise (an added token
// such as "<|eot_id|>" written with other characters) the token's own UTF-8 bytes.
void byte_level_decode_token(std::string_view token, std::string& out);

// The GPT-2 split regex ByteLevel uses when `use_regex` is true.
extern const char* const kByteLevelRegex;

}  // namespace llc::tok
