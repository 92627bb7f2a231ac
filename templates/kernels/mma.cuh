/*
Inline-PTX building blocks for the tensor-core kernels (attention, decode GEMV; sm_80+, used on
sm_90):
  cp_async16        16-byte global -> shared copy (cp.async.cg), zero-filling when !valid
  ldmatrix_x4[_trans] four 8x8 b16 matrices from shared memory into mma fragments
  mma_16816         D(16x8 f32) += A(16x16 floatX, row) * B(16x8 floatX, col)
  swizzle_offset    XOR swizzle of 16-byte chunks in a [rows][D] floatX tile
Fragment layouts of mma.m16n8k16 (PTX ISA), g = lane / 4, t = lane % 4:
  A (a0..a3, 2 floatX each): a0 = (row g,   cols 2t,2t+1)   a1 = (row g+8, cols 2t,2t+1)
                             a2 = (row g,   cols 2t+8,+9)   a3 = (row g+8, cols 2t+8,+9)
  B (b0, b1):                b0 = (k 2t,2t+1, col n=g)      b1 = (k 2t+8,2t+9, col n=g)
  C (c0..c3, f32):           c0,c1 = (row g, cols 2t,2t+1)  c2,c3 = (row g+8, cols 2t,2t+1)
ldmatrix: lane i gives the address of row i%8 of matrix i/8; every lane receives, per matrix,
(row g, cols 2t,2t+1); with .trans, (rows 2t,2t+1, col g) of the stored matrix.
Swizzle invariant: element (r, c) of a tile whose rows are D floatX (D % 64 == 0) lives at
r*D + ((c/8) ^ (r%8))*8 + c%8, so the 8 rows an ldmatrix reads hit 8 different 16-byte bank
groups (no conflicts) while every 16-byte chunk stays contiguous for cp.async.
*/
#pragma once

#include "templates/kernels/common.cuh"

#ifdef LLC_DTYPE_FP16
#define LLC_MMA_AB_TYPE "f16"
#else
#define LLC_MMA_AB_TYPE "bf16"
#endif

template <int D>
__device__ __forceinline__ int swizzle_offset(int row, int chunk) {
  static_assert(D % 64 == 0, "swizzled tiles need rows of a multiple of 64 elements");
  return row * D + ((chunk ^ (row & 7)) << 3);
}

__device__ __forceinline__ uint32_t smem_u32(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

// 16 bytes global -> shared, asynchronously. !valid writes 16 zero bytes (src is not read, but must
// still be a valid address).
__device__ __forceinline__ void cp_async16(void* smem_dst, const void* gmem_src, bool valid) {
  const int src_bytes = valid ? 16 : 0;
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(smem_u32(smem_dst)),
               "l"(gmem_src), "r"(src_bytes)
               : "memory");
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::: "memory"); }
template <int N>
__device__ __forceinline__ void cp_async_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory");
}

__device__ __forceinline__ void ldmatrix_x4(uint32_t r[4], const floatX* smem_row) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(smem_u32(smem_row))
               : "memory");  // orders it after the cp.async wait + barrier that filled the tile
}
__device__ __forceinline__ void ldmatrix_x4_trans(uint32_t r[4], const floatX* smem_row) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(smem_u32(smem_row))
               : "memory");  // orders it after the cp.async wait + barrier that filled the tile
}

// c += a * b for one m16n8k16 tile, fp32 accumulation.
__device__ __forceinline__ void mma_16816(float c[4], const uint32_t a[4], uint32_t b0, uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32." LLC_MMA_AB_TYPE "." LLC_MMA_AB_TYPE ".f32 "
      "{%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}
