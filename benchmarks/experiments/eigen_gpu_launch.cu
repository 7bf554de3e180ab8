// The measurement behind benchmarks/NOTES.md §16: Eigen's GPU executor
// against Eigen's evaluator launched with U packets per thread, and
// hand-written float4 kernels, for y = x + y' and y = x * 2 over 64M f32,
// with the 1 GiB device copy of the same run. Not built by Bazel (it needs
// only nvcc and Eigen's headers):
//
//   nvcc -O3 -std=c++17 -arch=sm_90 -I/usr/include/eigen3 --expt-relaxed-constexpr \
//       benchmarks/experiments/eigen_gpu_launch.cu -o eigen_gpu_launch
//   ./eigen_gpu_launch      # on a GPU host; prints median µs of 30 runs
#define EIGEN_USE_GPU
#include <unsupported/Eigen/CXX11/Tensor>
#include <cstdio>
#include <vector>
#include <algorithm>
#include <functional>
#include <string>

using Index = Eigen::DenseIndex;
template <typename T, int A>
using M = Eigen::TensorMap<Eigen::Tensor<T, 1, Eigen::RowMajor, Index>, A>;

template <typename Eval, typename T, int kThreads, int kUnroll>
__global__ void __launch_bounds__(kThreads) AssignKernel(Eval eval, T* dst, Index n) {
  using Packet = typename Eval::PacketReturnType;
  constexpr int P = Eigen::internal::unpacket_traits<Packet>::size;
  const Index base = static_cast<Index>(blockIdx.x) * (kThreads * kUnroll * P) + threadIdx.x * P;
  if (base + (kUnroll - 1) * kThreads * P + P <= n) {
    Packet v[kUnroll];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) v[u] = eval.template packet<Eigen::Aligned>(base + u * kThreads * P);
#pragma unroll
    for (int u = 0; u < kUnroll; ++u)
      Eigen::internal::pstoret<T, Packet, Eigen::Aligned>(dst + base + u * kThreads * P, v[u]);
  } else {
    for (int u = 0; u < kUnroll; ++u) {
      Index i = base + u * kThreads * P;
      for (Index j = i; j < i + P && j < n; ++j) dst[j] = eval.coeff(j);
    }
  }
}

template <int kThreads, int kUnroll, typename Expr, typename T>
void RunAssign(const Eigen::GpuDevice& d, const Expr& expr, T* dst, Index n) {
  using Eval = Eigen::TensorEvaluator<const Expr, Eigen::GpuDevice>;
  Eval eval(expr, d);
  eval.evalSubExprsIfNeeded(nullptr);
  constexpr int P = Eigen::internal::unpacket_traits<typename Eval::PacketReturnType>::size;
  const Index per_block = kThreads * kUnroll * P;
  const Index blocks = (n + per_block - 1) / per_block;
  AssignKernel<Eval, T, kThreads, kUnroll><<<blocks, kThreads, 0, d.stream()>>>(eval, dst, n);
  eval.cleanup();
}

template <int kThreads, int kUnroll, int kIn>
__global__ void __launch_bounds__(kThreads) Hand(const float4* __restrict__ a, const float4* __restrict__ b, float4* __restrict__ o, Index n4) {
  const Index base = static_cast<Index>(blockIdx.x) * (kThreads * kUnroll) + threadIdx.x;
  float4 va[kUnroll], vb[kUnroll];
#pragma unroll
  for (int u = 0; u < kUnroll; ++u) { Index i = base + u * kThreads; if (i < n4) { va[u] = a[i]; if (kIn == 2) vb[u] = b[i]; } }
#pragma unroll
  for (int u = 0; u < kUnroll; ++u) { Index i = base + u * kThreads; if (i < n4) {
    float4 r; if (kIn == 2) { r.x = va[u].x + vb[u].x; r.y = va[u].y + vb[u].y; r.z = va[u].z + vb[u].z; r.w = va[u].w + vb[u].w; }
    else { r.x = va[u].x * 2; r.y = va[u].y * 2; r.z = va[u].z * 2; r.w = va[u].w * 2; }
    o[i] = r; } }
}
template <int kThreads, int kUnroll, int kIn>
void RunHand(cudaStream_t s, const float* a, const float* b, float* o, Index n) {
  Index n4 = n / 4; Index blocks = (n4 + kThreads * kUnroll - 1) / (kThreads * kUnroll);
  Hand<kThreads, kUnroll, kIn><<<blocks, kThreads, 0, s>>>((const float4*)a, (const float4*)b, (float4*)o, n4);
}

