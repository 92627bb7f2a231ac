// test_elementwise.cu - GPU tests of the elementwise and data-movement kernels (embedding, add,
// rmsnorm, add_rmsnorm, rope, kv_store, rope_kv_store, slot_table, silu_mul, gather_rows) against
// CPU references written from the formulas (rope_kv_store: against rope + kv_store, bitwise), on random data, with outputs poisoned (NaN) before each launch.
//
// Tolerances (u = unit roundoff of floatX: 2^-8 for bf16): each kernel rounds to floatX one or
// more times; the CPU reference performs the same roundings in double, so a difference can only
// come from fp32-vs-double noise flipping a rounding near a tie: at most one floatX ulp (<= 2u
// relative) per rounding. Copies (embedding, kv_store, gather_rows, slot_table) must be exact.
#include "test/gpu/test_common.h"

#include "templates/kernels/add.cuh"
#include "templates/kernels/embedding.cuh"
#include "templates/kernels/gather_rows.cuh"
#include "templates/kernels/kv_store.cuh"
#include "templates/kernels/rmsnorm.cuh"
#include "templates/kernels/rope.cuh"
#include "templates/kernels/rope_kv_store.cuh"
#include "templates/kernels/silu_mul.cuh"
#include "templates/kernels/slot_table.cuh"

