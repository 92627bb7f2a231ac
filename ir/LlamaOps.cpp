//===- LlamaOps.cpp - verifiers and custom syntax of the `llama` ops ----------===//
//
// Every verifier says what it expected and what it found. Shapes are checked on the
// feature dimension (the token dimension is dynamic everywhere).
//
//===--------------------------------------------------------------------------===//

#include "ir/LlamaDialect.h"
#include "templates/kernels/kernel_limits.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"
#include "llvm/ADT/STLExtras.h"

using namespace mlir;
using namespace llc::llama;

#define GET_OP_CLASSES
#include "ir/LlamaOps.cpp.inc"

namespace {
/// A linear's or lm_head's kernel choice, if any, is one llc-llama has; a short-step row limit
/// refines a cuBLASLt choice and fits the short-step kernel (at most 64 rows for the GEMVs, 128
/// for wgmma); the short-step kernel, if named, comes with that limit.
LogicalResult verifyLinearKernel(Operation *op, std::optional<StringRef> kernel,
                                 std::optional<uint64_t> gemvMaxRows,
                                 std::optional<StringRef> shortKernel) {
  if (kernel && *kernel != "gemv" && *kernel != "cublaslt")
    return op->emitOpError() << "unknown linear kernel \"" << *kernel
                             << "\" (expected gemv or cublaslt)";
  if (gemvMaxRows) {
    if (kernel != "cublaslt")
      return op->emitOpError() << "gemv_max_rows refines kernel = \"cublaslt\" only";
    const bool wgmma = shortKernel == "wgmma";
    const uint64_t limit = wgmma ? kernel_limits::kWgmmaMaxRows : kernel_limits::kGemvMaxRows;
    if (*gemvMaxRows < 1 || *gemvMaxRows > limit)
      return op->emitOpError() << "gemv_max_rows must be in [1, " << limit << "]"
                               << (wgmma ? " with short_kernel = \"wgmma\"" : "")
                               << ", found " << *gemvMaxRows;
  }
  if (shortKernel) {
    if (!gemvMaxRows)
      return op->emitOpError() << "short_kernel needs gemv_max_rows";
    if (*shortKernel != "gemv" && *shortKernel != "gemv_prefill" && *shortKernel != "wgmma")
      return op->emitOpError() << "unknown short-step kernel \"" << *shortKernel
                               << "\" (expected gemv, gemv_prefill or wgmma)";
    int64_t k = cast<ShapedType>(op->getOperand(1).getType()).getShape()[1];
    if (*shortKernel == "wgmma" && k % kernel_limits::kWgmmaKMultiple != 0)
      return op->emitOpError() << "short_kernel = \"wgmma\" reads K in stages of "
                               << kernel_limits::kWgmmaKMultiple << ", found K = " << k;
  }
  return success();
}

/// Feature dimension (dim 1) of a rank-2 activation.
int64_t features(Value v) { return cast<RankedTensorType>(v.getType()).getDimSize(1); }
Type elementTypeOf(Value v) { return cast<ShapedType>(v.getType()).getElementType(); }
ArrayRef<int64_t> shapeOf(Value v) { return cast<ShapedType>(v.getType()).getShape(); }

/// A weight of rank `rank` whose element type is the activations'.
LogicalResult verifyWeight(Operation *op, Value weight, int64_t rank, Type activationType,
                           StringRef what) {
  auto type = cast<ShapedType>(weight.getType());
  if (type.getRank() != rank)
    return op->emitOpError() << what << " must have rank " << rank << ", found " << type;
  if (type.getElementType() != activationType)
    return op->emitOpError() << what << " element type " << type.getElementType()
                             << " differs from the activations' " << activationType;
  return success();
}

/// `input W^T (+ bias)`: W is a rank-2 weight of the input's element type whose columns are the
/// input's features; the bias, if any, has one element of that type per weight row.
LogicalResult verifyWeightAndBias(Operation *op, Value input, Value weight, Value bias) {
  Type elementType = elementTypeOf(input);
  if (failed(verifyWeight(op, weight, 2, elementType, "weight")))
    return failure();
  ArrayRef<int64_t> w = shapeOf(weight);
  if (w[1] != features(input))
    return op->emitOpError() << "weight is (" << w[0] << ", " << w[1] << ") but the input has "
                             << features(input) << " features";
  if (bias) {
    if (failed(verifyWeight(op, bias, 1, elementType, "bias")))
      return failure();
    if (shapeOf(bias)[0] != w[0])
      return op->emitOpError() << "bias has " << shapeOf(bias)[0] << " elements, expected " << w[0];
  }
  return success();
}

/// The weight and eps of an rmsnorm or add_rmsnorm over rows of `input`.
LogicalResult verifyNorm(Operation *op, Value input, Value weight, APFloat eps) {
  if (failed(verifyWeight(op, weight, 1, elementTypeOf(input), "weight")))
    return failure();
  if (shapeOf(weight)[0] != features(input))
    return op->emitOpError() << "weight has " << shapeOf(weight)[0] << " elements but rows have "
                             << features(input);
  if (!(eps.convertToFloat() > 0.0f))
    return op->emitOpError() << "eps must be positive";
  return success();
}
} // namespace

