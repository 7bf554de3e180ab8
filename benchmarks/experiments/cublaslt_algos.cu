// The measurement behind benchmarks/NOTES.md §21: every algorithm cuBLASLt's
// heuristic offers for the MLP block's two f32 GEMMs (benchmarks/graphs/
// mlp.graph: [4096x4096]·[4096x16384] with the GELU_BIAS epilogue, then
// [4096x16384]·[16384x4096] plain), timed one by one, against the first one
// (what sluice runs) and cublasSgemm (what torch.mm runs). Does a choice by
// measurement (autotuning) beat the heuristic's first pick? Not built by
// Bazel (it needs only nvcc and the CUDA toolkit):
//
//   nvcc -O2 -std=c++17 -arch=sm_90 benchmarks/experiments/cublaslt_algos.cu \
//       -lcublasLt -lcublas -o cublaslt_algos
//   ./cublaslt_algos      # on a GPU host; median µs of 9 runs per algorithm
#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <vector>

#define CHECK_CUDA(x)                                                              \
  do {                                                                             \
    cudaError_t e = (x);                                                           \
    if (e != cudaSuccess) {                                                        \
      std::fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, cudaGetErrorString(e)); \
      std::exit(1);                                                                \
    }                                                                              \
  } while (0)
#define CHECK_BLAS(x)                                                             \
  do {                                                                            \
    cublasStatus_t s = (x);                                                       \
    if (s != CUBLAS_STATUS_SUCCESS) {                                             \
      std::fprintf(stderr, "%s:%d: cublas status %d\n", __FILE__, __LINE__, (int)s); \
      std::exit(1);                                                               \
    }                                                                             \
  } while (0)

__global__ void Fill(float* p, size_t n, unsigned seed) {
  for (size_t i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
    unsigned h = static_cast<unsigned>(i) * 2654435761u ^ seed;
    h ^= h >> 15;
    h *= 2246822519u;
    h ^= h >> 13;
    p[i] = (h & 0xffffff) / 16777216.0f - 0.5f;
  }
}

// Median µs of `reps` runs of `f` (after two warm-up runs).
double TimeUs(const std::function<void()>& f, int reps = 9) {
  cudaEvent_t a, b;
  CHECK_CUDA(cudaEventCreate(&a));
  CHECK_CUDA(cudaEventCreate(&b));
  f();
  f();
  std::vector<double> t;
  for (int r = 0; r < reps; ++r) {
    CHECK_CUDA(cudaEventRecord(a));
    f();
    CHECK_CUDA(cudaEventRecord(b));
    CHECK_CUDA(cudaEventSynchronize(b));
    float ms = 0;
    CHECK_CUDA(cudaEventElapsedTime(&ms, a, b));
    t.push_back(ms * 1000.0);
  }
  std::sort(t.begin(), t.end());
  CHECK_CUDA(cudaEventDestroy(a));
  CHECK_CUDA(cudaEventDestroy(b));
  return t[t.size() / 2];
}

