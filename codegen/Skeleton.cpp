//===- Skeleton.cpp - fill the marked sections of the program skeleton ---------===//
//
// The skeleton compiles as it is (its sections hold a small default model); codegen
// swaps each section's body for generated text, line-based, so no CUDA text is ever
// run through a formatter.
//
//===--------------------------------------------------------------------------===//

#include "codegen/Codegen.h"

#include "llvm/ADT/StringSet.h"

#include <set>

using namespace llvm;

namespace llc {

Expected<std::string> fillSkeleton(StringRef skeleton,
                                   const std::map<std::string, std::string> &sections) {
  auto fail = [](const Twine &m) { return createStringError(inconvertibleErrorCode(), m); };
  std::string out;
  std::set<std::string> seen;
  StringRef rest = skeleton;
  std::string open; // name of the section being replaced, "" outside one
  int lineNo = 0;
  while (!rest.empty()) {
    auto [line, tail] = rest.split('\n');
    rest = tail;
    ++lineNo;
    StringRef trimmed = line.trim();
    if (trimmed.consume_front("// LLC-BEGIN ")) {
      if (!open.empty())
        return fail("skeleton line " + Twine(lineNo) + ": section '" + trimmed +
                    "' opens inside '" + open + "'");
      open = trimmed.trim().str();
      auto it = sections.find(open);
      if (it == sections.end())
        return fail("skeleton line " + Twine(lineNo) + ": no generated text for section '" +
                    open + "'");
      if (!seen.insert(open).second)
        return fail("skeleton line " + Twine(lineNo) + ": section '" + open + "' appears twice");
      out += line.str() + "\n" + it->second;
      if (!it->second.empty() && it->second.back() != '\n')
        out += "\n";
      continue;
    }
    if (trimmed.consume_front("// LLC-END ")) {
      if (open != trimmed.trim())
        return fail("skeleton line " + Twine(lineNo) + ": '// LLC-END " + trimmed +
                    "' does not close the open section '" + open + "'");
      open.clear();
      out += line.str() + "\n";
      continue;
    }
    if (open.empty())
      out += line.str() + (rest.empty() && !skeleton.ends_with("\n") ? "" : "\n");
  }
  if (!open.empty())
    return fail("skeleton: section '" + open + "' is never closed");
  for (const auto &[name, text] : sections)
    if (!seen.count(name))
      return fail("skeleton has no section '" + name + "' for the generated text");
  return out;
}

} // namespace llc