//===----------------------------------------------------------------------===//
// WeightOp: `llama.weight "name" : T` or `llama.weight ["a", "b"] rows [r0, r1] : T`
//===----------------------------------------------------------------------===//

ParseResult WeightOp::parse(OpAsmParser &parser, OperationState &result) {
  Builder &b = parser.getBuilder();
  SmallVector<Attribute> sources;
  std::string single;
  if (succeeded(parser.parseOptionalString(&single))) {
    sources.push_back(b.getStringAttr(single));
  } else {
    if (parser.parseCommaSeparatedList(AsmParser::Delimiter::Square, [&]() {
          std::string name;
          if (parser.parseString(&name))
            return failure();
          sources.push_back(b.getStringAttr(name));
          return success();
        }))
      return failure();
    if (succeeded(parser.parseOptionalKeyword("rows"))) {
      SmallVector<int64_t> rows;
      if (parser.parseCommaSeparatedList(AsmParser::Delimiter::Square, [&]() {
            int64_t r;
            if (parser.parseInteger(r))
              return failure();
            rows.push_back(r);
            return success();
          }))
        return failure();
      result.addAttribute(getSourceRowsAttrName(result.name), b.getDenseI64ArrayAttr(rows));
    }
  }
  result.addAttribute(getSourcesAttrName(result.name), b.getArrayAttr(sources));
  Type type;
  if (parser.parseOptionalAttrDict(result.attributes) || parser.parseColonType(type))
    return failure();
  result.addTypes(type);
  return success();
}

void WeightOp::print(OpAsmPrinter &p) {
  ArrayAttr sources = getSources();
  if (sources.size() == 1 && !getSourceRows()) {
    p << " ";
    p.printAttributeWithoutType(sources[0]);
  } else {
    p << " [";
    llvm::interleaveComma(sources, p, [&](Attribute a) { p.printAttributeWithoutType(a); });
    p << "]";
    if (auto rows = getSourceRows()) {
      p << " rows [";
      llvm::interleaveComma(*rows, p);
      p << "]";
    }
  }
  p.printOptionalAttrDict((*this)->getAttrs(),
                          {getSourcesAttrName(), getSourceRowsAttrName()});
  p << " : " << getType();
}

LogicalResult WeightOp::verify() {
  auto type = cast<ShapedType>(getType());
  if (type.getRank() != 1 && type.getRank() != 2)
    return emitOpError() << "weights have rank 1 or 2, found " << type;
  ArrayAttr sources = getSources();
  if (sources.empty())
    return emitOpError() << "needs at least one source tensor name";
  for (Attribute s : sources)
    if (cast<StringAttr>(s).getValue().empty())
      return emitOpError() << "has an empty source tensor name";
  std::optional<ArrayRef<int64_t>> rows = getSourceRows();
  if (sources.size() > 1 && !rows)
    return emitOpError() << "merges " << sources.size()
                         << " sources but gives no `rows` for them";
  if (!rows)
    return success();
  if (rows->size() != sources.size())
    return emitOpError() << "has " << sources.size() << " sources but " << rows->size()
                         << " row counts";
  int64_t total = 0;
  for (int64_t r : *rows) {
    if (r <= 0)
      return emitOpError() << "source row counts must be positive, found " << r;
    total += r;
  }
  if (total != type.getDimSize(0))
    return emitOpError() << "source rows sum to " << total << " but the weight has "
                         << type.getDimSize(0) << " rows";
  return success();
}

//===----------------------------------------------------------------------===//
// Verifiers
//===----------------------------------------------------------------------===//

LogicalResult EmbeddingOp::verify() {
  ArrayRef<int64_t> table = shapeOf(getTable());
  if (table.size() != 2)
    return emitOpError() << "table must be (vocab, hidden), found rank " << table.size();
  if (features(getResult()) != table[1])
    return emitOpError() << "result has " << features(getResult())
                         << " features but the table rows have " << table[1];
  if (elementTypeOf(getTable()) != elementTypeOf(getResult()))
    return emitOpError() << "table and result element types differ";
  return success();
}

