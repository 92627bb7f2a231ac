// fp16_compile.cu - compile-only: instantiates every kernel template with LLC_DTYPE_FP16 so that
// the fp16 path of templates/kernels builds (target kernels_fp16_compile; nothing here runs).
#define LLC_DTYPE_FP16
#include <type_traits>

#include "templates/kernels/add.cuh"
#include "templates/kernels/attention_decode.cuh"
#include "templates/kernels/attention_prefill.cuh"
#include "templates/kernels/attention_reference.cuh"
#include "templates/kernels/convert.cuh"
#include "templates/kernels/embedding.cuh"
#include "templates/kernels/gather_rows.cuh"
#include "templates/kernels/kv_store.cuh"
#include "templates/kernels/prefill_wgmma.cuh"
#include "templates/kernels/rmsnorm.cuh"
#include "templates/kernels/rope.cuh"
#include "templates/kernels/sampling.cuh"
#include "templates/kernels/silu_mul.cuh"
#include "templates/kernels/slot_table.cuh"

static_assert(sizeof(floatX) == 2 && std::is_same<floatX, __half>::value, "LLC_DTYPE_FP16 must select __half");

void fp16_instantiate_all(floatX* x, const floatX* c, float* f, const int32_t* i, int32_t* io, const void* v,
                          const llc::SamplingRow* rows, cudaStream_t s) {
  embedding_forward<2048>(x, c, i, 3, 32000, s);
  rmsnorm_forward<4096>(x, c, c, 1e-5f, 3, s);
  add_rmsnorm_forward<1536>(x, x, c, c, c, 1e-6f, 3, s);
  add_forward<2048>(x, c, c, 3, s);
  rope_forward<128>(x, 6144, c, 6144, i, RopeTable<128>{}, 3, 32, s);
  rope_forward<64>(x, 1024, c, 1024, i, RopeTable<64>{}, 3, 12, s);
  kv_store_forward<8, 128>(x, x, c, 6144, c, 6144, i, 3, s);
  slot_table_update_forward(io, 4096, i, i, i, i, 2, s);
  flash_attention_prefill_forward<128, 32, 8, 64, 64>(x, 4096, c, 6144, c, c, i, 4096, i, i, i, 2, 64, 0.088f, s);
  flash_attention_prefill_forward<64, 12, 2, 64, 64>(x, 768, c, 1024, c, c, i, 4096, i, i, i, 2, 64, 0.125f, s);
  flash_decoding_forward<128, 32, 8, 16>(x, 4096, c, 6144, c, c, i, 4096, i, i, 2, 4096, 0.088f, f, s);
  flash_decoding_forward<64, 12, 2, 16>(x, 768, c, 1024, c, c, i, 4096, i, i, 2, 4096, 0.125f, f, s);
  attention_reference_forward<128, 32, 8>(x, 4096, c, 6144, c, c, i, 4096, i, i, i, 2, 64, 0.088f, s);
  silu_mul_forward<8960>(x, c, 17920, c + 8960, 17920, 3, s);
  prefill_wgmma_forward<1536, 64, floatX>(x, 2048, c, 1536, c, c, 3, 2048, s);
  gather_rows_forward<2048>(x, c, i, 3, s);
  sample_forward<151936>(io, f, rows, 2, s);
  convert_forward(x, v, llc::DType::bf16, 100, s);
  fill_random_forward(x, 100, 1, 0.0f, 0.02f, s);
}
