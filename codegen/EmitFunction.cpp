//===- EmitFunction.cpp - one `llama` function -> a C++ function of launches ---===//
//
// Walks @prefill or @decode in program order; each op becomes one launcher call of
// templates/kernels (or a GemmRunner call), with the model's shapes as template
// constants and pointers into the planned arena. Values with no buffer of their own
// are expressions: split results are column offsets into their input (same row
// stride), kv views are the layer's slice of the pool, metadata is `args.meta.*`.
//
//===--------------------------------------------------------------------------===//

#include "codegen/EmitContext.h"
#include "codegen/RopeFrequencies.h"

#include "mlir/IR/BuiltinAttributes.h"

#include <fmt/format.h>

using namespace mlir;
using namespace llc::llama;

namespace llc {

namespace {
int64_t featuresOf(Value v) { return cast<RankedTensorType>(v.getType()).getDimSize(1); }

/// One GEMV launch: `<entry><K, MAX_ROWS, OutT>(out, ld_out, x, ld_x, w, bias, n_rows, N, stream);`
/// with entry gemv_forward (decode steps, gemv.cuh), gemv_prefill_forward (gemv_prefill.cuh) or
/// prefill_wgmma_forward (prefill_wgmma.cuh).
std::string gemvCall(llvm::StringRef entry, int64_t k, const std::string &maxRows,
                     llvm::StringRef outType, const std::string &out, int64_t ldOut,
                     const std::string &x, int64_t ldX, const std::string &w,
                     const std::string &bias, llvm::StringRef nRows, int64_t n) {
  return fmt::format("{}<{}, {}, {}>({}, {}, {}, {}, {}, {}, {}, {}, stream);", entry.str(), k,
                     maxRows, outType.str(), out, ldOut, x, ldX, w, bias, nRows.str(), n);
}

/// A projection on cuBLASLt that short steps (at most gemvMaxRows rows) run on a GEMV instead
/// (short_kernel "gemv_prefill": gemv_prefill_forward, "wgmma": prefill_wgmma_forward, else
/// gemv_forward; all three take the same arguments):
/// `if (n_rows <= R) <gemv> else ` in front of the GEMM call, or nothing.
std::string shortStepGemv(
    std::optional<uint64_t> gemvMaxRows, std::optional<llvm::StringRef> shortKernel,
    llvm::StringRef nRows,
    llvm::function_ref<std::string(llvm::StringRef, const std::string &)> gemv) {
  if (!gemvMaxRows)
    return "";
  std::string rows = std::to_string(*gemvMaxRows);
  llvm::StringRef entry = shortKernel == "gemv_prefill" ? "gemv_prefill_forward"
                          : shortKernel == "wgmma"      ? "prefill_wgmma_forward"
                                                        : "gemv_forward";
  return fmt::format("if ({} <= {}) {} else ", nRows.str(), rows, gemv(entry, rows));
}

/// The name a NameLoc gives an op ("model.layers.3.mlp.down_proj"); for a fused op,
/// the common prefix of its parts' names and their suffixes
/// ("model.layers.3.self_attn.{q_proj,k_proj,v_proj}"); else the op's name.
std::string nameOf(Operation *op) {
  SmallVector<std::string> names;
  auto add = [&](Location loc) {
    if (auto name = dyn_cast<NameLoc>(loc))
      names.push_back(name.getName().str());
  };
  if (auto fused = dyn_cast<FusedLoc>(op->getLoc()))
    llvm::for_each(fused.getLocations(), add);
  else
    add(op->getLoc());
  if (names.empty())
    return op->getName().getStringRef().str();
  if (names.size() == 1)
    return names.front();
  size_t prefix = names.front().size();
  for (const std::string &n : names) {
    size_t i = 0;
    while (i < prefix && i < n.size() && n[i] == names.front()[i])
      ++i;
    prefix = i;
  }
  // Cut after the last '.' inside the common part ("model.layers.0.mlp.down_proj" and
  // "model.layers.0.mlp_residual" share "model.layers.0.", not "model.layers.0.mlp.").
  const size_t dot = prefix == 0 ? std::string::npos : names.front().rfind('.', prefix - 1);
  prefix = dot == std::string::npos ? 0 : dot + 1;
  std::string out = names.front().substr(0, prefix) + "{";
  for (size_t i = 0; i < names.size(); ++i)
    out += (i ? "," : "") + names[i].substr(prefix);
  return out + "}";
}

std::string hexFloat(float f) { return fmt::format("{:a}f", f); }

/// An eps as the generated code writes it: the exact float, then its decimal value.
std::string epsLiteral(const APFloat &eps) {
  float f = eps.convertToFloat();
  return fmt::format("{} /*{}*/", hexFloat(f), f);
}
} // namespace

void FunctionEmitter::line(const llvm::Twine &text, Operation *op) {
  body += "  " + text.str();
  if (op)
    body += "  // " + nameOf(op);
  body += "\n";
}

llvm::Error FunctionEmitter::unsupported(Operation *op, const llvm::Twine &why) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                 "@" + func.getSymName() + ": cannot emit code for '" +
                                     op->getName().getStringRef() + "' at " + nameOf(op) +
                                     ": " + why);
}