LogicalResult RMSNormOp::verify() {
  if (getInput().getType() != getResult().getType())
    return emitOpError() << "result type " << getResult().getType()
                         << " differs from input type " << getInput().getType();
  return verifyNorm(*this, getInput(), getWeight(), getEps());
}

LogicalResult AddRMSNormOp::verify() {
  Type type = getInput().getType();
  if (getResidual().getType() != type || getSum().getType() != type ||
      getNormed().getType() != type)
    return emitOpError() << "input, residual, sum and normed must share one type, found "
                         << type << ", " << getResidual().getType() << ", "
                         << getSum().getType() << ", " << getNormed().getType();
  return verifyNorm(*this, getInput(), getWeight(), getEps());
}

/// `norm_eps` (llc-fold-norm-into-gemv): only the decode GEMV scales by the input's inv_rms.
static LogicalResult verifyNormEps(Operation *op, std::optional<APFloat> normEps,
                                   std::optional<StringRef> kernel) {
  if (!normEps)
    return success();
  if (kernel != "gemv")
    return op->emitOpError() << "norm_eps needs kernel = \"gemv\" (only the decode GEMV folds the norm)";
  if (normEps->isNegative() || normEps->isNaN())
    return op->emitOpError() << "norm_eps must be >= 0";
  return success();
}

LogicalResult LinearOp::verify() {
  if (failed(verifyWeightAndBias(*this, getInput(), getWeight(), getBias())))
    return failure();
  if (failed(verifyNormEps(*this, getNormEps(), getKernel())))
    return failure();
  int64_t rows = shapeOf(getWeight())[0];
  if (features(getResult()) != rows)
    return emitOpError() << "result has " << features(getResult()) << " features, expected " << rows
                         << " (weight rows)";
  if (elementTypeOf(getResult()) != elementTypeOf(getInput()))
    return emitOpError() << "result element type differs from the input's";
  return verifyLinearKernel(*this, getKernel(), getGemvMaxRows(), getShortKernel());
}

LogicalResult SwigluLinearOp::verify() {
  if (failed(verifyWeightAndBias(*this, getInput(), getWeight(), getBias())))
    return failure();
  ArrayRef<int64_t> w = shapeOf(getWeight());
  if (w[0] % 2 != 0)
    return emitOpError() << "weight has " << w[0]
                         << " rows: a merged gate/up weight has an even number";
  if (features(getResult()) != w[0] / 2)
    return emitOpError() << "result has " << features(getResult()) << " features, expected "
                         << w[0] / 2 << " (half the weight rows)";
  if (elementTypeOf(getResult()) != elementTypeOf(getInput()))
    return emitOpError() << "result element type differs from the input's";
  if (std::optional<StringRef> kernel = getKernel(); kernel && *kernel != "gemv")
    return emitOpError() << "kernel \"" << *kernel << "\" cannot apply the gate (only gemv can)";
  return verifyNormEps(*this, getNormEps(), getKernel());
}

LogicalResult ResidualLinearOp::verify() {
  if (failed(verifyWeightAndBias(*this, getInput(), getWeight(), getBias())))
    return failure();
  int64_t rows = shapeOf(getWeight())[0];
  if (features(getResult()) != rows)
    return emitOpError() << "result has " << features(getResult()) << " features, expected " << rows
                         << " (weight rows)";
  if (getResidual().getType() != getResult().getType())
    return emitOpError() << "residual type " << getResidual().getType() << " differs from the result's "
                         << getResult().getType();
  if (std::optional<StringRef> kernel = getKernel(); kernel && *kernel != "gemv")
    return emitOpError() << "kernel \"" << *kernel << "\" cannot add the residual (only gemv can)";
  return success();
}

LogicalResult SplitOp::verify() {
  ArrayRef<int64_t> sizes = getSizes();
  if (sizes.size() != getResults().size())
    return emitOpError() << "has " << sizes.size() << " sizes but " << getResults().size()
                         << " results";
  if (sizes.size() < 2)
    return emitOpError() << "splits into at least two parts";
  int64_t total = 0;
  for (auto [size, result] : llvm::zip(sizes, getResults())) {
    if (size <= 0)
      return emitOpError() << "sizes must be positive, found " << size;
    if (features(result) != size)
      return emitOpError() << "result has " << features(result) << " features, expected "
                           << size;
    if (elementTypeOf(result) != elementTypeOf(getInput()))
      return emitOpError() << "result element types must match the input's";
    total += size;
  }
  if (total != features(getInput()))
    return emitOpError() << "sizes sum to " << total << " but the input has "
                         << features(getInput()) << " features";
  return success();
}

