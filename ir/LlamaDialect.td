//===- LlamaDialect.td - the `llama` dialect ----------------------------------===//
//
// The dialect itself, its one type (`!llama.kv_view`) and the base class of its ops.
// The ops live in LlamaOps.td.
//
//===--------------------------------------------------------------------------===//

#ifndef LLC_IR_LLAMADIALECT_TD
#define LLC_IR_LLAMADIALECT_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"

def Llama_Dialect : Dialect {
  let name = "llama";
  let summary = "The graph of a Llama-family decoder, one op per model-level operation.";
  let description = [{
    Values are tensors whose leading dimension is the dynamic token dimension: the
    tokens of every sequence in one step, concatenated with no padding (nopad).
    Step metadata (positions, sequence offsets and lengths, KV slots) enters as
    function arguments, so every op that needs it names it as an operand.
    The KV cache is seen through `!llama.kv_view` values produced by `llama.kv_store`.
  }];
  let cppNamespace = "::llc::llama";
  let useDefaultTypePrinterParser = 1;
}

class Llama_Type<string name, string typeMnemonic, list<Trait> traits = []>
    : TypeDef<Llama_Dialect, name, traits> {
  let mnemonic = typeMnemonic;
}

def Llama_KVViewType : Llama_Type<"KVView", "kv_view"> {
  let summary = "One layer's cached K (or V) of every sequence in the step, read by slot.";
  let description = [{
    A view of the token-granular KV pool after the step's new tokens were stored:
    sequence `s` sees `kv_lens[s]` rows of `heads x head_dim` elements, row `j`
    at pool slot `slot_table[seq_rows[s], j]`.

    Example: `!llama.kv_view<8x64xbf16>` (8 KV heads of 64 bf16 elements).
  }];
  let parameters = (ins "int64_t":$heads, "int64_t":$headDim, "::mlir::Type":$elementType);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
}

class Llama_Op<string mnemonic, list<Trait> traits = []>
    : Op<Llama_Dialect, mnemonic, traits>;

#endif // LLC_IR_LLAMADIALECT_TD
