// bench_attention.cu - informational timings (cudaEvent, after warm-up, median of 20) of the
// prefill attention at 4 sequences x 2048 tokens, 32 heads x 128 (GQA 32/8), reported in TFLOP/s
// of the causal work, and of flash-decoding at batch 1 and 4, kv_len 2048 and 8192, reported in
// GB/s of K/V read. Lines start with INFO; they never fail the run.
#include "test/gpu/test_common.h"

#include <algorithm>
#include <functional>

#include "templates/kernels/attention_decode.cuh"
#include "templates/kernels/attention_prefill.cuh"
#include "templates/kernels/convert.cuh"

namespace {

constexpr int D = 128, H = 32, KVH = 8;


// n_seqs sequences of kv_len cached rows each, scattered over a shuffled pool.
struct Pool {
  int n_seqs, kv_len, max_context;
  DevBuf<int32_t> starts, rows, kv_lens, table;
  XBuf kc, vc;
  Pool(int n_seqs_, int kv_len_, int q_len, Rng& rng) : n_seqs(n_seqs_), kv_len(kv_len_), max_context(kv_len_) {
    const int64_t slots = (int64_t)n_seqs * kv_len + 1;
    std::vector<int32_t> perm(slots - 1);
    for (int64_t i = 0; i < slots - 1; ++i) perm[i] = (int32_t)(i + 1);
    std::shuffle(perm.begin(), perm.end(), rng.gen);
    std::vector<int32_t> t((size_t)(n_seqs + 1) * max_context, 0), st(n_seqs + 1), r(n_seqs), l(n_seqs, kv_len);
    for (int s = 0; s < n_seqs; ++s) {
      st[s + 1] = st[s] + q_len;
      r[s] = s;
      for (int j = 0; j < kv_len; ++j) t[(size_t)s * max_context + j] = perm[(size_t)s * kv_len + j];
    }
    st[0] = 0;
    starts = DevBuf<int32_t>(n_seqs + 1); starts.upload(st);
    rows = DevBuf<int32_t>(n_seqs); rows.upload(r);
    kv_lens = DevBuf<int32_t>(n_seqs); kv_lens.upload(l);
    table = DevBuf<int32_t>(t.size()); table.upload(t);
    kc = XBuf((size_t)slots * KVH * D);
    vc = XBuf((size_t)slots * KVH * D);
    fill_random_forward(kc.ptr, (int64_t)kc.n, 1, 0.0f, 1.0f, 0);
    fill_random_forward(vc.ptr, (int64_t)vc.n, 2, 0.0f, 1.0f, 0);
  }
};

void bench_prefill(Rng& rng) {
  const int n_seqs = 4, len = 2048;
  Pool p(n_seqs, len, len, rng);
  const int ld = H * D;
  XBuf q((size_t)n_seqs * len * ld), out((size_t)n_seqs * len * ld);
  fill_random_forward(q.ptr, (int64_t)q.n, 3, 0.0f, 2.0f, 0);
  const float scale = 1.0f / std::sqrt((float)D);
  const float ms = median_ms([&] {
    flash_attention_prefill_forward<D, H, KVH, 64, 64>(out.ptr, ld, q.ptr, ld, p.kc.ptr, p.vc.ptr, p.table.ptr,
                                                       p.max_context, p.starts.ptr, p.rows.ptr, p.kv_lens.ptr, n_seqs,
                                                       len, scale, 0);
  });
  // causal: query i sees i + 1 keys; 2 matmuls of 2*D flops per (query, key, head)
  const double flops = (double)n_seqs * H * 4.0 * D * ((double)len * (len + 1) / 2.0);
  info(fmt_str("bench attention_prefill 4x2048 H32/KVH8/D128 BQ64/BKV64: %.3f ms, %.1f TFLOP/s", ms,
               flops / (ms * 1e-3) / 1e12));
}

template <int SPLITS>
void bench_decode(int batch, int kv_len, Rng& rng) {
  Pool p(batch, kv_len, 1, rng);
  const int ld = H * D;
  XBuf q((size_t)batch * ld), out((size_t)batch * ld);
  fill_random_forward(q.ptr, (int64_t)q.n, 4, 0.0f, 2.0f, 0);
  DevBuf<float> ws(flash_decoding_workspace_floats<D, H, KVH, SPLITS>(batch));
  const float scale = 1.0f / std::sqrt((float)D);
  const float ms = median_ms([&] {
    flash_decoding_forward<D, H, KVH, SPLITS>(out.ptr, ld, q.ptr, ld, p.kc.ptr, p.vc.ptr, p.table.ptr, p.max_context,
                                              p.rows.ptr, p.kv_lens.ptr, batch, kv_len, scale, ws.ptr, 0);
  });
  const double bytes = (double)batch * kv_len * KVH * D * sizeof(floatX) * 2.0;
  info(fmt_str("bench flash_decoding batch%d kv%d H32/KVH8/D128 splits%d: %.4f ms, %.0f GB/s of K/V", batch, kv_len,
               SPLITS, ms, bytes / (ms * 1e-3) / 1e9));
}

}  // namespace

void run_benchmarks() {
  Rng rng(5);
  bench_prefill(rng);
  for (int batch : {1, 4})
    for (int kv : {2048, 8192}) {
      bench_decode<16>(batch, kv, rng);
      bench_decode<32>(batch, kv, rng);
    }
}
