// GFLOP/s of attune_cpu_linear_{f32,bf16} and attune_cpu_mlp_f32 with 1 and 2
// threads (the runtime's split: contiguous ranges of the grid). CPUTIME=1 times
// the 1-thread runs by thread CPU time (for a shared, busy machine).
// Build: clang++ -O2 -std=c++17 -Iinclude bench/cpu/gemm_kernel_bench.cpp \
//          build-k/codegen/cpu/kernels/libattune_cpu_kernels.a -lpthread
// Run:   ./a.out [M...]   (default M = 64 512 2048)
#include "attune/abi/Families.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <thread>
#include <vector>

extern "C" {
int attune_cpu_linear_f32(const attune_kernel_args *, attune_kernel_ctx *,
                          int64_t, int64_t);
int attune_cpu_linear_f32_check(const attune_kernel_args *, int64_t *, char *,
                                size_t);
int attune_cpu_linear_bf16(const attune_kernel_args *, attune_kernel_ctx *,
                           int64_t, int64_t);
int attune_cpu_linear_bf16_check(const attune_kernel_args *, int64_t *, char *,
                                 size_t);
int attune_cpu_mlp_f32(const attune_kernel_args *, attune_kernel_ctx *, int64_t,
                       int64_t);
int attune_cpu_mlp_f32_check(const attune_kernel_args *, int64_t *, char *,
                             size_t);
}

using Fn = int (*)(const attune_kernel_args *, attune_kernel_ctx *, int64_t,
                   int64_t);
using Check = int (*)(const attune_kernel_args *, int64_t *, char *, size_t);

static double run(Fn fn, Check check, attune_kernel_args &a, int threads,
                  int reps) {
  int64_t grid = 0;
  char err[256];
  if (check(&a, &grid, err, sizeof err)) {
    std::printf("check failed: %s\n", err);
    std::exit(1);
  }
  auto once = [&] {
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t)
      pool.emplace_back([&, t] {
        char e[256];
        attune_kernel_ctx ctx{t, threads, e, sizeof e};
        fn(&a, &ctx, grid * t / threads, grid * (t + 1) / threads);
      });
    for (auto &p : pool)
      p.join();
  };
  once(); // warm (buffers, pages)
  double best = 1e30;
  if (threads == 1 && std::getenv("CPUTIME")) {
    // Thread CPU time of a call on this thread: immune to time slicing on a
    // shared machine.
    for (int r = 0; r < reps; ++r) {
      timespec t0, t1;
      char e[256];
      attune_kernel_ctx ctx{0, 1, e, sizeof e};
      clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
      fn(&a, &ctx, 0, grid);
      clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1);
      double s = (t1.tv_sec - t0.tv_sec) + 1e-9 * (t1.tv_nsec - t0.tv_nsec);
      best = s < best ? s : best;
    }
    return best;
  }
  for (int r = 0; r < reps; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    once();
    double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
            .count();
    best = s < best ? s : best;
  }
  return best;
}

int main(int argc, char **argv) {
  std::vector<int64_t> Ms = {64, 512, 2048};
  if (argc > 1) {
    Ms.clear();
    for (int i = 1; i < argc; ++i)
      Ms.push_back(std::atoll(argv[i]));
  }
  const int64_t KN[][2] = {{256, 768}, {4096, 4096}};
  for (int dt = 0; dt < 2; ++dt)
    for (int64_t M : Ms)
      for (auto &kn : KN) {
        int64_t K = kn[0], N = kn[1];
        size_t es = dt == 0 ? 4 : 2;
        std::vector<uint8_t> x(M * K * es), w(N * K * es), b(N * es),
            y(M * N * es);
        for (size_t i = 0; i < x.size(); i += 2)
          x[i + 1] = 0x3f, x[i] = (uint8_t)i;
        for (size_t i = 0; i < w.size(); i += 2)
          w[i + 1] = 0x3c, w[i] = (uint8_t)(i * 7);
        void *bufs[4] = {x.data(), w.data(), b.data(), y.data()};
        uint64_t sizes[4] = {x.size(), w.size(), b.size(), y.size()};
        int64_t ints[3] = {M, N, K};
        attune_kernel_args a{};
        a.buffers = bufs;
        a.sizes = sizes;
        a.num_buffers = 4;
        a.ints = ints;
        a.num_ints = 3;
        double flops = 2.0 * M * N * K;
        int reps = flops > 2e10 ? 2 : 5;
        for (int th = 1; th <= 2; ++th) {
          double s = dt == 0 ? run(attune_cpu_linear_f32,
                                   attune_cpu_linear_f32_check, a, th, reps)
                             : run(attune_cpu_linear_bf16,
                                   attune_cpu_linear_bf16_check, a, th, reps);
          std::printf("linear_%s M=%5lld K=%5lld N=%5lld threads=%d: %8.3f ms "
                      "%7.1f GFLOP/s\n",
                      dt == 0 ? "f32 " : "bf16", (long long)M, (long long)K,
                      (long long)N, th, s * 1e3, flops / s * 1e-9);
        }
      }
  // A Llama-style gated SwiGLU mlp (Din = Dout = 1024, F = 2816), f32.
  for (int64_t M : Ms) {
    const int64_t D = 1024, F = 2816;
    std::vector<float> x(M * D, 0.01f), wu(F * D, 0.02f), wg(F * D, -0.01f),
        wd(D * F, 0.03f), y(M * D);
    void *bufs[7] = {x.data(), wu.data(), wd.data(), wg.data(),
                     nullptr,  nullptr,   y.data()};
    uint64_t sizes[7] = {
        x.size() * 4, wu.size() * 4, wd.size() * 4, wg.size() * 4, 0, 0,
        y.size() * 4};
    int64_t ints[6] = {M, D, F, D, 0, 1};
    attune_kernel_args a{};
    a.buffers = bufs;
    a.sizes = sizes;
    a.num_buffers = 7;
    a.ints = ints;
    a.num_ints = 6;
    double flops = 2.0 * M * D * F * 3;
    for (int th = 1; th <= 2; ++th) {
      double s = run(attune_cpu_mlp_f32, attune_cpu_mlp_f32_check, a, th, 3);
      std::printf("mlp_f32     M=%5lld D=%5lld F=%5lld threads=%d: %8.3f ms "
                  "%7.1f GFLOP/s\n",
                  (long long)M, (long long)D, (long long)F, th, s * 1e3,
                  flops / s * 1e-9);
    }
  }
  return 0;
}