namespace {

const int kTokenCounts[] = {1, 3, 17, 130};

// ---- embedding --------------------------------------------------------------------------------
template <int HIDDEN>
void test_embedding(Rng& rng) {
  const int vocab = 3001;
  const auto table = rng.x_vector((size_t)vocab * HIDDEN, -1, 1);
  XBuf d_table((size_t)vocab * HIDDEN);
  d_table.upload(table);
  for (int n : kTokenCounts) {
    std::vector<int32_t> ids(n);
    for (int t = 0; t < n; ++t) ids[t] = rng.integer(0, vocab - 1);
    if (n >= 3) { ids[1] = -1; ids[n - 1] = vocab; }  // out of range: zero rows
    DevBuf<int32_t> d_ids(n);
    d_ids.upload(ids);
    XBuf d_out((size_t)n * HIDDEN);
    d_out.poison();
    embedding_forward<HIDDEN>(d_out.ptr, d_table.ptr, d_ids.ptr, n, vocab, 0);
    cudaCheck(cudaDeviceSynchronize());
    const auto got = d_out.download<uint16_t>();
    size_t bad = 0;
    for (int t = 0; t < n; ++t)
      for (int c = 0; c < HIDDEN; ++c) {
        const bool valid = ids[t] >= 0 && ids[t] < vocab;
        const uint16_t want = valid ? table[(size_t)ids[t] * HIDDEN + c] : f32_to_x(0.0f);
        bad += got[(size_t)t * HIDDEN + c] != want;
      }
    check(bad == 0, fmt_str("embedding/H%d/n%d", HIDDEN, n), fmt_str("mismatching elements=%zu (exact copy)", bad));
  }
}

// ---- add, rmsnorm, add_rmsnorm ----------------------------------------------------------------
template <int HIDDEN>
void test_norms(Rng& rng) {
  const float eps = 1e-5f;
  const auto w = rng.x_vector(HIDDEN, -2, 2);
  XBuf d_w(HIDDEN);
  d_w.upload(w);
  for (int n : kTokenCounts) {
    const size_t N = (size_t)n * HIDDEN;
    const auto x = rng.x_vector(N, -3, 3), r = rng.x_vector(N, -3, 3);
    XBuf d_x(N), d_r(N), d_sum(N), d_norm(N);
    d_x.upload(x);
    d_r.upload(r);

    // CPU reference, HF rounding order, in double
    std::vector<double> ref_add(N), ref_norm_x(N), ref_norm_s(N);
    auto norm_row = [&](const std::vector<double>& s, size_t off, std::vector<double>& out) {
      double ss = 0;
      for (int c = 0; c < HIDDEN; ++c) ss += s[off + c] * s[off + c];
      const double inv = 1.0 / std::sqrt(ss / HIDDEN + (double)eps);
      for (int c = 0; c < HIDDEN; ++c)
        out[off + c] = round_x((double)x_to_f32(w[c]) * round_x(s[off + c] * inv));
    };
    std::vector<double> xs(N);
    for (size_t i = 0; i < N; ++i) {
      ref_add[i] = round_x((double)x_to_f32(x[i]) + (double)x_to_f32(r[i]));
      xs[i] = x_to_f32(x[i]);
    }
    for (int t = 0; t < n; ++t) {
      norm_row(xs, (size_t)t * HIDDEN, ref_norm_x);
      norm_row(ref_add, (size_t)t * HIDDEN, ref_norm_s);
    }

    d_sum.poison();
    add_forward<HIDDEN>(d_sum.ptr, d_x.ptr, d_r.ptr, n, 0);
    cudaCheck(cudaDeviceSynchronize());
    // one rounding of an fp32 sum that is exact unless the exponents differ by > 16: <= 1 ulp
    auto c1 = compare(x_bits_to_f32(d_sum.download<uint16_t>()), ref_add, 0.0, 2.0 * kUnitRoundoff);
    check(c1.ok(), fmt_str("add/H%d/n%d", HIDDEN, n), c1.str());

    d_norm.poison();
    rmsnorm_forward<HIDDEN>(d_norm.ptr, d_x.ptr, d_w.ptr, eps, n, 0);
    cudaCheck(cudaDeviceSynchronize());
    // two roundings, each may flip by one ulp (2u) when fp32 noise meets a tie
    auto c2 = compare(x_bits_to_f32(d_norm.download<uint16_t>()), ref_norm_x, 1e-6, 4.0 * kUnitRoundoff);
    check(c2.ok(), fmt_str("rmsnorm/H%d/n%d", HIDDEN, n), c2.str());

    d_sum.poison();
    d_norm.poison();
    add_rmsnorm_forward<HIDDEN>(d_sum.ptr, d_norm.ptr, d_x.ptr, d_r.ptr, d_w.ptr, eps, n, 0);
    cudaCheck(cudaDeviceSynchronize());
    auto c3 = compare(x_bits_to_f32(d_sum.download<uint16_t>()), ref_add, 0.0, 2.0 * kUnitRoundoff);
    auto c4 = compare(x_bits_to_f32(d_norm.download<uint16_t>()), ref_norm_s, 1e-6, 4.0 * kUnitRoundoff);
    check(c3.ok() && c4.ok(), fmt_str("add_rmsnorm/H%d/n%d", HIDDEN, n), "sum: " + c3.str() + " normed: " + c4.str());

    // in place: sum written over x (the runtime's residual stream)
    XBuf d_inplace(N);
    d_inplace.upload(x);
    d_norm.poison();
    add_rmsnorm_forward<HIDDEN>(d_inplace.ptr, d_norm.ptr, d_inplace.ptr, d_r.ptr, d_w.ptr, eps, n, 0);
    cudaCheck(cudaDeviceSynchronize());
    auto c5 = compare(x_bits_to_f32(d_inplace.download<uint16_t>()), ref_add, 0.0, 2.0 * kUnitRoundoff);
    auto c6 = compare(x_bits_to_f32(d_norm.download<uint16_t>()), ref_norm_s, 1e-6, 4.0 * kUnitRoundoff);
    check(c5.ok() && c6.ok(), fmt_str("add_rmsnorm_inplace/H%d/n%d", HIDDEN, n), "sum: " + c5.str() + " normed: " + c6.str());
  }
}

// ---- rope ---------------------------------------------------------------------------------------
template <int D>
void test_rope(Rng& rng, double theta, int n_heads, int extra_cols, bool in_place, int max_pos) {
  RopeTable<D> table;
  for (int i = 0; i < D / 2; ++i) table.inv_freq[i] = (float)(1.0 / std::pow(theta, (2.0 * i) / D));
  for (int n : kTokenCounts) {
    const int ld = n_heads * D + extra_cols;
    const auto in = rng.x_vector((size_t)n * ld, -2, 2);
    std::vector<int32_t> pos(n);
    for (int t = 0; t < n; ++t) pos[t] = rng.integer(0, max_pos);
    pos[0] = max_pos;
    DevBuf<int32_t> d_pos(n);
    d_pos.upload(pos);
    XBuf d_in((size_t)n * ld), d_out((size_t)n * ld);
    d_in.upload(in);
    XBuf* target = in_place ? &d_in : &d_out;
    if (!in_place) d_out.poison();
    rope_forward<D>(target->ptr, ld, d_in.ptr, ld, d_pos.ptr, table, n, n_heads, 0);
    cudaCheck(cudaDeviceSynchronize());
    const auto got_bits = target->download<uint16_t>();
    std::vector<float> got;
    std::vector<double> ref;
    size_t untouched_bad = 0;
    for (int t = 0; t < n; ++t) {
      for (int h = 0; h < n_heads; ++h)
        for (int i = 0; i < D / 2; ++i) {
          const size_t a = (size_t)t * ld + h * D + i, b = a + D / 2;
          const float angle = (float)pos[t] * table.inv_freq[i];  // fp32 multiply, as HF
          const double c = std::cos((double)angle), s = std::sin((double)angle);
          const double x1 = x_to_f32(in[a]), x2 = x_to_f32(in[b]);
          ref.push_back(x1 * c - x2 * s);
          ref.push_back(x2 * c + x1 * s);
          got.push_back(x_to_f32(got_bits[a]));
          got.push_back(x_to_f32(got_bits[b]));
        }
      for (int c = n_heads * D; c < ld; ++c) {  // columns past the heads: never written
        const size_t a = (size_t)t * ld + c;
        untouched_bad += in_place ? got_bits[a] != in[a] : got_bits[a] != 0xFFFF;
      }
    }
    // one rounding of an fp32 result that is within ~1e-6 (relative to |x|) of the exact value
    auto cr = compare(got, ref, 2e-5, 2.0 * kUnitRoundoff);
    check(cr.ok() && untouched_bad == 0,
          fmt_str("rope/D%d/heads%d/theta%g/ld+%d/%s/maxpos%d/n%d", D, n_heads, theta, extra_cols,
                  in_place ? "inplace" : "outofplace", max_pos, n),
          cr.str() + fmt_str(" columns_past_heads_changed=%zu", untouched_bad));
  }
}

// ---- kv_store and slot_table --------------------------------------------------------------------
template <int KVH, int D>
void test_kv_store(Rng& rng) {
  constexpr int ROW = KVH * D;
  const int slots = 600;
  for (int n : kTokenCounts) {
    const int ld = ROW * 3 + 8 * rng.integer(0, 2);  // K and V are column ranges of a merged output
    const auto kv = rng.x_vector((size_t)n * ld, -1, 1);
    std::vector<int32_t> perm(slots - 1);
    for (int i = 0; i < slots - 1; ++i) perm[i] = i + 1;  // slot 0 is the pad slot
    std::shuffle(perm.begin(), perm.end(), rng.gen);
    std::vector<int32_t> new_slots(perm.begin(), perm.begin() + n);
    DevBuf<int32_t> d_slots(n);
    d_slots.upload(new_slots);
    XBuf d_kv((size_t)n * ld), d_kc((size_t)slots * ROW), d_vc((size_t)slots * ROW);
    d_kv.upload(kv);
    d_kc.poison();
    d_vc.poison();
    const int k_off = ROW, v_off = 2 * ROW;
    kv_store_forward<KVH, D>(d_kc.ptr, d_vc.ptr, d_kv.ptr + k_off, ld, d_kv.ptr + v_off, ld, d_slots.ptr, n, 0);
    cudaCheck(cudaDeviceSynchronize());
    const auto kc = d_kc.download<uint16_t>(), vc = d_vc.download<uint16_t>();
    std::vector<int> owner(slots, -1);
    for (int t = 0; t < n; ++t) owner[new_slots[t]] = t;
    size_t bad = 0, stray = 0;
    for (int s = 0; s < slots; ++s)
      for (int c = 0; c < ROW; ++c) {
        const size_t i = (size_t)s * ROW + c;
        if (owner[s] < 0) {
          stray += (kc[i] != 0xFFFF) + (vc[i] != 0xFFFF);
        } else {
          const size_t src = (size_t)owner[s] * ld + c;
          bad += (kc[i] != kv[src + k_off]) + (vc[i] != kv[src + v_off]);
        }
      }
    check(bad == 0 && stray == 0, fmt_str("kv_store/kvh%d/D%d/n%d", KVH, D, n),
          fmt_str("wrong=%zu writes_to_other_slots=%zu (exact copy)", bad, stray));
  }
}

// rope_kv_store (llc-fuse-rope-kv-store) must equal rope_forward over Q|K then kv_store_forward of
// the roped K and of V, bit for bit: Q, the pool rows of the step's slots, and no other writes.
// One token gets slot -1 (kv_store's guard): its Q is still roped, its K/V written nowhere.
template <int D, int KVH>
void test_rope_kv_store(Rng& rng, int q_heads, double theta) {
  constexpr int ROW = KVH * D;
  const int slots = 600, qk_cols = (q_heads + KVH) * D, ld = qk_cols + ROW + 8, ld_q = q_heads * D + 8;
  RopeTable<D> table;
  for (int i = 0; i < D / 2; ++i) table.inv_freq[i] = (float)(1.0 / std::pow(theta, (2.0 * i) / D));
  for (int n : kTokenCounts) {
    const auto qkv = rng.x_vector((size_t)n * ld, -2, 2);
    std::vector<int32_t> pos(n), perm(slots - 1);
    for (int t = 0; t < n; ++t) pos[t] = rng.integer(0, 131071);
    for (int i = 0; i < slots - 1; ++i) perm[i] = i + 1;
    std::shuffle(perm.begin(), perm.end(), rng.gen);
    std::vector<int32_t> new_slots(perm.begin(), perm.begin() + n);
    new_slots[n / 2] = -1;
    DevBuf<int32_t> d_pos(n), d_slots(n);
    d_pos.upload(pos);
    d_slots.upload(new_slots);
    XBuf d_qkv((size_t)n * ld), d_roped((size_t)n * qk_cols), d_q((size_t)n * ld_q);
    XBuf ref_kc((size_t)slots * ROW), ref_vc((size_t)slots * ROW), kc((size_t)slots * ROW), vc((size_t)slots * ROW);
    d_qkv.upload(qkv);
    for (XBuf* b : {&d_q, &ref_kc, &ref_vc, &kc, &vc}) b->poison();
    rope_forward<D>(d_roped.ptr, qk_cols, d_qkv.ptr, ld, d_pos.ptr, table, n, q_heads + KVH, 0);
    kv_store_forward<KVH, D>(ref_kc.ptr, ref_vc.ptr, d_roped.ptr + q_heads * D, qk_cols, d_qkv.ptr + qk_cols, ld,
                             d_slots.ptr, n, 0);
    rope_kv_store_forward<D, KVH>(d_q.ptr, ld_q, d_qkv.ptr, ld, d_qkv.ptr + qk_cols, ld, d_pos.ptr, table, kc.ptr,
                                  vc.ptr, d_slots.ptr, n, q_heads, 0);
    cudaCheck(cudaDeviceSynchronize());
    const auto roped = d_roped.download<uint16_t>(), q = d_q.download<uint16_t>();
    size_t q_bad = 0, q_pad_written = 0;
    for (int t = 0; t < n; ++t)
      for (int c = 0; c < ld_q; ++c) {
        const uint16_t got = q[(size_t)t * ld_q + c];
        if (c < q_heads * D) q_bad += got != roped[(size_t)t * qk_cols + c];
        else q_pad_written += got != 0xFFFF;
      }
    const bool caches_equal = kc.download<uint16_t>() == ref_kc.download<uint16_t>() &&
                              vc.download<uint16_t>() == ref_vc.download<uint16_t>();
    check(q_bad == 0 && q_pad_written == 0 && caches_equal,
          fmt_str("rope_kv_store/D%d/q%d/kvh%d/n%d", D, q_heads, KVH, n),
          fmt_str("q differing from rope_forward: %zu, q padding written: %zu, K/V pools equal to "
                  "rope + kv_store (incl. untouched slots and the slot -1 token): %s",
                  q_bad, q_pad_written, caches_equal ? "yes" : "no"));
  }
}

void test_slot_table(Rng& rng) {
  const int max_context = 700, rows = 6;
  const std::vector<std::vector<int>> cases = {{1}, {3, 1, 17}, {130, 5, 1, 64}};
  for (const auto& lens : cases) {
    const int n_seqs = (int)lens.size();
    std::vector<int32_t> starts(n_seqs + 1, 0), seq_rows(n_seqs), positions, new_slots;
    std::vector<int> row_perm = {0, 1, 2, 3, 4};
    std::shuffle(row_perm.begin(), row_perm.end(), rng.gen);
    for (int s = 0; s < n_seqs; ++s) {
      starts[s + 1] = starts[s] + lens[s];
      seq_rows[s] = row_perm[s];
      const int first = rng.integer(0, max_context - lens[s]);  // a cached prefix of random length
      for (int i = 0; i < lens[s]; ++i) {
        positions.push_back(first + i);
        new_slots.push_back(rng.integer(1, 1 << 20));
      }
    }
    const int n = starts[n_seqs];
    std::vector<int32_t> table((size_t)rows * max_context);
    for (auto& v : table) v = rng.integer(1, 1 << 20);
    auto expect = table;
    for (int s = 0; s < n_seqs; ++s)
      for (int t = starts[s]; t < starts[s + 1]; ++t) expect[(size_t)seq_rows[s] * max_context + positions[t]] = new_slots[t];
    DevBuf<int32_t> d_table(table.size()), d_starts(n_seqs + 1), d_rows(n_seqs), d_pos(n), d_new(n);
    d_table.upload(table);
    d_starts.upload(starts);
    d_rows.upload(seq_rows);
    d_pos.upload(positions);
    d_new.upload(new_slots);
    slot_table_update_forward(d_table.ptr, max_context, d_starts.ptr, d_rows.ptr, d_pos.ptr, d_new.ptr, n_seqs, 0);
    cudaCheck(cudaDeviceSynchronize());
    const auto got = d_table.download<int32_t>();
    size_t bad = 0;
    for (size_t i = 0; i < got.size(); ++i) bad += got[i] != expect[i];
    check(bad == 0, fmt_str("slot_table/seqs%d/tokens%d", n_seqs, n), fmt_str("wrong_entries=%zu (exact)", bad));
  }
}

// ---- silu_mul -------------------------------------------------------------------------------------
template <int INTER>
void test_silu_mul(Rng& rng) {
  for (int n : kTokenCounts) {
    const int ld = 2 * INTER;  // gate and up are the two halves of a merged gate/up projection
    auto gu = rng.x_vector((size_t)n * ld, -6, 6);
    gu[0] = f32_to_x(-120.0f);  // exp overflow region: silu -> -0
    if (ld > 1) gu[1] = f32_to_x(95.0f);
    XBuf d_gu((size_t)n * ld), d_out((size_t)n * INTER);
    d_gu.upload(gu);
    d_out.poison();
    silu_mul_forward<INTER>(d_out.ptr, d_gu.ptr, ld, d_gu.ptr + INTER, ld, n, 0);
    cudaCheck(cudaDeviceSynchronize());
    std::vector<double> ref((size_t)n * INTER);
    for (int t = 0; t < n; ++t)
      for (int i = 0; i < INTER; ++i) {
        const double g = x_to_f32(gu[(size_t)t * ld + i]), u = x_to_f32(gu[(size_t)t * ld + INTER + i]);
        ref[(size_t)t * INTER + i] = round_x(round_x(g / (1.0 + std::exp(-g))) * u);
      }
    auto c = compare(x_bits_to_f32(d_out.download<uint16_t>()), ref, 1e-6, 4.0 * kUnitRoundoff);
    check(c.ok(), fmt_str("silu_mul/I%d/n%d", INTER, n), c.str());
  }
}

// ---- gather_rows ----------------------------------------------------------------------------------
template <int HIDDEN>
void test_gather_rows(Rng& rng) {
  const int n_in = 200;
  const auto in = rng.x_vector((size_t)n_in * HIDDEN, -1, 1);
  XBuf d_in((size_t)n_in * HIDDEN);
  d_in.upload(in);
  for (int n : kTokenCounts) {
    std::vector<int32_t> rows(n);
    for (auto& r : rows) r = rng.integer(0, n_in - 1);
    if (n > 2) rows[2] = rows[0];  // repeats are fine
    DevBuf<int32_t> d_rows(n);
    d_rows.upload(rows);
    XBuf d_out((size_t)n * HIDDEN);
    d_out.poison();
    gather_rows_forward<HIDDEN>(d_out.ptr, d_in.ptr, d_rows.ptr, n, 0);
    cudaCheck(cudaDeviceSynchronize());
    const auto got = d_out.download<uint16_t>();
    size_t bad = 0;
    for (int i = 0; i < n; ++i)
      for (int c = 0; c < HIDDEN; ++c) bad += got[(size_t)i * HIDDEN + c] != in[(size_t)rows[i] * HIDDEN + c];
    check(bad == 0, fmt_str("gather_rows/H%d/n%d", HIDDEN, n), fmt_str("wrong=%zu (exact copy)", bad));
  }
}

}  // namespace

