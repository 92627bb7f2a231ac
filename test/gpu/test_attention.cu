// test_attention.cu - GPU tests of the attention kernels (FlashAttention-2 prefill, flash-decoding,
// and the reference kernel) against an fp64 CPU reference, on batches of sequences of very
// different lengths with cached prefixes, K/V scattered over random non-contiguous pool slots,
// GQA groups 1, 4, 6 and 8.
// Traps: unassigned pool slots and the slot-table entries past each kv_len point at NaN-filled
// slots, so a kernel that reads a key it must not see produces NaN; outputs are poisoned (NaN) and
// each row carries 8 extra columns that must stay poisoned.
// Tolerance (bf16): the kernels round P to bf16 for P V (relative 2^-9 per element, averaging out)
// and round the output once (2^-9 relative); outputs are averages of V in [-1, 1], so a max abs
// error of 2e-2 and a relative L2 error of 1e-2 leave a wide margin over the expected ~3e-3, while
// any indexing or masking error gives O(1) errors.
#include "test/gpu/test_common.h"

#include "templates/kernels/attention_decode.cuh"
#include "templates/kernels/attention_prefill.cuh"
#include "templates/kernels/attention_reference.cuh"

namespace {

const double kAttnMaxAbs = 2e-2, kAttnRelL2 = 1e-2;

// One step's worth of attention inputs in host and device memory.
struct AttnData {
  int D, H, KVH;
  int n_seqs, n_tokens, max_q_len, max_context, ld_q, ld_out;
  int64_t kv_slots;
  std::vector<int> q_lens, kv_lens;
  std::vector<int32_t> seq_starts, seq_rows, kv_lens32, slot_table;
  std::vector<uint16_t> q, kc, vc;
  DevBuf<int32_t> d_starts, d_rows, d_kv_lens, d_table;
  XBuf d_q, d_kc, d_vc, d_out;

  AttnData(int D_, int H_, int KVH_, const std::vector<int>& q_lens_, const std::vector<int>& kv_lens_, double q_range,
           Rng& rng)
      : D(D_), H(H_), KVH(KVH_), q_lens(q_lens_), kv_lens(kv_lens_) {
    n_seqs = (int)q_lens.size();
    seq_starts.assign(n_seqs + 1, 0);
    max_q_len = 0;
    int max_kv = 0;
    int64_t total_kv = 0;
    for (int s = 0; s < n_seqs; ++s) {
      seq_starts[s + 1] = seq_starts[s] + q_lens[s];
      max_q_len = std::max(max_q_len, q_lens[s]);
      max_kv = std::max(max_kv, kv_lens[s]);
      total_kv += kv_lens[s];
    }
    n_tokens = seq_starts[n_seqs];
    max_context = max_kv + 37;
    ld_q = (H + 2 * KVH) * D;  // Q is the first column range of a merged QKV output
    ld_out = H * D + 8;        // 8 columns that must never be written
    // pool: slot 0 = pad slot (finite), slot 1 = NaN trap, the rest scattered, unassigned ones NaN
    kv_slots = total_kv + 2 + 61;
    const size_t row = (size_t)KVH * D;
    kc.assign((size_t)kv_slots * row, 0xFFFF);
    vc.assign((size_t)kv_slots * row, 0xFFFF);
    for (size_t i = 0; i < row; ++i) { kc[i] = rng.x_uniform(-1, 1); vc[i] = rng.x_uniform(-1, 1); }
    std::vector<int32_t> free_slots;
    for (int64_t sl = 2; sl < kv_slots; ++sl) free_slots.push_back((int32_t)sl);
    std::shuffle(free_slots.begin(), free_slots.end(), rng.gen);
    // slot table: n_seqs rows in a shuffled order, then the pad row (all slot 0)
    std::vector<int32_t> rows(n_seqs);
    for (int s = 0; s < n_seqs; ++s) rows[s] = s;
    std::shuffle(rows.begin(), rows.end(), rng.gen);
    seq_rows = rows;
    slot_table.assign((size_t)(n_seqs + 1) * max_context, 1);
    for (int c = 0; c < max_context; ++c) slot_table[(size_t)n_seqs * max_context + c] = 0;
    size_t next = 0;
    for (int s = 0; s < n_seqs; ++s)
      for (int j = 0; j < kv_lens[s]; ++j) {
        const int32_t sl = free_slots[next++];
        slot_table[(size_t)seq_rows[s] * max_context + j] = sl;
        for (size_t i = 0; i < row; ++i) {
          kc[(size_t)sl * row + i] = rng.x_uniform(-1, 1);
          vc[(size_t)sl * row + i] = rng.x_uniform(-1, 1);
        }
      }
    q = rng.x_vector((size_t)n_tokens * ld_q, -q_range, q_range);
    kv_lens32.assign(kv_lens.begin(), kv_lens.end());

    d_starts = DevBuf<int32_t>(n_seqs + 1);
    d_starts.upload(seq_starts);
    d_rows = DevBuf<int32_t>(n_seqs);
    d_rows.upload(seq_rows);
    d_kv_lens = DevBuf<int32_t>(n_seqs);
    d_kv_lens.upload(kv_lens32);
    d_table = DevBuf<int32_t>(slot_table.size());
    d_table.upload(slot_table);
    d_q = XBuf(q.size());
    d_q.upload(q);
    d_kc = XBuf(kc.size());
    d_kc.upload(kc);
    d_vc = XBuf(vc.size());
    d_vc.upload(vc);
    d_out = XBuf((size_t)n_tokens * ld_out);
  }