std::string FunctionEmitter::define(Value v) {
  std::string name = "t" + std::to_string(nextTensor++);
  auto it = plan.offsets.find(v);
  assert(it != plan.offsets.end() && "value without a planned buffer");
  line(fmt::format("floatX* {} = reinterpret_cast<floatX*>(arena + {});", name, it->second));
  refs[v] = {name, featuresOf(v)};
  return name;
}

FunctionEmitter::TensorRef FunctionEmitter::ref(Value v) const {
  auto it = refs.find(v);
  assert(it != refs.end() && "use before definition");
  return it->second;
}

std::string FunctionEmitter::meta(Value v) const {
  auto arg = cast<BlockArgument>(v);
  auto name = func.getArgAttrOfType<StringAttr>(arg.getArgNumber(), "llama.meta");
  return "args.meta." + name.getValue().str();
}

std::string FunctionEmitter::weight(Value v) {
  auto op = v.getDefiningOp<WeightOp>();
  int index = program.weights.indexOf(op);
  std::string name = "w" + std::to_string(index);
  if (declaredWeights.insert(index).second)
    line(fmt::format("const floatX* {} = weight_ptr(args, {});", name, index));
  return name;
}

std::string FunctionEmitter::layerCache(Value view, llvm::StringRef which) const {
  return fmt::format("{}_cache + {} * kv_layer_stride", which.str(), viewLayer.lookup(view));
}

llvm::Error FunctionEmitter::noteCacheViews(Operation *op, Value kCache, Value vCache, int64_t layer) {
  auto view = cast<KVViewType>(kCache.getType());
  int64_t rowElements = view.getHeads() * view.getHeadDim();
  if (kvRowElements && kvRowElements != rowElements)
    return unsupported(op, "every layer's KV rows must have the same shape");
  kvRowElements = rowElements;
  viewLayer[kCache] = layer;
  viewLayer[vCache] = layer;
  return llvm::Error::success();
}

std::string FunctionEmitter::ropeTable(const RopeParams &op) {
  std::vector<float> inv = computeRopeInvFreq(op);
  std::string values;
  for (size_t i = 0; i < inv.size(); ++i)
    values += (i ? ", " : "") + hexFloat(inv[i]);
  auto [it, inserted] = program.ropeTableByValues.try_emplace(
      values, "kRope" + std::to_string(program.ropeTableByValues.size()));
  if (inserted) {
    program.ropeDeclarations +=
        fmt::format("// theta {}, scaling {}, factor {}\n", op.theta, op.scaling, op.factor);
    program.ropeDeclarations += fmt::format("static const RopeTable<{}> {} = {{{{{}}}}};\n",
                                            op.headDim, it->second, values);
  }
  return it->second;
}

