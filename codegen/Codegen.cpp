//===- Codegen.cpp - optimised `llama` IR -> model.cu --------------------------===//
//
// 1. Plan the arena of @prefill (max_prefill_tokens rows) and @decode (max_batch rows).
// 2. Emit both functions (this also collects the weight table, rope tables and the
//    flash-decoding workspace).
// 3. Emit the constants and the llc::ModelSpec, and fill the skeleton's sections.
//
//===--------------------------------------------------------------------------===//

#include "codegen/Codegen.h"
#include "codegen/EmitContext.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

#include <fmt/format.h>

using namespace mlir;
using namespace llc::llama;

namespace llc {

namespace {

llvm::Error fail(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

/// The module attributes the frontend sets (compile options and model facts).
struct ModuleFacts {
  llvm::StringRef architecture, configPath, dtype;
  int64_t maxBatch = 0, maxContext = 0, maxPrefill = 0, bos = -1;
  llvm::ArrayRef<int64_t> buckets, eos;
};

llvm::Expected<ModuleFacts> readModuleFacts(ModuleOp module) {
  ModuleFacts facts;
  auto missing = [](llvm::StringRef name) {
    return fail("the module has no valid llama." + name +
                " attribute (it is set by the llc-llama frontend)");
  };
  auto str = [&](llvm::StringRef name, llvm::StringRef &out) {
    auto a = module->getAttrOfType<StringAttr>(("llama." + name).str());
    if (a)
      out = a.getValue();
    return static_cast<bool>(a);
  };
  auto integer = [&](llvm::StringRef name, int64_t &out) {
    auto a = module->getAttrOfType<IntegerAttr>(("llama." + name).str());
    if (a)
      out = a.getInt();
    return static_cast<bool>(a);
  };
  auto list = [&](llvm::StringRef name, llvm::ArrayRef<int64_t> &out) {
    auto a = module->getAttrOfType<DenseI64ArrayAttr>(("llama." + name).str());
    if (a)
      out = a.asArrayRef();
    return static_cast<bool>(a);
  };
  if (!str("architecture", facts.architecture))
    return missing("architecture");
  if (!str("config_path", facts.configPath))
    return missing("config_path");
  if (!str("dtype", facts.dtype))
    return missing("dtype");
  if (!integer("max_batch", facts.maxBatch))
    return missing("max_batch");
  if (!integer("max_context", facts.maxContext))
    return missing("max_context");
  if (!integer("max_prefill_tokens", facts.maxPrefill))
    return missing("max_prefill_tokens");
  if (!integer("bos_token_id", facts.bos))
    return missing("bos_token_id");
  if (!list("graph_buckets", facts.buckets) || facts.buckets.empty())
    return missing("graph_buckets");
  if (!list("eos_token_ids", facts.eos))
    return missing("eos_token_ids");
  return facts;
}

std::string cString(llvm::StringRef s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\')
      out += '\\';
    if (static_cast<unsigned char>(c) < 0x20)
      out += fmt::format("\\x{:02x}", static_cast<unsigned char>(c));
    else
      out += c;
  }
  return out + "\"";
}

template <typename Range> std::string joinInts(const Range &values) {
  std::string out;
  for (auto v : values)
    out += (out.empty() ? "" : ", ") + std::to_string(v);
  return out;
}

/// The model's sizes, read off @prefill's ops.
struct Shapes {
  int64_t layers = 0, hidden = 0, heads = 0, kvHeads = 0, headDim = 0, intermediate = 0,
          vocab = 0;
  std::string attention;
  bool flashDecoding = false;  // @decode's attention is flash-decoding (it has a short-kv path)
};

Shapes readShapes(func::FuncOp func, llvm::StringRef step, Shapes shapes) {
  func.walk([&](Operation *op) {
    if (auto e = dyn_cast<EmbeddingOp>(op))
      shapes.hidden = cast<RankedTensorType>(e.getType()).getDimSize(1);
    if (isa<KVStoreOp, RopeKVStoreOp, RopeKVStoreLinearOp>(op) && step == "prefill")
      ++shapes.layers;
    if (auto s = dyn_cast<SiluMulOp>(op))
      shapes.intermediate = cast<RankedTensorType>(s.getType()).getDimSize(1);
    if (auto g = dyn_cast<SwigluLinearOp>(op))
      shapes.intermediate = cast<RankedTensorType>(g.getType()).getDimSize(1);
    if (auto h = dyn_cast<LMHeadOp>(op))
      shapes.vocab = cast<RankedTensorType>(h.getType()).getDimSize(1);
    if (auto a = dyn_cast<AttentionOp>(op)) {
      auto view = cast<KVViewType>(a.getKCache().getType());
      shapes.headDim = view.getHeadDim();
      shapes.kvHeads = view.getHeads();
      shapes.heads = cast<RankedTensorType>(a.getType()).getDimSize(1) / view.getHeadDim();
      std::string kernel = a.getKernel().value_or("none").str();
      if (a.getKvSplits())
        kernel += fmt::format("(kv_splits={})", *a.getKvSplits());
      if (a.getBlockQ())
        kernel += fmt::format("(block_q={},block_kv={})", *a.getBlockQ(), *a.getBlockKv());
      if (step == "decode" && a.getKernel() == "flash_decoding")
        shapes.flashDecoding = true;
      std::string entry = step.str() + "=" + kernel;
      if (shapes.attention.find(entry) == std::string::npos)
        shapes.attention += (shapes.attention.empty() ? "" : " ") + entry;
    }
  });
  return shapes;
}

std::string emitSpec(const ProgramContext &program, const Shapes &shapes,
                     const ModuleFacts &facts) {
  std::string out;
  const auto &entries = program.weights.entries();
  for (size_t i = 0; i < entries.size(); ++i) {
    out += fmt::format("static const llc::WeightSource kSources{}[] = {{", i);
    for (size_t s = 0; s < entries[i].sources.size(); ++s)
      out += fmt::format("{}{{{}, {}}}", s ? ", " : "", cString(entries[i].sources[s]),
                         entries[i].sourceRows[s]);
    out += "};\n";
  }
  out += "static const llc::WeightSpec kWeights[] = {\n";
  for (size_t i = 0; i < entries.size(); ++i)
    out += fmt::format("    {{{}, {}, {}, {}, kSources{}, {}}},\n", entries[i].rank, entries[i].rows,
                       entries[i].cols, entries[i].sources.size(), i, entries[i].columnScale);
  out += "};\n";
  out += fmt::format("static const int kEosTokenIds[] = {{{}}};\n",
                     facts.eos.empty() ? "-1" : joinInts(facts.eos));
  out += fmt::format("static const int kGraphBuckets[] = {{{}}};\n", joinInts(facts.buckets));
  out += "static const llc::ModelSpec kSpec = {\n";
  out += fmt::format("    {}, {},\n", cString(facts.architecture), cString(facts.configPath));
  out += fmt::format("    {},\n", facts.dtype == "fp16" ? "llc::DType::fp16" : "llc::DType::bf16");
  out += fmt::format("    /*n_layers=*/{}, /*hidden=*/{}, /*n_heads=*/{}, /*n_kv_heads=*/{}, "
                     "/*head_dim=*/{}, /*intermediate=*/{}, /*vocab=*/{},\n",
                     shapes.layers, shapes.hidden, shapes.heads, shapes.kvHeads, shapes.headDim,
                     shapes.intermediate, shapes.vocab);
  out += "    kMaxBatch, kMaxContext, kMaxPrefillTokens,\n";
  out += fmt::format("    /*bos_token_id=*/{}, /*n_eos=*/{}, kEosTokenIds,\n", facts.bos,
                     facts.eos.size());
  out += fmt::format("    /*n_graph_buckets=*/{}, kGraphBuckets,\n", facts.buckets.size());
  out += fmt::format("    /*n_weights=*/{}, kWeights,\n", entries.size());
  out += "    kArenaBytes,\n";
  out += fmt::format("    {},\n", cString(shapes.attention));
  out += fmt::format("    /*decode_short_kv_len=*/{},\n",
                     shapes.flashDecoding ? "flash_decoding::SHORT_ROWS" : "0");
  out += "};\n";
  return out;
}

} // namespace

llvm::Expected<std::string> generateModelSource(ModuleOp module, llvm::StringRef skeleton) {
  llvm::Expected<ModuleFacts> facts = readModuleFacts(module);
  if (!facts)
    return facts.takeError();

  auto prefill = module.lookupSymbol<func::FuncOp>("prefill");
  auto decode = module.lookupSymbol<func::FuncOp>("decode");
  if (!prefill || !decode)
    return fail("the module needs func.func @prefill and @decode");

  ProgramContext program;
  program.maxContext = facts->maxContext;
  std::map<std::string, std::string> sections;
  size_t planned[2] = {0, 0};
  int index = 0;
  for (auto [func, rows] : {std::pair{prefill, facts->maxPrefill},
                            std::pair{decode, facts->maxBatch}}) {
    BufferPlan plan = planBuffers(func, rows);
    planned[index++] = plan.bytes;
    FunctionEmitter emitter(func, plan, program);
    llvm::Expected<std::string> text = emitter.emit();
    if (!text)
      return text.takeError();
    sections[func.getSymName().str()] = *text;
  }

  Shapes shapes = readShapes(prefill, "prefill", {});
  shapes = readShapes(decode, "decode", shapes);
  if (!shapes.hidden || !shapes.vocab || !shapes.headDim || !shapes.intermediate)
    return fail("the model graph lacks an embedding, attention, silu_mul or lm_head");

  bool fp16 = facts->dtype == "fp16";
  sections["dtype"] = fp16 ? "#define LLC_DTYPE_FP16 1\n"
                           : "// bf16: floatX is __nv_bfloat16 (LLC_DTYPE_FP16 not defined)\n";

  std::string constants;
  constants += fmt::format("constexpr llc::DType kDType = {};\n",
                           fp16 ? "llc::DType::fp16" : "llc::DType::bf16");
  constants += fmt::format("constexpr int kVocab = {};\n", shapes.vocab);
  constants += fmt::format("constexpr int kMaxBatch = {};\n", facts->maxBatch);
  constants += fmt::format("constexpr int kMaxContext = {};\n", facts->maxContext);
  constants += fmt::format("constexpr int kMaxPrefillTokens = {};\n", facts->maxPrefill);
  constants += fmt::format("constexpr int kKVRowElements = {};  // kv heads x head_dim\n",
                           shapes.kvHeads * shapes.headDim);
  constants += fmt::format("constexpr size_t kPrefillArenaBytes = {};\n", planned[0]);
  constants += fmt::format("constexpr size_t kDecodeWorkspaceOffset = {};\n", planned[1]);
  std::string workspace = "0";
  for (const std::string &expr : program.decodeWorkspaceFloats)
    workspace = fmt::format("std::max<size_t>({}, {})", workspace, expr);
  constants += fmt::format("constexpr size_t kDecodeWorkspaceBytes = "
                           "({} * sizeof(float) + 255) / 256 * 256;\n",
                           workspace);
  constants += "constexpr size_t kDecodeArenaBytes = kDecodeWorkspaceOffset + "
               "kDecodeWorkspaceBytes;\n";
  constants += "constexpr size_t kArenaBytes = std::max(kPrefillArenaBytes, kDecodeArenaBytes);\n";
  constants += program.ropeDeclarations;
  sections["constants"] = constants;

  sections["spec"] = emitSpec(program, shapes, *facts);
  return fillSkeleton(skeleton, sections);
}

} // namespace llc
