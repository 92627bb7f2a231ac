// stop_matcher.h - stop strings over streamed text that arrives in arbitrary pieces.
//
// feed() appends a piece of decoded text. Text is released (appended to `out`) only once it can
// no longer be the start of a stop string, so a stop string split across tokens is still caught
// and never printed. When a stop string is found, everything before its first occurrence is
// released, the stop string and anything after it are dropped, and feed() returns true; the
// matcher then ignores further input. finish() releases the text still held back.
// Invariant: released text + held text == everything fed (until a stop is found).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace llc {

class StopMatcher {
 public:
  // Empty stop strings are rejected (std::invalid_argument): they would match everywhere.
  explicit StopMatcher(std::vector<std::string> stops);

  bool feed(std::string_view piece, std::string& out);
  void finish(std::string& out);
  bool stopped() const { return stopped_; }
  const std::string& matched() const { return matched_; }  // the stop string found, if any

 private:
  std::vector<std::string> stops_;
  std::string held_;  // tail that may still begin a stop string
  std::string matched_;
  bool stopped_ = false;
};

}  // namespace llc
