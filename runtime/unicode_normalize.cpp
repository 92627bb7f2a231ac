// unicode_normalize.cpp - NFD and NFC (UAX #15): full canonical decomposition, canonical
// ordering of combining marks, then canonical composition for NFC. Hangul syllables are
// decomposed and composed arithmetically; everything else comes from unicode_tables.inc.
// Text made only of ASCII is returned as it is (it is in every normal form).
#include "runtime/unicode_normalize.h"

#include <algorithm>
#include <cstdint>
#include <unordered_map>
#include <vector>

#include "runtime/utf8.h"

namespace llc::tok {
namespace {

#include "runtime/unicode_tables.inc"

constexpr uint32_t kComposable = 0x80000000u;
constexpr uint32_t kSBase = 0xAC00, kLBase = 0x1100, kVBase = 0x1161, kTBase = 0x11A7;
constexpr uint32_t kLCount = 19, kVCount = 21, kTCount = 28, kNCount = kVCount * kTCount, kSCount = kLCount * kNCount;

int combining_class(uint32_t cp) {
  if (cp < 0x300) return 0;
  const auto* end = kCombiningClasses + sizeof(kCombiningClasses) / sizeof(kCombiningClasses[0]);
  const auto* it = std::upper_bound(kCombiningClasses, end, cp,
                                    [](uint32_t c, const uint32_t(&r)[3]) { return c < r[0]; });
  if (it == kCombiningClasses) return 0;
  --it;
  return cp <= (*it)[1] ? static_cast<int>((*it)[2]) : 0;
}

const uint32_t* find_decomposition(uint32_t cp) {
  const auto* end = kCanonicalDecompositions + sizeof(kCanonicalDecompositions) / sizeof(kCanonicalDecompositions[0]);
  const auto* it = std::lower_bound(kCanonicalDecompositions, end, cp,
                                    [](const uint32_t(&r)[3], uint32_t c) { return r[0] < c; });
  return it != end && (*it)[0] == cp ? *it : nullptr;
}

void decompose(uint32_t cp, std::vector<uint32_t>& out) {
  if (cp >= kSBase && cp < kSBase + kSCount) {
    uint32_t s = cp - kSBase;
    out.push_back(kLBase + s / kNCount);
    out.push_back(kVBase + (s % kNCount) / kTCount);
    if (s % kTCount != 0) out.push_back(kTBase + s % kTCount);
    return;
  }
  const uint32_t* d = find_decomposition(cp);
  if (d == nullptr) {
    out.push_back(cp);
    return;
  }
  decompose(d[1], out);
  uint32_t second = d[2] & ~kComposable;
  if (second != 0) decompose(second, out);
}

const std::unordered_map<uint64_t, uint32_t>& composition_map() {
  static const std::unordered_map<uint64_t, uint32_t> map = [] {
    std::unordered_map<uint64_t, uint32_t> m;
    for (const auto& d : kCanonicalDecompositions)
      if (d[2] & kComposable) m.emplace((static_cast<uint64_t>(d[1]) << 32) | (d[2] & ~kComposable), d[0]);
    return m;
  }();
  return map;
}

// The primary composite of `a` followed by `b`, or 0.
uint32_t compose(uint32_t a, uint32_t b) {
  if (a >= kLBase && a < kLBase + kLCount && b >= kVBase && b < kVBase + kVCount)
    return kSBase + ((a - kLBase) * kVCount + (b - kVBase)) * kTCount;
  if (a >= kSBase && a < kSBase + kSCount && (a - kSBase) % kTCount == 0 && b > kTBase && b < kTBase + kTCount)
    return a + (b - kTBase);
  auto it = composition_map().find((static_cast<uint64_t>(a) << 32) | b);
  return it == composition_map().end() ? 0 : it->second;
}

}  // namespace

std::string unicode_normalize(std::string_view text, NormalForm form) {
  bool ascii = std::all_of(text.begin(), text.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
  if (ascii) return std::string(text);

  // 1. Full canonical decomposition.
  std::vector<uint32_t> cps;
  cps.reserve(text.size());
  for (size_t i = 0; i < text.size();) decompose(utf8_next(text, i), cps);

  // 2. Canonical ordering: a stable sort of each run of non-starters by combining class.
  std::vector<int> classes(cps.size());
  for (size_t i = 0; i < cps.size(); ++i) classes[i] = combining_class(cps[i]);
  for (size_t i = 1; i < cps.size(); ++i) {
    for (size_t j = i; j > 0 && classes[j] != 0 && classes[j - 1] > classes[j]; --j) {
      std::swap(cps[j], cps[j - 1]);
      std::swap(classes[j], classes[j - 1]);
    }
  }

  // 3. Canonical composition (NFC): a character joins the last starter unless blocked.
  if (form == NormalForm::kNFC && !cps.empty()) {
    size_t n = 0;
    long starter = -1;
    int last_class = -1;  // class of the last character kept after the starter; -1: adjacent
    for (size_t i = 0; i < cps.size(); ++i) {
      int cc = classes[i];
      if (starter >= 0 && (last_class == -1 || last_class < cc)) {
        if (uint32_t c = compose(cps[starter], cps[i])) {
          cps[starter] = c;
          continue;
        }
      }
      if (cc == 0) {
        starter = static_cast<long>(n);
        last_class = -1;
      } else {
        last_class = cc;
      }
      cps[n++] = cps[i];
    }
    cps.resize(n);
  }

  std::string out;
  out.reserve(text.size());
  for (uint32_t cp : cps) utf8_append(out, cp);
  return out;
}

}  // namespace llc::tok