  // fp64 reference of the head columns of every token, for the given kv lengths.
  std::vector<double> reference(const std::vector<int>& lens) const {
    const double scale = 1.0 / std::sqrt((double)D);
    const int group = H / KVH;
    std::vector<double> ref((size_t)n_tokens * H * D, 0.0);
    std::vector<double> p, qd(D);
    for (int s = 0; s < n_seqs; ++s) {
      const int32_t* slots = &slot_table[(size_t)seq_rows[s] * max_context];
      for (int i = 0; i < q_lens[s]; ++i) {
        const int t = seq_starts[s] + i, pos = lens[s] - q_lens[s] + i;
        for (int h = 0; h < H; ++h) {
          const int kvh = h / group;
          for (int d = 0; d < D; ++d) qd[d] = x_to_f32(q[(size_t)t * ld_q + (size_t)h * D + d]);
          p.assign(pos + 1, 0.0);
          double m = -INFINITY;
          for (int j = 0; j <= pos; ++j) {
            const uint16_t* k = &kc[((size_t)slots[j] * KVH + kvh) * D];
            double acc = 0;
            for (int d = 0; d < D; ++d) acc += qd[d] * x_to_f32(k[d]);
            p[j] = acc * scale;
            m = std::max(m, p[j]);
          }
          double l = 0;
          for (int j = 0; j <= pos; ++j) { p[j] = std::exp(p[j] - m); l += p[j]; }
          double* o = &ref[((size_t)t * H + h) * D];
          for (int j = 0; j <= pos; ++j) {
            const uint16_t* v = &vc[((size_t)slots[j] * KVH + kvh) * D];
            const double w = p[j] / l;
            for (int d = 0; d < D; ++d) o[d] += w * x_to_f32(v[d]);
          }
        }
      }
    }
    return ref;
  }