float Median(cudaStream_t s, const std::function<void()>& f) {
  cudaEvent_t e0, e1; cudaEventCreate(&e0); cudaEventCreate(&e1);
  for (int i = 0; i < 5; ++i) f();
  std::vector<float> t;
  for (int i = 0; i < 30; ++i) { cudaEventRecord(e0, s); f(); cudaEventRecord(e1, s); cudaEventSynchronize(e1); float ms; cudaEventElapsedTime(&ms, e0, e1); t.push_back(ms * 1000); }
  std::sort(t.begin(), t.end()); return t[t.size() / 2];
}

int main() {
  const Index n = 64 << 20;
  float *x, *y, *o, *big0, *big1;
  cudaMalloc(&x, n * 4); cudaMalloc(&y, n * 4); cudaMalloc(&o, n * 4);
  cudaMalloc(&big0, 1 << 30); cudaMalloc(&big1, 1 << 30);
  cudaMemset(x, 0, n * 4); cudaMemset(y, 0, n * 4);
  cudaStream_t s; cudaStreamCreate(&s);
  Eigen::GpuStreamDevice sd(&s); Eigen::GpuDevice d(&sd);
  cudaDeviceProp p; cudaGetDeviceProperties(&p, 0);
  float copy = Median(s, [&] { cudaMemcpyAsync(big1, big0, 1 << 30, cudaMemcpyDeviceToDevice, s); });
  double copy_gbs = 2.0 * (1 << 30) / (copy * 1e3);
  printf("device %s, copy 1 GiB %.1f us = %.0f GB/s\n", p.name, copy, copy_gbs);
  auto report = [&](const char* name, int inputs, float us) {
    double gbs = (inputs + 1) * 4.0 * n / (us * 1e3);
    printf("%-34s %8.1f us  %5.0f GB/s  %5.1f%% of copy\n", name, us, gbs, 100 * gbs / copy_gbs);
  };
  M<const float, Eigen::Aligned16> xa(x, n), ya(y, n);
  M<float, Eigen::Aligned16> oa(o, n);
  M<const float, Eigen::Unaligned> xu(x, n), yu(y, n);
  M<float, Eigen::Unaligned> ou(o, n);
  for (int rep = 0; rep < 2; ++rep) {
    report("add eigen executor aligned", 2, Median(s, [&] { oa.device(d) = xa + ya; }));
    report("add eigen executor unaligned", 2, Median(s, [&] { ou.device(d) = xu + yu; }));
    auto e = xu + yu;
#define A(T, U) report("add evaluator " #T "x" #U, 2, Median(s, [&] { RunAssign<T, U>(d, e, o, n); }));
    A(128, 1) A(128, 2) A(128, 4) A(128, 8) A(256, 1) A(256, 2) A(256, 4) A(512, 1) A(512, 2) A(512, 4) A(1024, 1) A(1024, 2)
#define H(T, U) report("add hand " #T "x" #U, 2, Median(s, [&] { RunHand<T, U, 2>(s, x, y, o, n); }));
    H(128, 1) H(128, 2) H(128, 4) H(256, 1) H(256, 2) H(256, 4) H(512, 2)
#define HM(T, U) report("mul2 hand " #T "x" #U, 1, Median(s, [&] { RunHand<T, U, 1>(s, x, y, o, n); }));
    HM(128, 1) HM(128, 2) HM(128, 4) HM(256, 1) HM(256, 2) HM(256, 4) HM(512, 2)
    auto m = xu * xu.constant(2.0f);
#define AM(T, U) report("mul2 evaluator " #T "x" #U, 1, Median(s, [&] { RunAssign<T, U>(d, m, o, n); }));
    AM(128, 2) AM(256, 1) AM(256, 2) AM(256, 4)
    printf("--\n");
  }
  cudaError_t err = cudaDeviceSynchronize();
  printf("status %s\n", cudaGetErrorString(err));
  return err != cudaSuccess;
}