namespace {
/// The rope attributes shared by llama.rope and llama.rope_kv_store, over `features` columns.
template <typename RopeLikeOp>
LogicalResult verifyRopeAttributes(RopeLikeOp op, int64_t features, StringRef what) {
  int64_t headDim = op.getHeadDim();
  if (headDim <= 0 || headDim % 2 != 0)
    return op.emitOpError() << "head_dim must be positive and even, found " << headDim;
  if (features % headDim != 0)
    return op.emitOpError() << what << " has " << features
                            << " features, not a multiple of head_dim " << headDim;
  if (!(op.getTheta().convertToDouble() > 0.0))
    return op.emitOpError() << "theta must be positive";
  StringRef scaling = op.getScaling();
  if (scaling != "none" && scaling != "linear" && scaling != "llama3")
    return op.emitOpError() << "scaling must be \"none\", \"linear\" or \"llama3\", found \""
                            << scaling << "\"";
  if (scaling != "none" && !(op.getFactor().convertToDouble() > 0.0))
    return op.emitOpError() << "scaling factor must be positive";
  if (scaling == "llama3") {
    double low = op.getLowFreqFactor().convertToDouble();
    double high = op.getHighFreqFactor().convertToDouble();
    if (!(low > 0.0) || !(high > low))
      return op.emitOpError()
             << "llama3 scaling needs 0 < low_freq_factor < high_freq_factor, found " << low
             << " and " << high;
    if (op.getOriginalMaxPosition() <= 0)
      return op.emitOpError() << "llama3 scaling needs a positive original_max_position";
  }
  return success();
}

/// K and V cache views of one type over `heads` x head_dim rows of `elementType`.
LogicalResult verifyCacheViews(Operation *op, Value kCache, Value vCache, int64_t features,
                               Type elementType, StringRef what) {
  auto kView = cast<KVViewType>(kCache.getType());
  if (vCache.getType() != kView)
    return op->emitOpError() << "k and v cache views must share one type";
  if (features != kView.getHeads() * kView.getHeadDim())
    return op->emitOpError() << what << " has " << features << " features but the cache holds "
                             << kView.getHeads() << " heads of " << kView.getHeadDim();
  if (kView.getElementType() != elementType)
    return op->emitOpError() << "cache element type differs from " << what << "'s";
  return success();
}
} // namespace

LogicalResult RopeOp::verify() {
  if (getInput().getType() != getResult().getType())
    return emitOpError() << "result type must equal the input type";
  return verifyRopeAttributes(*this, features(getInput()), "input");
}

LogicalResult RopeKVStoreOp::verify() {
  if (failed(verifyRopeAttributes(*this, features(getQk()), "qk")))
    return failure();
  Type elementType = elementTypeOf(getQk());
  if (elementTypeOf(getV()) != elementType || elementTypeOf(getQ()) != elementType)
    return emitOpError() << "qk, v and q must share one element type";
  int64_t kFeatures = features(getQk()) - features(getQ());
  if (features(getQ()) <= 0 || features(getQ()) % getHeadDim() != 0 || kFeatures <= 0)
    return emitOpError() << "q has " << features(getQ()) << " features: expected whole heads of "
                         << getHeadDim() << ", fewer than qk's " << features(getQk());
  if (features(getV()) != kFeatures)
    return emitOpError() << "v has " << features(getV()) << " features but k (qk past q) has "
                         << kFeatures;
  if (failed(verifyCacheViews(*this, getKCache(), getVCache(), kFeatures, elementType, "k")))
    return failure();
  if (cast<KVViewType>(getKCache().getType()).getHeadDim() != getHeadDim())
    return emitOpError() << "cache head_dim differs from the rope's " << getHeadDim();
  if (getLayer() < 0)
    return emitOpError() << "layer must be non-negative, found " << getLayer();
  return success();
}