llvm::Error FunctionEmitter::emitOp(Operation *op) {
  if (isa<WeightOp>(op))
    return llvm::Error::success(); // declared where first used

  if (auto e = dyn_cast<EmbeddingOp>(op)) {
    std::string table = weight(e.getTable());
    std::string out = define(e.getResult());
    int64_t vocab = cast<RankedTensorType>(e.getTable().getType()).getDimSize(0);
    line(fmt::format("embedding_forward<{}>({}, {}, {}, n_tokens, {}, stream);",
                     featuresOf(e.getResult()), out, table, meta(e.getIds()), vocab),
         op);
  } else if (auto n = dyn_cast<RMSNormOp>(op)) {
    if (ref(n.getInput()).ld != featuresOf(n.getInput()))
      return unsupported(op, "rmsnorm needs contiguous rows");
    // weight_folded: the consumers' weights carry w (llc-fold-norm-into-gemv); the kernel leaves out * w.
    std::string w = n.getWeightFolded() ? "nullptr" : weight(n.getWeight());
    std::string out = define(n.getResult());
    float eps = n.getEps().convertToFloat();
    line(fmt::format("rmsnorm_forward<{}>({}, {}, {}, {} /*{}*/, n_tokens, stream);",
                     featuresOf(n.getInput()), out, ref(n.getInput()).ptr, w, hexFloat(eps), eps),
         op);
  } else if (auto a = dyn_cast<AddOp>(op)) {
    if (ref(a.getLhs()).ld != featuresOf(a.getLhs()) || ref(a.getRhs()).ld != featuresOf(a.getRhs()))
      return unsupported(op, "add needs contiguous rows");
    std::string out = define(a.getResult());
    line(fmt::format("add_forward<{}>({}, {}, {}, n_tokens, stream);", featuresOf(a.getResult()),
                     out, ref(a.getLhs()).ptr, ref(a.getRhs()).ptr),
         op);
  } else if (auto an = dyn_cast<AddRMSNormOp>(op)) {
    if (ref(an.getInput()).ld != featuresOf(an.getInput()) ||
        ref(an.getResidual()).ld != featuresOf(an.getResidual()))
      return unsupported(op, "add_rmsnorm needs contiguous rows");
    std::string w = an.getWeightFolded() ? "nullptr" : weight(an.getWeight());
    std::string sum = define(an.getSum());
    std::string normed = define(an.getNormed());
    float eps = an.getEps().convertToFloat();
    line(fmt::format("add_rmsnorm_forward<{}>({}, {}, {}, {}, {}, {} /*{}*/, n_tokens, stream);",
                     featuresOf(an.getInput()), sum, normed, ref(an.getInput()).ptr,
                     ref(an.getResidual()).ptr, w, hexFloat(eps), eps),
         op);
  } else if (auto l = dyn_cast<LinearOp>(op)) {
    std::string w = weight(l.getWeight());
    std::string bias = l.getBias() ? weight(l.getBias()) : "nullptr";
    std::string out = define(l.getResult());
    TensorRef in = ref(l.getInput());
    auto wType = cast<RankedTensorType>(l.getWeight().getType());
    int64_t k = wType.getDimSize(1), n = wType.getDimSize(0);
    auto gemv = [&](llvm::StringRef entry, const std::string &maxRows) {
      return gemvCall(entry, k, maxRows, "floatX", out, featuresOf(l.getResult()), in.ptr, in.ld, w,
                      bias, "n_tokens", n);
    };
    if (std::optional<APFloat> eps = l.getNormEps())  // kernel = "gemv" (verifier)
      line(fmt::format("gemv_norm_forward<{}, kMaxBatch>({}, {}, {}, {}, {}, {}, n_tokens, {}, {}, stream);", k, out,
                       featuresOf(l.getResult()), in.ptr, in.ld, w, bias, n, epsLiteral(*eps)),
           op);
    else if (l.getKernel() == "gemv")
      line(gemv("gemv_forward", "kMaxBatch"), op);
    else
      line(fmt::format("{}args.gemm->linear({}, {}, kDType, {}, {}, {}, {}, kDType, n_tokens, {}, {}, "
                       "stream);",
                       shortStepGemv(l.getGemvMaxRows(), l.getShortKernel(), "n_tokens", gemv), out,
                       featuresOf(l.getResult()), in.ptr, in.ld, w, bias, n, k),
           op);
    ++launches;
    return llvm::Error::success();
  } else if (auto g = dyn_cast<SwigluLinearOp>(op)) {
    if (g.getKernel() != "gemv")
      return unsupported(op, "swiglu_linear needs the GEMV (kernel = \"gemv\")");
    std::string w = weight(g.getWeight());
    std::string bias = g.getBias() ? weight(g.getBias()) : "nullptr";
    std::string out = define(g.getResult());
    TensorRef in = ref(g.getInput());
    auto wType = cast<RankedTensorType>(g.getWeight().getType());
    if (std::optional<APFloat> eps = g.getNormEps())
      line(fmt::format("gemv_swiglu_norm_forward<{}, kMaxBatch>({}, {}, {}, {}, {}, {}, n_tokens, {}, {}, stream);",
                       wType.getDimSize(1), out, featuresOf(g.getResult()), in.ptr, in.ld, w, bias,
                       featuresOf(g.getResult()), epsLiteral(*eps)),
           op);
    else
      line(fmt::format("gemv_swiglu_forward<{}, kMaxBatch>({}, {}, {}, {}, {}, {}, n_tokens, {}, stream);",
                       wType.getDimSize(1), out, featuresOf(g.getResult()), in.ptr, in.ld, w, bias,
                       featuresOf(g.getResult())),
           op);
    ++launches;
    return llvm::Error::success();
  } else if (auto rl = dyn_cast<ResidualLinearOp>(op)) {
    if (rl.getKernel() != "gemv")
      return unsupported(op, "residual_linear needs the GEMV (kernel = \"gemv\")");
    std::string w = weight(rl.getWeight());
    std::string bias = rl.getBias() ? weight(rl.getBias()) : "nullptr";
    TensorRef in = ref(rl.getInput());
    TensorRef res = ref(rl.getResidual());
    if (res.ld != featuresOf(rl.getResidual()))
      return unsupported(op, "residual_linear needs a contiguous residual");
    std::string out = define(rl.getResult());
    auto wType = cast<RankedTensorType>(rl.getWeight().getType());
    line(fmt::format("gemv_residual_forward<{}, kMaxBatch>({}, {}, {}, {}, {}, {}, n_tokens, {}, {}, stream);",
                     wType.getDimSize(1), out, featuresOf(rl.getResult()), in.ptr, in.ld, w, bias,
                     wType.getDimSize(0), res.ptr),
         op);
    ++launches;
    return llvm::Error::success();
  } else if (auto s = dyn_cast<SplitOp>(op)) {
    TensorRef in = ref(s.getInput());
    int64_t column = 0;
    for (auto [result, size] : llvm::zip(s.getResults(), s.getSizes())) {
      refs[result] = {column == 0 ? in.ptr : fmt::format("{} + {}", in.ptr, column), in.ld};
      column += size;
    }
    return llvm::Error::success();
  } else if (auto r = dyn_cast<RopeOp>(op)) {
    std::string table = ropeTable(ropeParams(r));
    TensorRef in = ref(r.getInput());
    std::string out = define(r.getResult());
    int64_t heads = featuresOf(r.getInput()) / r.getHeadDim();
    line(fmt::format("rope_forward<{}>({}, {}, {}, {}, {}, {}, n_tokens, {}, stream);",
                     r.getHeadDim(), out, featuresOf(r.getResult()), in.ptr, in.ld,
                     meta(r.getPositions()), table, heads),
         op);
  } else if (auto st = dyn_cast<KVStoreOp>(op)) {
    if (llvm::Error e = noteCacheViews(op, st.getKCache(), st.getVCache(), st.getLayer()))
      return e;
    auto view = cast<KVViewType>(st.getKCache().getType());
    TensorRef k = ref(st.getK()), v = ref(st.getV());
    line(fmt::format("kv_store_forward<{}, {}>({}, {}, {}, {}, {}, {}, {}, n_tokens, stream);",
                     view.getHeads(), view.getHeadDim(), layerCache(st.getKCache(), "k"),
                     layerCache(st.getVCache(), "v"), k.ptr, k.ld, v.ptr, v.ld,
                     meta(st.getNewSlots())),
         op);
  } else if (auto rs = dyn_cast<RopeKVStoreOp>(op)) {
    if (llvm::Error e = noteCacheViews(op, rs.getKCache(), rs.getVCache(), rs.getLayer()))
      return e;
    auto view = cast<KVViewType>(rs.getKCache().getType());
    std::string table = ropeTable(ropeParams(rs));
    TensorRef qk = ref(rs.getQk()), v = ref(rs.getV());
    std::string q = define(rs.getQ());
    line(fmt::format("rope_kv_store_forward<{}, {}>({}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, "
                     "n_tokens, {}, stream);",
                     view.getHeadDim(), view.getHeads(), q, featuresOf(rs.getQ()), qk.ptr, qk.ld,
                     v.ptr, v.ld, meta(rs.getPositions()), table, layerCache(rs.getKCache(), "k"),
                     layerCache(rs.getVCache(), "v"), meta(rs.getNewSlots()),
                     featuresOf(rs.getQ()) / rs.getHeadDim()),
         op);
  } else if (auto rl = dyn_cast<RopeKVStoreLinearOp>(op)) {  // kernel = "gemv" (verifier)
    if (llvm::Error e = noteCacheViews(op, rl.getKCache(), rl.getVCache(), rl.getLayer()))
      return e;
    auto view = cast<KVViewType>(rl.getKCache().getType());
    std::string table = ropeTable(ropeParams(rl));
    std::string w = weight(rl.getWeight());
    std::string bias = rl.getBias() ? weight(rl.getBias()) : "nullptr";
    TensorRef in = ref(rl.getInput());
    std::string q = define(rl.getQ());
    auto wType = cast<RankedTensorType>(rl.getWeight().getType());
    std::optional<APFloat> eps = rl.getNormEps();  // the norm folded in: the _norm_ launcher
    line(fmt::format("gemv_qkv_rope{}_forward<{}, kMaxBatch, {}, {}>({}, {}, {}, {}, {}, {}, n_tokens, {}, {}, {}, "
                     "{}, {}, {}, {}{}, stream);",
                     eps ? "_norm" : "", wType.getDimSize(1), view.getHeadDim(), view.getHeads(), q,
                     featuresOf(rl.getQ()), in.ptr, in.ld, w, bias, wType.getDimSize(0),
                     featuresOf(rl.getQ()) / rl.getHeadDim(), meta(rl.getPositions()), table,
                     layerCache(rl.getKCache(), "k"), layerCache(rl.getVCache(), "v"), meta(rl.getNewSlots()),
                     eps ? ", " + epsLiteral(*eps) : ""),
         op);
  } else if (isa<RepeatKVOp>(op)) {
    return unsupported(op, "repeat_kv copies every KV head for each query head; llc-llama "
                           "has no kernel for that copy: keep llc-index-gqa-heads enabled so "
                           "attention reads KV head h / group directly");
  } else if (auto at = dyn_cast<AttentionOp>(op)) {
    std::optional<llvm::StringRef> kernel = at.getKernel();
    if (!kernel)
      return unsupported(op, "no attention kernel selected: keep llc-select-attention-kernel "
                             "enabled");
    auto view = cast<KVViewType>(at.getKCache().getType());
    if (view.getHeadDim() != 64 && view.getHeadDim() != 128)
      return unsupported(op, "the attention kernels support head_dim 64 and 128, found " +
                                 llvm::Twine(view.getHeadDim()));
    if (!viewLayer.count(at.getKCache()) || !viewLayer.count(at.getVCache()))
      return unsupported(op, "attention must read the views a kv_store made");
    int64_t heads = featuresOf(at.getQ()) / view.getHeadDim();
    TensorRef q = ref(at.getQ());
    std::string out = define(at.getResult());
    float scale = at.getScale().convertToFloat();
    std::string common = fmt::format(
        "{}, {}, {}, {}, {}, {}, args.meta.slot_table, kMaxContext", out,
        featuresOf(at.getResult()), q.ptr, q.ld, layerCache(at.getKCache(), "k"),
        layerCache(at.getVCache(), "v"));
    std::string shape = fmt::format("{}, {}, {}", view.getHeadDim(), heads, view.getHeads());
    if (*kernel == "flash_attention_2") {
      line(fmt::format("flash_attention_prefill_forward<{}, {}, {}>({}, {}, {}, {}, args.n_seqs, "
                       "args.max_q_len, {} /*{}*/, stream);",
                       shape, *at.getBlockQ(), *at.getBlockKv(), common, meta(at.getSeqStarts()),
                       meta(at.getSeqRows()), meta(at.getKvLens()), hexFloat(scale), scale),
           op);
    } else if (*kernel == "flash_decoding") {
      // Its kernels (short, split, merge) read the step's metadata and slot table before their
      // PDL wait (common.cuh, "early reads"): safe from the step's third launch on.
      if (launches < 2)
        return unsupported(op, "flash-decoding must follow at least two launches of its step (it "
                               "reads the step's metadata before its PDL wait)");
      std::string instance = fmt::format("{}, {}", shape, *at.getKvSplits());
      program.decodeWorkspaceFloats.insert(
          fmt::format("flash_decoding_workspace_floats<{}>(kMaxBatch)", instance));
      line(fmt::format("flash_decoding_forward<{}>({}, {}, {}, args.n_seqs, args.max_kv_len, {} /*{}*/, "
                       "decode_workspace, stream);",
                       instance, common, meta(at.getSeqRows()), meta(at.getKvLens()),
                       hexFloat(scale), scale),
           op);
    } else {
      line(fmt::format("attention_reference_forward<{}>({}, {}, {}, {}, args.n_seqs, "
                       "args.max_q_len, {} /*{}*/, stream);",
                       shape, common, meta(at.getSeqStarts()), meta(at.getSeqRows()),
                       meta(at.getKvLens()), hexFloat(scale), scale),
           op);
    }
  } else if (auto sm = dyn_cast<SiluMulOp>(op)) {
    TensorRef g = ref(sm.getGate()), u = ref(sm.getUp());
    std::string out = define(sm.getResult());
    line(fmt::format("silu_mul_forward<{}>({}, {}, {}, {}, {}, n_tokens, stream);",
                     featuresOf(sm.getResult()), out, g.ptr, g.ld, u.ptr, u.ld),
         op);
  } else if (auto h = dyn_cast<LMHeadOp>(op)) {
    TensorRef in = ref(h.getInput());
    if (in.ld != featuresOf(h.getInput()))
      return unsupported(op, "lm_head needs contiguous rows");
    std::string w = weight(h.getWeight());
    int64_t hidden = featuresOf(h.getInput());
    int64_t vocab = featuresOf(h.getResult());
    // The selected rows, gathered into scratch; without logit_rows (decode), every row in place.
    std::string rows = in.ptr, nRows = "n_tokens";
    if (h.getLogitRows()) {
      rows = "lm_rows", nRows = "args.n_logit_rows";
      line(fmt::format("floatX* lm_rows = reinterpret_cast<floatX*>(arena + {});",
                       plan.scratch.lookup(op)));
      line(fmt::format("gather_rows_forward<{}>(lm_rows, {}, {}, args.n_logit_rows, stream);", hidden,
                       in.ptr, meta(h.getLogitRows())),
           op);
      ++launches;
    }
    auto gemv = [&](llvm::StringRef entry, const std::string &maxRows) {
      return gemvCall(entry, hidden, maxRows, "float", "args.logits", vocab, rows, hidden, w,
                      "nullptr", nRows, vocab);
    };
    if (h.getKernel() == "gemv")
      line(gemv("gemv_forward", "kMaxBatch"), op);
    else
      line(fmt::format("{}args.gemm->linear(args.logits, {}, llc::DType::fp32, {}, {}, {}, nullptr, "
                       "kDType, {}, {}, {}, stream);",
                       shortStepGemv(h.getGemvMaxRows(), h.getShortKernel(), nRows, gemv), vocab,
                       rows, hidden, w, nRows, vocab, hidden),
           op);
    ++launches;
    return llvm::Error::success();
  } else if (isa<func::ReturnOp>(op)) {
    auto head = op->getOperand(0).getDefiningOp<LMHeadOp>();
    if (op->getNumOperands() != 1 || !head)
      return unsupported(op, "the function must return the logits of its llama.lm_head");
    return llvm::Error::success();
  } else {
    return unsupported(op, "no lowering for this op");
  }
  ++launches;
  return llvm::Error::success();
}

