// unicode_normalize.h - Unicode canonical normal forms (NFC, NFD) for the NFC normalizer that
// Qwen2's tokenizer.json uses, with tables generated from the Unicode Character Database by
// scripts/gen-unicode-tables.py (runtime/unicode_tables.inc).
//
// The compatibility forms (NFKC, NFKD) are not built in (the normalizer factory rejects them
// by name). Input must be valid UTF-8; output is valid UTF-8.
#pragma once

#include <string>
#include <string_view>

namespace llc::tok {

enum class NormalForm { kNFC, kNFD };

std::string unicode_normalize(std::string_view text, NormalForm form);

}  // namespace llc::tok
