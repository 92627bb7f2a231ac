//===- ResourceReport.cpp - what the compiled program costs, kernel by kernel ---===//
//
// ptxas -v prints, per entry function:
//   ptxas info    : Compiling entry function '_Z...' for 'sm_90'
//   ptxas info    : Function properties for _Z...
//       0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
//   ptxas info    : Used 64 registers, used 1 barriers, 4096 bytes smem
// ("Function properties" also appears for non-entry device functions; only entries count).
//
//===--------------------------------------------------------------------------===//

#include "compiler/ResourceReport.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Demangle/Demangle.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/Regex.h"
#include "llvm/Support/raw_ostream.h"

using namespace llvm;

namespace llc {

namespace {

int toInt(StringRef s) {
  int v = 0;
  s.getAsInteger(10, v);
  return v;
}

// "void gemv_kernel<4096, 1, float>(float*, int, ...)" -> "gemv_kernel<4096, 1, float>".
std::string readableName(StringRef mangled) {
  std::string full = demangle(mangled.str());
  StringRef s(full);
  if (s.consume_front("void "))
    s = s.ltrim();
  int depth = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '<')
      ++depth;
    else if (s[i] == '>')
      --depth;
    else if (s[i] == '(' && depth == 0)
      return s.take_front(i).str();
  }
  return s.str();
}

std::string mib(long long bytes) { return formatv("{0:f2} MiB", bytes / 1048576.0).str(); }

} // namespace

Expected<std::vector<KernelResources>> parsePtxasInfo(StringRef log) {
  Regex entry("Compiling entry function '([^']+)'");
  Regex properties("Function properties for ([^ ]+)$");
  Regex frame("([0-9]+) bytes stack frame, ([0-9]+) bytes spill stores, ([0-9]+) bytes spill loads");
  Regex used("Used ([0-9]+) registers");
  Regex smem("([0-9]+) bytes smem");
  std::vector<KernelResources> kernels;
  std::map<std::string, size_t> index;  // mangled entry name -> kernels[i]
  std::string current, propertiesOf;
  SmallVector<StringRef, 4> m;
  SmallVector<StringRef, 0> lines;
  log.split(lines, '\n');
  for (StringRef line : lines) {
    line = line.rtrim();
    if (entry.match(line, &m)) {
      current = m[1].str();
      if (!index.count(current)) {
        index[current] = kernels.size();
        kernels.push_back(KernelResources{readableName(current)});
      }
    } else if (properties.match(line, &m)) {
      propertiesOf = m[1].str();
    } else if (frame.match(line, &m)) {
      if (auto it = index.find(propertiesOf); it != index.end()) {
        KernelResources &k = kernels[it->second];
        k.stackBytes = toInt(m[1]);
        k.spillStoreBytes = toInt(m[2]);
        k.spillLoadBytes = toInt(m[3]);
      }
      propertiesOf.clear();
    } else if (used.match(line, &m) && index.count(current)) {
      KernelResources &k = kernels[index[current]];
      k.registers = toInt(m[1]);
      if (smem.match(line, &m))
        k.sharedBytes = toInt(m[1]);
    }
  }
  if (kernels.empty())
    return createStringError(inconvertibleErrorCode(),
                             "nvcc printed no ptxas entry-function report (-Xptxas -v)");
  return kernels;
}

std::map<std::string, int> launcherCalls(StringRef source, StringRef function) {
  std::map<std::string, int> calls;
  size_t begin = source.find(("static void " + function + "(").str());
  if (begin == StringRef::npos)
    return calls;
  // The body ends at the first line that is exactly "}".
  size_t end = source.find("\n}\n", begin);
  StringRef body = source.slice(begin, end == StringRef::npos ? source.size() : end);
  body = body.drop_front(body.find('{') + 1);
  Regex launcher("([A-Za-z_][A-Za-z0-9_]*_forward)[ ]*[<(]");
  SmallVector<StringRef, 0> lines;
  body.split(lines, '\n');
  SmallVector<StringRef, 2> m;
  for (StringRef line : lines) {
    StringRef code = line.split("//").first;
    bool gemm = code.contains("args.gemm->");
    if (launcher.match(code, &m))
      ++calls[gemm ? m[1].str() + "|cublaslt_gemm" : m[1].str()];  // "if (few rows) ... else gemm"
    else if (gemm)
      ++calls["cublaslt_gemm"];
  }
  return calls;
}

std::map<std::string, long long> byteConstants(StringRef source) {
  std::map<std::string, long long> out;
  Regex constant("constexpr size_t (k[A-Za-z0-9]*Bytes) = ([0-9]+);");
  SmallVector<StringRef, 0> lines;
  source.split(lines, '\n');
  SmallVector<StringRef, 3> m;
  for (StringRef line : lines)
    if (constant.match(line, &m)) {
      long long v = 0;
      m[2].getAsInteger(10, v);
      out[m[1].str()] = v;
    }
  return out;
}

std::string formatResourceReport(const ResourceReport &r) {
  std::string text;
  raw_string_ostream os(text);
  os << "resource report (" << r.arch << ")\n";
  for (const auto &[step, calls] : r.launches) {
    int total = 0;
    for (const auto &[name, n] : calls)
      total += n;
    os << "  " << step << ": " << total << " launcher calls:";
    for (const auto &[name, n] : calls)
      os << " " << name << " x" << n;
    os << "\n";
  }
  for (const auto &[name, bytes] : r.bytes)
    os << "  " << name << " = " << bytes << " (" << mib(bytes) << ")\n";
  os << formatv("  {0,-72} {1,5} {2,9} {3,6} {4,13}\n", "kernel", "regs", "smem B", "stack",
                "spill st/ld");
  std::vector<const KernelResources *> spilling;
  for (const KernelResources &k : r.kernels) {
    os << formatv("  {0,-72} {1,5} {2,9} {3,6} {4,13}\n", k.name, k.registers, k.sharedBytes,
                  k.stackBytes, formatv("{0}/{1}", k.spillStoreBytes, k.spillLoadBytes).str());
    if (k.spillStoreBytes > 0 || k.spillLoadBytes > 0)
      spilling.push_back(&k);
  }
  os << "  " << r.kernels.size() << " kernels; spills: ";
  if (spilling.empty())
    os << "none\n";
  else
    os << join(map_range(spilling, [](const KernelResources *k) { return k->name; }), ", ") << "\n";
  return text;
}

std::string resourceReportJson(const ResourceReport &r) {
  json::Object steps;
  for (const auto &[step, calls] : r.launches) {
    json::Object c;
    for (const auto &[name, n] : calls)
      c[name] = n;
    steps[step] = std::move(c);
  }
  json::Object bytes;
  for (const auto &[name, v] : r.bytes)
    bytes[name] = v;
  json::Array kernels;
  for (const KernelResources &k : r.kernels)
    kernels.push_back(json::Object{{"name", k.name},
                                   {"registers", k.registers},
                                   {"shared_bytes", k.sharedBytes},
                                   {"stack_bytes", k.stackBytes},
                                   {"spill_store_bytes", k.spillStoreBytes},
                                   {"spill_load_bytes", k.spillLoadBytes}});
  json::Object root{{"arch", r.arch},
                    {"launcher_calls", std::move(steps)},
                    {"bytes", std::move(bytes)},
                    {"kernels", std::move(kernels)}};
  std::string text;
  raw_string_ostream os(text);
  os << formatv("{0:2}", json::Value(std::move(root))) << "\n";
  return text;
}

} // namespace llc