llvm::Expected<std::string> FunctionEmitter::emit() {
  for (unsigned i = 0; i < func.getNumArguments(); ++i)
    if (!func.getArgAttrOfType<StringAttr>(i, "llama.meta"))
      return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                     "@" + func.getSymName() + ": argument " + llvm::Twine(i) +
                                         " has no llama.meta name");
  bool hasKVStore = false, hasFlashDecoding = false;
  func.walk([&](Operation *op) { hasKVStore |= isa<KVStoreOp, RopeKVStoreOp, RopeKVStoreLinearOp>(op); });
  func.walk([&](AttentionOp op) { hasFlashDecoding |= op.getKernel() == "flash_decoding"; });

  line("char* arena = static_cast<char*>(args.arena);");
  line("const int n_tokens = args.n_tokens;");
  if (hasKVStore) {
    line("floatX* k_cache = static_cast<floatX*>(args.k_cache);");
    line("floatX* v_cache = static_cast<floatX*>(args.v_cache);");
    line("const size_t kv_layer_stride = static_cast<size_t>(args.kv_slots) * kKVRowElements;");
    line("slot_table_update_forward(args.meta.slot_table, kMaxContext, args.meta.seq_starts, "
         "args.meta.seq_rows, args.meta.positions, args.meta.new_slots, args.n_seqs, stream);");
    ++launches;
  }
  if (hasFlashDecoding)
    line("float* decode_workspace = reinterpret_cast<float*>(arena + kDecodeWorkspaceOffset);");

  for (Operation &op : func.getBody().front())
    if (llvm::Error e = emitOp(&op))
      return std::move(e);

  std::string header = fmt::format(
      "// @{}: {} launches; its activations need {} bytes of the arena.\n"
      "static void model_{}(const llc::ForwardArgs& args, cudaStream_t stream) {{\n",
      func.getSymName().str(), launches, plan.bytes, func.getSymName().str());
  std::string text = header + body + "}\n";
  if (kvRowElements)
    text = fmt::format("static_assert(kKVRowElements == {}, \"pool row shape\");\n", kvRowElements) +
           text;
  return text;
}

} // namespace llc
