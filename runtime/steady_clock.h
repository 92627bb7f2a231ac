// steady_clock.h - wall-time intervals for the runtime's reports (weight loading, graph capture,
// start-up), on the monotonic clock.
#pragma once

#include <chrono>

namespace llc {

using SteadyClock = std::chrono::steady_clock;

// Seconds from t0 to now.
inline double seconds_since(SteadyClock::time_point t0) {
  return std::chrono::duration<double>(SteadyClock::now() - t0).count();
}

}  // namespace llc
