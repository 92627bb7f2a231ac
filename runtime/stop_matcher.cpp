// stop_matcher.cpp - stop strings across token boundaries (see stop_matcher.h).
#include "runtime/stop_matcher.h"

#include <algorithm>
#include <stdexcept>

namespace llc {

StopMatcher::StopMatcher(std::vector<std::string> stops) : stops_(std::move(stops)) {
  for (const std::string& s : stops_)
    if (s.empty()) throw std::invalid_argument("a stop string is empty");
}

bool StopMatcher::feed(std::string_view piece, std::string& out) {
  if (stopped_) return true;
  held_.append(piece.data(), piece.size());
  if (stops_.empty()) {
    out += held_;
    held_.clear();
    return false;
  }
  // Earliest occurrence of any stop string in the held text (held_ never contains a whole stop
  // string from earlier feeds, so searching all of it finds each occurrence once).
  size_t best = std::string::npos;
  const std::string* best_stop = nullptr;
  for (const std::string& s : stops_) {
    size_t p = held_.find(s);
    if (p != std::string::npos && (best == std::string::npos || p < best ||
                                   (p == best && s.size() < best_stop->size()))) {
      best = p;
      best_stop = &s;
    }
  }
  if (best != std::string::npos) {
    out.append(held_, 0, best);
    matched_ = *best_stop;
    held_.clear();
    stopped_ = true;
    return true;
  }
  // Hold back the longest suffix of held_ that is a proper prefix of some stop string.
  size_t keep = 0;
  for (const std::string& s : stops_) {
    size_t max_len = std::min(s.size() - 1, held_.size());
    for (size_t len = max_len; len > keep; --len) {
      if (held_.compare(held_.size() - len, len, s, 0, len) == 0) {
        keep = len;
        break;
      }
    }
  }
  out.append(held_, 0, held_.size() - keep);
  held_.erase(0, held_.size() - keep);
  return false;
}

void StopMatcher::finish(std::string& out) {
  if (stopped_) return;
  out += held_;
  held_.clear();
}

}  // namespace llc