  // Compare d_out (head columns) with ref; the 8 padding columns of each row must be untouched.
  bool verify(const std::string& name, const std::vector<double>& ref) const {
    const auto bits = d_out.download<uint16_t>();
    std::vector<float> got((size_t)n_tokens * H * D);
    size_t stray = 0;
    for (int t = 0; t < n_tokens; ++t) {
      for (int c = 0; c < H * D; ++c) got[(size_t)t * H * D + c] = x_to_f32(bits[(size_t)t * ld_out + c]);
      for (int c = H * D; c < ld_out; ++c) stray += bits[(size_t)t * ld_out + c] != 0xFFFF;
    }
    const CompareResult r = compare(got, ref, kAttnMaxAbs, 0.0);
    const bool ok = r.ok() && r.rel_l2 <= kAttnRelL2 && stray == 0;
    return check(ok, name, r.str() + fmt_str(" writes_past_heads=%zu (bounds: max_abs<=%.0e rel_l2<=%.0e)", stray,
                                             kAttnMaxAbs, kAttnRelL2));
  }
};

std::string lens_str(const std::vector<int>& q_lens, const std::vector<int>& kv_lens) {
  std::string s;
  for (size_t i = 0; i < q_lens.size(); ++i) s += fmt_str("%s%d/%d", i ? "," : "", q_lens[i], kv_lens[i]);
  return s;
}

template <int D, int H, int KVH, int BQ, int BKV>
void test_prefill(const std::vector<int>& q_lens, const std::vector<int>& kv_lens, double q_range, bool also_reference,
                  Rng& rng) {
  AttnData a(D, H, KVH, q_lens, kv_lens, q_range, rng);
  const auto ref = a.reference(a.kv_lens);
  const float scale = 1.0f / std::sqrt((float)D);
  const std::string tag = fmt_str("D%d/H%d/KVH%d/q%g/[%s]", D, H, KVH, q_range, lens_str(q_lens, kv_lens).c_str());
  a.d_out.poison();
  flash_attention_prefill_forward<D, H, KVH, BQ, BKV>(a.d_out.ptr, a.ld_out, a.d_q.ptr, a.ld_q, a.d_kc.ptr, a.d_vc.ptr,
                                                      a.d_table.ptr, a.max_context, a.d_starts.ptr, a.d_rows.ptr,
                                                      a.d_kv_lens.ptr, a.n_seqs, a.max_q_len, scale, 0);
  cudaCheck(cudaDeviceSynchronize());
  a.verify(fmt_str("attention_prefill/BQ%d/BKV%d/", BQ, BKV) + tag, ref);
  if (also_reference) {
    a.d_out.poison();
    attention_reference_forward<D, H, KVH>(a.d_out.ptr, a.ld_out, a.d_q.ptr, a.ld_q, a.d_kc.ptr, a.d_vc.ptr,
                                           a.d_table.ptr, a.max_context, a.d_starts.ptr, a.d_rows.ptr,
                                           a.d_kv_lens.ptr, a.n_seqs, a.max_q_len, scale, 0);
    cudaCheck(cudaDeviceSynchronize());
    a.verify("attention_reference/" + tag, ref);
  }
}

template <int D, int H, int KVH, int SPLITS>
void test_decode(const std::vector<int>& kv_lens, double q_range, bool also_reference, bool graph_replay, Rng& rng) {
  const std::vector<int> q_lens(kv_lens.size(), 1);
  AttnData a(D, H, KVH, q_lens, kv_lens, q_range, rng);
  const float scale = 1.0f / std::sqrt((float)D);
  const int max_seqs = a.n_seqs + 3;  // the runtime sizes the workspace for its max batch
  DevBuf<float> ws(flash_decoding_workspace_floats<D, H, KVH, SPLITS>(max_seqs));
  ws.poison();
  const std::string tag = fmt_str("D%d/H%d/KVH%d/q%g/kv[%s]", D, H, KVH, q_range, lens_str(q_lens, kv_lens).c_str());
  const auto ref = a.reference(a.kv_lens);
  // Sequences [first, first + count) of the batch, as a step of their own (the metadata, q and
  // out rows offset), with max_kv_len = the longest of their kv_lens (the short kernel alone when
  // that is at most SHORT_ROWS) or, with `any_len`, max_context (the general path).
  auto launch = [&](int first, int count, cudaStream_t stream, bool any_len = false) {
    int max_kv_len = 0;
    for (int s = first; s < first + count; ++s) max_kv_len = std::max(max_kv_len, a.kv_lens[s]);
    flash_decoding_forward<D, H, KVH, SPLITS>(
        a.d_out.ptr + (size_t)first * a.ld_out, a.ld_out, a.d_q.ptr + (size_t)first * a.ld_q, a.ld_q, a.d_kc.ptr,
        a.d_vc.ptr, a.d_table.ptr, a.max_context, a.d_rows.ptr + first, a.d_kv_lens.ptr + first, count,
        any_len ? a.max_context : max_kv_len, scale, ws.ptr, stream);
  };
  a.d_out.poison();
  launch(0, a.n_seqs, 0);
  cudaCheck(cudaDeviceSynchronize());
  a.verify(fmt_str("attention_decode/splits%d/", SPLITS) + tag, ref);
  const auto batch_bits = a.d_out.download<uint16_t>();

  // The general path (max_kv_len past SHORT_ROWS) gives every sequence the same bits: a short
  // sequence takes the short kernel on either path.
  a.d_out.poison();
  launch(0, a.n_seqs, 0, /*any_len=*/true);
  cudaCheck(cudaDeviceSynchronize());
  check(a.d_out.download<uint16_t>() == batch_bits, fmt_str("attention_decode_general_path/splits%d/", SPLITS) + tag,
        "max_kv_len = max_context, bitwise equal to the exact bound");

  // Three more launches in a row, bitwise the first launch's (the workspace's stale records from
  // the launch before must not leak in).
  a.d_out.poison();
  for (int rep = 0; rep < 3; ++rep) launch(0, a.n_seqs, 0);
  cudaCheck(cudaDeviceSynchronize());
  check(a.d_out.download<uint16_t>() == batch_bits, fmt_str("attention_decode_relaunch/splits%d/", SPLITS) + tag,
        "three launches in a row, bitwise equal to the first");
  // Batch invariance: each sequence alone gives bitwise its row of the batch (alone, a short
  // sequence's step launches the short kernel only).
  a.d_out.poison();
  for (int s = 0; s < a.n_seqs; ++s) launch(s, 1, 0);
  cudaCheck(cudaDeviceSynchronize());
  check(a.d_out.download<uint16_t>() == batch_bits, fmt_str("attention_decode_alone/splits%d/", SPLITS) + tag,
        "each sequence alone, bitwise equal to its row of the batch");

  if (also_reference) {  // the reference kernel in decode form: seq_starts = 0..n, max_q_len = 1
    a.d_out.poison();
    attention_reference_forward<D, H, KVH>(a.d_out.ptr, a.ld_out, a.d_q.ptr, a.ld_q, a.d_kc.ptr, a.d_vc.ptr,
                                           a.d_table.ptr, a.max_context, a.d_starts.ptr, a.d_rows.ptr,
                                           a.d_kv_lens.ptr, a.n_seqs, 1, scale, 0);
    cudaCheck(cudaDeviceSynchronize());
    a.verify("attention_reference_decode/" + tag, ref);
  }

  if (graph_replay) {
    // One captured graph serves every context length: shrink the lengths in device memory and
    // replay. Entries past the new lengths point at real keys now, so this checks that the kernel
    // honours kv_lens read at run time.
    cudaStream_t stream;
    cudaCheck(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
    cudaGraph_t graph;
    cudaGraphExec_t exec;
    cudaCheck(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal));
    launch(0, a.n_seqs, stream, /*any_len=*/true);  // the bound holds for the shorter lengths too
    cudaCheck(cudaStreamEndCapture(stream, &graph));
    cudaCheck(cudaGraphInstantiate(&exec, graph, 0));
    std::vector<int> shorter(kv_lens.size());
    for (size_t s = 0; s < kv_lens.size(); ++s) shorter[s] = std::max(1, kv_lens[s] - rng.integer(0, kv_lens[s] / 2 + 1));
    std::vector<int32_t> shorter32(shorter.begin(), shorter.end());
    a.d_kv_lens.upload(shorter32);
    a.d_out.poison();
    cudaCheck(cudaGraphLaunch(exec, stream));
    cudaCheck(cudaStreamSynchronize(stream));
    a.verify(fmt_str("attention_decode_graph_replay/splits%d/D%d/H%d/KVH%d/kv[%s]", SPLITS, D, H, KVH,
                     lens_str(q_lens, shorter).c_str()),
             a.reference(shorter));
    cudaCheck(cudaGraphExecDestroy(exec));
    cudaCheck(cudaGraphDestroy(graph));
    cudaCheck(cudaStreamDestroy(stream));
  }
}

}  // namespace