void run_elementwise_tests() {
  Rng rng(1234);
  test_embedding<64>(rng);
  test_embedding<1536>(rng);
  test_embedding<2048>(rng);
  test_embedding<4096>(rng);

  test_norms<64>(rng);
  test_norms<128>(rng);
  test_norms<256>(rng);
  test_norms<1536>(rng);
  test_norms<2048>(rng);
  test_norms<4096>(rng);

  // q heads (32) and k heads (8 / 2) inside a merged QKV row; llama2/3 thetas; positions up to 128K
  test_rope<128>(rng, 500000.0, 32, 2 * 8 * 128, false, 131071);
  test_rope<128>(rng, 500000.0, 8, 0, true, 131071);
  test_rope<128>(rng, 10000.0, 32, 0, true, 4095);
  test_rope<64>(rng, 10000.0, 12, 2 * 2 * 64, false, 32767);
  test_rope<64>(rng, 1000000.0, 2, 8, true, 131071);

  test_kv_store<8, 128>(rng);
  test_kv_store<32, 128>(rng);
  test_kv_store<4, 128>(rng);
  test_kv_store<2, 64>(rng);
  test_rope_kv_store<128, 8>(rng, 32, 500000.0);  // Llama-3.1-8B
  test_rope_kv_store<64, 8>(rng, 32, 500000.0);   // Llama-3.2-1B
  test_rope_kv_store<128, 2>(rng, 12, 1000000.0); // Qwen2-1.5B
  test_slot_table(rng);

  test_silu_mul<64>(rng);
  test_silu_mul<5632>(rng);
  test_silu_mul<8192>(rng);
  test_silu_mul<8960>(rng);
  test_silu_mul<11008>(rng);
  test_silu_mul<14336>(rng);

  test_gather_rows<64>(rng);
  test_gather_rows<1536>(rng);
  test_gather_rows<4096>(rng);
}