int main() {
  const int M = 4096, K1 = 4096, N1 = 16384;
  const size_t kWorkspace = 32u << 20;
  float *x, *w1, *b1, *h, *w2, *out;
  void* ws;
  CHECK_CUDA(cudaMalloc(&x, sizeof(float) * M * K1));
  CHECK_CUDA(cudaMalloc(&w1, sizeof(float) * K1 * N1));
  CHECK_CUDA(cudaMalloc(&b1, sizeof(float) * N1));
  CHECK_CUDA(cudaMalloc(&h, sizeof(float) * M * N1));
  CHECK_CUDA(cudaMalloc(&w2, sizeof(float) * N1 * K1));
  CHECK_CUDA(cudaMalloc(&out, sizeof(float) * M * K1));
  CHECK_CUDA(cudaMalloc(&ws, kWorkspace));
  Fill<<<1024, 256>>>(x, size_t(M) * K1, 1);
  Fill<<<1024, 256>>>(w1, size_t(K1) * N1, 2);
  Fill<<<1024, 256>>>(b1, N1, 3);
  Fill<<<1024, 256>>>(w2, size_t(N1) * K1, 4);
  CHECK_CUDA(cudaDeviceSynchronize());
  cudaDeviceProp prop;
  CHECK_CUDA(cudaGetDeviceProperties(&prop, 0));
  std::printf("device: %s\n", prop.name);

  cublasLtHandle_t lt;
  CHECK_BLAS(cublasLtCreate(&lt));
  cublasHandle_t blas;
  CHECK_BLAS(cublasCreate(&blas));
  CHECK_BLAS(cublasSetWorkspace(blas, ws, kWorkspace));

  // Row-major D[m x n] = A[m x k]·B[k x n] as column-major D^T = B^T A^T,
  // as runtime/cuda/cublaslt.cc sets it up.
  auto sweep = [&](const char* name, const float* a, const float* b, const float* bias, float* d,
                   int m, int n, int k, cublasLtEpilogue_t epi) {
    cublasLtMatmulDesc_t desc;
    CHECK_BLAS(cublasLtMatmulDescCreate(&desc, CUBLAS_COMPUTE_32F, CUDA_R_32F));
    CHECK_BLAS(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_EPILOGUE, &epi, sizeof(epi)));
    if (bias != nullptr) {
      CHECK_BLAS(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias,
                                                sizeof(bias)));
    }
    cublasLtMatrixLayout_t la, lb, ld;
    CHECK_BLAS(cublasLtMatrixLayoutCreate(&la, CUDA_R_32F, n, k, n));
    CHECK_BLAS(cublasLtMatrixLayoutCreate(&lb, CUDA_R_32F, k, m, k));
    CHECK_BLAS(cublasLtMatrixLayoutCreate(&ld, CUDA_R_32F, n, m, n));
    cublasLtMatmulPreference_t pref;
    CHECK_BLAS(cublasLtMatmulPreferenceCreate(&pref));
    uint64_t wsb = kWorkspace;
    CHECK_BLAS(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
                                                    &wsb, sizeof(wsb)));
    std::vector<cublasLtMatmulHeuristicResult_t> res(32);
    int count = 0;
    CHECK_BLAS(cublasLtMatmulAlgoGetHeuristic(lt, desc, la, lb, ld, ld, pref, 32, res.data(), &count));
    std::printf("%s: %d algorithms offered\n", name, count);
    const float alpha = 1.f, beta = 0.f;
    double first = 0;
    for (int i = 0; i < count; ++i) {
      if (res[i].state != CUBLAS_STATUS_SUCCESS) continue;
      const double us = TimeUs([&] {
        CHECK_BLAS(cublasLtMatmul(lt, desc, &alpha, b, la, a, lb, &beta, d, ld, d, ld, &res[i].algo,
                                  ws, kWorkspace, 0));
      });
      if (i == 0) first = us;
      int id = 0, tile = 0, stages = 0, splitk = 0;
      size_t sz;
      cublasLtMatmulAlgoConfigGetAttribute(&res[i].algo, CUBLASLT_ALGO_CONFIG_ID, &id, sizeof(id), &sz);
      cublasLtMatmulAlgoConfigGetAttribute(&res[i].algo, CUBLASLT_ALGO_CONFIG_TILE_ID, &tile, sizeof(tile), &sz);
      cublasLtMatmulAlgoConfigGetAttribute(&res[i].algo, CUBLASLT_ALGO_CONFIG_STAGES_ID, &stages, sizeof(stages), &sz);
      cublasLtMatmulAlgoConfigGetAttribute(&res[i].algo, CUBLASLT_ALGO_CONFIG_SPLITK_NUM, &splitk, sizeof(splitk), &sz);
      std::printf("  #%-2d algo %3d tile %3d stages %3d splitk %2d ws %8zu B: %9.1f us (%.3f of #0)\n", i,
                  id, tile, stages, splitk, res[i].workspaceSize, us, us / first);
    }
    cublasLtMatmulPreferenceDestroy(pref);
    cublasLtMatrixLayoutDestroy(la);
    cublasLtMatrixLayoutDestroy(lb);
    cublasLtMatrixLayoutDestroy(ld);
    cublasLtMatmulDescDestroy(desc);
  };
  for (int round = 0; round < 2; ++round) {
    sweep("gemm1 [4096x4096]x[4096x16384] + bias + gelu(tanh)", x, w1, b1, h, M, N1, K1,
          CUBLASLT_EPILOGUE_GELU_BIAS);
    sweep("gemm2 [4096x16384]x[16384x4096]", h, w2, nullptr, out, M, K1, N1,
          CUBLASLT_EPILOGUE_DEFAULT);
    const float alpha = 1.f, beta = 0.f;
    std::printf("cublasSgemm gemm2: %.1f us\n", TimeUs([&] {
                  CHECK_BLAS(cublasSgemm(blas, CUBLAS_OP_N, CUBLAS_OP_N, K1, M, N1, &alpha, w2, K1,
                                         h, N1, &beta, out, K1));
                }));
    std::printf("cublasSgemm gemm1 (no epilogue): %.1f us\n", TimeUs([&] {
                  CHECK_BLAS(cublasSgemm(blas, CUBLAS_OP_N, CUBLAS_OP_N, N1, M, K1, &alpha, w1, N1,
                                         x, K1, &beta, h, N1));
                }));
  }
  return 0;
}