LogicalResult RopeKVStoreLinearOp::verify() {
  if (failed(verifyWeightAndBias(*this, getInput(), getWeight(), getBias())))
    return failure();
  ArrayRef<int64_t> w = shapeOf(getWeight());
  int64_t qFeatures = features(getQ());
  int64_t kvFeatures = (w[0] - qFeatures) / 2;
  if (failed(verifyRopeAttributes(*this, qFeatures, "q")))
    return failure();
  if (elementTypeOf(getQ()) != elementTypeOf(getInput()))
    return emitOpError() << "q and the input must share one element type";
  if (kvFeatures <= 0 || qFeatures + 2 * kvFeatures != w[0])
    return emitOpError() << "weight has " << w[0] << " rows, expected q's " << qFeatures
                         << " plus two equal K and V parts";
  if (failed(verifyCacheViews(*this, getKCache(), getVCache(), kvFeatures, elementTypeOf(getQ()), "k")))
    return failure();
  if (cast<KVViewType>(getKCache().getType()).getHeadDim() != getHeadDim())
    return emitOpError() << "cache head_dim differs from the rope's " << getHeadDim();
  if (getHeadDim() % 16 != 0)
    return emitOpError() << "head_dim must be a multiple of 16 (8 rotation pairs a GEMV block), found "
                         << getHeadDim();
  if (getLayer() < 0)
    return emitOpError() << "layer must be non-negative, found " << getLayer();
  if (getKernel() != "gemv")
    return emitOpError() << "needs kernel = \"gemv\" (only the decode GEMV applies the rope in its epilogue)";
  return verifyNormEps(*this, getNormEps(), getKernel());
}

LogicalResult KVStoreOp::verify() {
  if (getK().getType() != getV().getType())
    return emitOpError() << "k and v must share one type, found " << getK().getType()
                         << " and " << getV().getType();
  if (failed(verifyCacheViews(*this, getKCache(), getVCache(), features(getK()),
                              elementTypeOf(getK()), "k")))
    return failure();
  if (getLayer() < 0)
    return emitOpError() << "layer must be non-negative, found " << getLayer();
  return success();
}

LogicalResult RepeatKVOp::verify() {
  auto in = cast<KVViewType>(getInput().getType());
  auto out = cast<KVViewType>(getResult().getType());
  if (getNRep() < 1)
    return emitOpError() << "n_rep must be at least 1, found " << getNRep();
  if (out.getHeads() != in.getHeads() * getNRep() || out.getHeadDim() != in.getHeadDim() ||
      out.getElementType() != in.getElementType())
    return emitOpError() << "repeating " << in << " " << getNRep() << " times gives "
                         << in.getHeads() * getNRep() << " heads, but the result is " << out;
  return success();
}

LogicalResult AttentionOp::verify() {
  auto kView = cast<KVViewType>(getKCache().getType());
  if (getVCache().getType() != kView)
    return emitOpError() << "k and v cache views must share one type";
  if (getQ().getType() != getResult().getType())
    return emitOpError() << "result type must equal q's type";
  int64_t headDim = kView.getHeadDim();
  if (features(getQ()) % headDim != 0)
    return emitOpError() << "q has " << features(getQ())
                         << " features, not a multiple of head_dim " << headDim;
  int64_t qHeads = features(getQ()) / headDim;
  if (qHeads % kView.getHeads() != 0)
    return emitOpError() << qHeads << " query heads are not a multiple of "
                         << kView.getHeads() << " kv heads";
  if (kView.getElementType() != elementTypeOf(getQ()))
    return emitOpError() << "cache element type differs from q's";
  if (!(getScale().convertToFloat() > 0.0f))
    return emitOpError() << "scale must be positive";
  if (std::optional<StringRef> kernel = getKernel()) {
    if (*kernel == "flash_attention_2") {
      if (!getBlockQ() || !getBlockKv())
        return emitOpError() << "kernel \"flash_attention_2\" needs block_q and block_kv";
    } else if (*kernel == "flash_decoding") {
      if (!getKvSplits() || *getKvSplits() < 1)
        return emitOpError() << "kernel \"flash_decoding\" needs kv_splits >= 1";
    } else if (*kernel != "reference") {
      return emitOpError() << "unknown attention kernel \"" << *kernel
                           << "\" (expected flash_attention_2, flash_decoding or reference)";
    }
  }
  return success();
}

LogicalResult LMHeadOp::verify() {
  Type elementType = elementTypeOf(getInput());
  if (failed(verifyWeight(*this, getWeight(), 2, elementType, "weight")))
    return failure();
  ArrayRef<int64_t> w = shapeOf(getWeight());
  if (w[1] != features(getInput()))
    return emitOpError() << "weight is (" << w[0] << ", " << w[1] << ") but the input has "
                         << features(getInput()) << " features";
  if (features(getResult()) != w[0])
    return emitOpError() << "result has " << features(getResult()) << " columns, expected "
                         << w[0] << " (vocabulary size)";
  return verifyLinearKernel(*this, getKernel(), getGemvMaxRows(), getShortKernel());
}
