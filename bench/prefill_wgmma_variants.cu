// prefill_wgmma_variants.cu - a sweep of templates/kernels/prefill_wgmma.cuh's tile shapes (m64
// slices a block, stages, k splits) at the 8B and 1B projection shapes, for a 52-row short prefill
// (the four seed prompts) and a 13-row one, against the mma.sync GEMV the compiler picks today
// (gemv.cuh, or gemv_prefill.cuh for weights of >= 120 x 128 rows) and a device copy measured here;
// plus the checks that decide whether a variant may be used: the largest difference from the
// mma.sync result, and the bit-identity of a 13-row step's rows with the same rows in a 52-row step.
// Build (sm_90a for wgmma): nvcc -arch=sm_90a -O3 -std=c++17 -I. bench/prefill_wgmma_variants.cu
#include <vector>

#include "templates/kernels/convert.cuh"
#include "templates/kernels/gemv.cuh"
#include "templates/kernels/gemv_prefill.cuh"
#include "templates/kernels/prefill_wgmma.cuh"
#include "test/gpu/test_common.h"

namespace {

struct Result {
  double ms;
  std::vector<uint16_t> out;
};

template <int K>
void sweep(const char* name, int N, double copy_gbps) {
  const size_t bytes = (size_t)N * K * sizeof(floatX);
  const std::vector<XBuf> ws = weight_copies(N, K);
  const int copies = (int)ws.size();
  XBuf x((size_t)128 * K);
  fill_random_forward(x.ptr, (int64_t)x.n, 3, 0.0f, 1.0f, 0);
  XBuf out((size_t)128 * N);
  const bool wide = N >= 120 * 128;
  auto time_rows = [&](int rows, const std::function<void(const floatX*, int)>& run) {
    constexpr int kBurst = 10;
    int call = 0;
    const double ms = median_ms([&] {
      for (int i = 0; i < kBurst; ++i) run(ws[call++ % copies].ptr, rows);
    }) / kBurst;
    cudaCheck(cudaMemset(out.ptr, 0, out.n * 2));
    run(ws[0].ptr, rows);
    cudaCheck(cudaDeviceSynchronize());
    return Result{ms, out.download<uint16_t>()};
  };
  auto report = [&](const char* kernel, int rows, const Result& r, const Result* ref, const Result* part) {
    double max_rel = 0.0;
    if (ref != nullptr)
      for (size_t i = 0; i < (size_t)rows * N; ++i) {
        const double a = x_to_f32(r.out[i]), b = x_to_f32(ref->out[i]);
        max_rel = std::max(max_rel, std::fabs(a - b) / (std::fabs(b) + 1e-2));
      }
    size_t differ = 0;
    if (part != nullptr) differ = memcmp(part->out.data(), r.out.data(), (size_t)13 * N * 2) != 0;
    const double gbps = bytes / (r.ms * 1e-3) / 1e9;
    info(fmt_str("sweep %-8s %-26s rows%d: %.4f ms = %.2f of copy; max rel diff vs gemv %.3g; 13-row step differs: %s",
                 name, kernel, rows, r.ms, gbps / copy_gbps, max_rel, part ? (differ ? "YES" : "no") : "-"));
  };
  auto gemv = [&](const floatX* w, int rows) {
    if (wide) gemv_prefill_forward<K, 64, floatX>(out.ptr, N, x.ptr, K, w, nullptr, rows, N, 0);
    else gemv_forward<K, 64, floatX>(out.ptr, N, x.ptr, K, w, nullptr, rows, N, 0);
  };
  const Result g52 = time_rows(52, gemv);
  report(wide ? "gemv_prefill" : "gemv", 52, g52, nullptr, nullptr);
  auto variant = [&](auto mt, auto stages, int target_blocks) {
    constexpr int MT = decltype(mt)::value, ST = decltype(stages)::value;
    const int splits = prefill_wgmma::choose_splits(N, K, 64 * MT, target_blocks);
    auto run = [&](const floatX* w, int rows) {
      if (rows <= 16) prefill_wgmma_launch<K, MT, 16, ST>(out.ptr, N, x.ptr, K, w, nullptr, rows, N, splits, 0);
      else prefill_wgmma_launch<K, MT, 64, ST>(out.ptr, N, x.ptr, K, w, nullptr, rows, N, splits, 0);
    };
    const Result r13 = time_rows(13, run), r52 = time_rows(52, run);
    const std::string label = fmt_str("wgmma MT%d S%d splits%d", MT, ST, splits);
    report(label.c_str(), 52, r52, &g52, &r13);
    report(label.c_str(), 13, r13, nullptr, nullptr);
  };
  using I1 = std::integral_constant<int, 1>;
  using I2 = std::integral_constant<int, 2>;
  using S4 = std::integral_constant<int, 4>;
  using S6 = std::integral_constant<int, 6>;
  variant(I1{}, S6{}, 132);  // the generated programs' shape
  variant(I1{}, S6{}, 264);
  variant(I1{}, S4{}, 264);
  variant(I2{}, S4{}, 132);
  variant(I2{}, S4{}, 264);

  // 128-row steps: the generated programs' shape (one m64 slice, 4 stages) against two slices a
  // block (x read once for 128 weight rows), all with the programs' k split (from 64-row tiles),
  // which keeps each output's sums, so their results must be bit-identical.
  using S3 = std::integral_constant<int, 3>;
  const int splits128 = prefill_wgmma::choose_splits(N, K, 64, prefill_wgmma::TARGET_BLOCKS);
  auto run128 = [&](auto mt, auto stages) {
    constexpr int MT = decltype(mt)::value, ST = decltype(stages)::value;
    return time_rows(128, [&](const floatX* w, int rows) {
      prefill_wgmma_launch<K, MT, 128, ST>(out.ptr, N, x.ptr, K, w, nullptr, rows, N, splits128, 0);
    });
  };
  const Result shipped = run128(I1{}, S4{});
  auto report128 = [&](const char* label, const Result& r) {
    const bool same = memcmp(r.out.data(), shipped.out.data(), (size_t)128 * N * 2) == 0;
    info(fmt_str("sweep %-8s %-26s rows128: %.4f ms = %.2f of copy; bit-identical to MT1 S4: %s", name, label,
                 r.ms, bytes / (r.ms * 1e-3) / 1e9 / copy_gbps, same ? "yes" : "NO"));
  };
  report128(fmt_str("wgmma MT1 S4 splits%d", splits128).c_str(), shipped);
  report128("wgmma MT2 S3", run128(I2{}, S3{}));
  report128("wgmma MT2 S4", run128(I2{}, S4{}));
}

}  // namespace

int main() {
  const double copy = measure_copy_gbps();
  info(fmt_str("copy bandwidth (read + write): %.0f GB/s", copy));
  sweep<4096>("qkv_8b", 6144, copy);
  sweep<4096>("o_8b", 4096, copy);
  sweep<4096>("gate_up_8b", 28672, copy);
  sweep<14336>("down_8b", 4096, copy);
  sweep<2048>("qkv_1b", 3072, copy);
  sweep<2048>("o_1b", 2048, copy);
  sweep<2048>("gu_1b", 16384, copy);
  sweep<8192>("down_1b", 2048, copy);
  return 0;
}
