// version.h - the llc-llama version, shared by the compiler and the programs it makes.
#pragma once

namespace llc {
inline constexpr const char* kVersion = "0.1.0";
}  // namespace llc