void run_attention_tests() {
  Rng rng(777);
  // Prefill: ragged batches, cached prefixes (kv_len > q_len), single-token prompts.
  test_prefill<128, 32, 8, 64, 64>({1, 7, 64, 200, 513}, {1, 7, 114, 263, 513}, 3.0, true, rng);
  test_prefill<128, 32, 8, 64, 64>({130, 3, 1}, {130, 3, 300}, 12.0, false, rng);  // peaked softmax
  test_prefill<128, 32, 8, 128, 64>({1, 7, 200, 513}, {1, 70, 263, 513}, 3.0, false, rng);  // > 48 KiB smem
  test_prefill<64, 12, 2, 64, 64>({17, 130, 1, 65}, {100, 130, 300, 65}, 3.0, true, rng);
  test_prefill<128, 32, 32, 64, 64>({3, 129}, {3, 200}, 3.0, false, rng);
  test_prefill<128, 32, 4, 64, 64>({64, 33, 1}, {64, 97, 1}, 3.0, true, rng);
  test_prefill<64, 32, 8, 64, 64>({130, 1, 64}, {130, 2000, 64}, 3.0, false, rng);

  // Decode: kv_len 1 .. 8192 mixed in one batch, several split counts (empty splits included);
  // sequences of one split (kv_len <= 64) and of many; kv_len 0 (a guard: output 0). Every case
  // also checks three launches in a row and each sequence alone against the batch, bitwise.
  const std::vector<int> mixed = {1, 2, 100, 3000, 8192};
  test_decode<128, 32, 8, 1>(mixed, 3.0, false, false, rng);
  test_decode<128, 32, 8, 7>(mixed, 3.0, false, false, rng);
  test_decode<128, 32, 8, 16>(mixed, 3.0, true, true, rng);
  test_decode<128, 32, 8, 64>(mixed, 12.0, false, false, rng);
  test_decode<128, 32, 32, 16>({2, 8192, 1, 100}, 3.0, false, false, rng);
  test_decode<128, 32, 4, 32>({3000, 1, 2, 17}, 3.0, true, false, rng);
  test_decode<64, 12, 2, 16>(mixed, 3.0, true, true, rng);
  test_decode<64, 32, 8, 8>({8192, 1, 2, 100, 3000, 5}, 3.0, false, false, rng);
  // Short sequences only (the short kernel alone), with kv_len 0, and SHORT_ROWS and one past it.
  test_decode<128, 32, 8, 17>({384, 0, 64, 65, 129, 200}, 3.0, true, false, rng);
  test_decode<64, 32, 8, 17>({flash_decoding::SHORT_ROWS, flash_decoding::SHORT_ROWS + 1, 1, 7}, 3.0, false, false, rng);
  test_decode<128, 32, 4, 17>({flash_decoding::SHORT_ROWS, 1}, 12.0, true, true, rng);
}
