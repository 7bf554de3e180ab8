// The CUDA device an Executable runs on (runtime/device.h, implemented on top
// of the rest of runtime/cuda): memory from cuMemAlloc (DeviceBuffer), one
// CudaStream per executable that every copy, launch, fallback and library
// call of a run is issued on, generated kernels from one NVRTC cubin
// (CudaKernelModule), matmul through cuBLAS (GemmStridedBatched, torch.matmul
// semantics), a matmul with a fused bias/ReLU/GELU epilogue through cuBLASLt
// (GemmEpilogue, the matmul_epilogue steps of passes/matmul_epilogue.h), and
// fallback steps as Eigen kernels on the GPU
// (fallback/cuda/gpu_kernels.h) on the same stream.
//
// A fallback node whose (op, dtype) has no GPU kernel (matmul: an integer
// one, or one marked fallback) runs through the host: the stream is
// synchronized, the inputs are copied to the host, the CPU reference kernel
// runs, and the output is copied back. FallbackNote() says "host copy" for
// such nodes, so the executable's steps ("fallback matmul (host copy) [c]")
// and plan show it. SLUICE_CUDA_FALLBACK=host sends every fallback node that
// way (to rule the GPU kernels out when chasing a wrong result).
//
// Every method makes the device's primary context current for its duration,
// so callers on any thread need not manage contexts.
#ifndef SLUICE_RUNTIME_CUDA_EXECUTION_DEVICE_H_
#define SLUICE_RUNTIME_CUDA_EXECUTION_DEVICE_H_

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"
#include "ir/graph.h"
#include "passes/matmul_epilogue.h"
#include "runtime/cuda/cublas.h"
#include "runtime/cuda/cublaslt.h"
#include "runtime/cuda/device.h"
#include "runtime/cuda/memory.h"
#include "runtime/cuda/module.h"
#include "runtime/cuda/stream.h"
#include "runtime/device.h"
#include "runtime/tensor.h"

namespace sluice::fallback::cuda {
class GpuStream;
}  // namespace sluice::fallback::cuda

namespace sluice::runtime::cuda {

class CudaExecutionDevice : public runtime::Device {
 public:
  struct Options {
    int ordinal = 0;
    // Every fallback step through the host (also SLUICE_CUDA_FALLBACK=host).
    bool host_fallback_only = false;
    // f32 matmul (cuBLAS and cuBLASLt) on TF32 tensor cores (10-bit
    // mantissa inputs).
    bool allow_tf32 = false;
  };

  // Unavailable (with the reason) without a usable GPU.
  static absl::StatusOr<std::unique_ptr<CudaExecutionDevice>> Create(const Options& options);
  static absl::StatusOr<std::unique_ptr<CudaExecutionDevice>> Create() { return Create(Options()); }
  // Waits for queued work, then frees what is still allocated.
  ~CudaExecutionDevice() override;

  std::string name() const override;  // "cuda:0"
  bool is_host() const override { return false; }
  absl::StatusOr<void*> Allocate(int64_t bytes) override;
  void Free(void* ptr) override;
  // Asynchronous: `src` must stay valid until Synchronize().
  absl::Status CopyToDevice(void* dst, const void* src, int64_t bytes) override;
  // Synchronous: the data is on the host when it returns.
  absl::Status CopyToHost(void* dst, const void* src, int64_t bytes) override;
  absl::Status CopyOnDevice(void* dst, const void* src, int64_t bytes) override;
  absl::Status Synchronize() override;
  absl::Status RunFallback(const ir::Node& node, absl::Span<const Tensor> inputs,
                           Tensor& output) override;
  // matmul through cuBLAS (f32, f16, bf16, f64).
  absl::Status RunLibrary(const ir::Node& node, absl::Span<const Tensor> inputs,
                          Tensor& output) override;
  // One cuBLASLt matmul with a bias/ReLU/GELU(tanh) epilogue (f32, f16,
  // bf16): a [..., m, k] (its batch dims are more rows), b [k, n], bias n.
  absl::Status RunMatmulEpilogue(const ir::Node& matmul, const Tensor& a, const Tensor& b,
                                 const Tensor* bias, passes::EpilogueActivation activation,
                                 Tensor& output) override;
  std::string FallbackNote(const ir::Node& node) const override;

  // Whether a fallback step of `node` runs as a GPU kernel (not through the
  // host).
  bool HasGpuFallback(const ir::Node& node) const;

  CudaDevice* device() const { return device_; }
  CudaStream* stream() const { return stream_.get(); }

 private:
  CudaExecutionDevice(CudaDevice* device, std::unique_ptr<CudaStream> stream,
                      const Options& options);
  absl::Status RunFallbackOnHost(const ir::Node& node, absl::Span<const Tensor> inputs,
                                 Tensor& output);
  // The object in `slot` (cublas_, cublaslt_ or gpu_), made by `make()`
  // (a StatusOr<std::unique_ptr<T>>) on first use.
  template <typename T, typename Make>
  absl::StatusOr<T*> CreatedOnFirstUse(std::unique_ptr<T> CudaExecutionDevice::*slot,
                                       Make make) ABSL_LOCKS_EXCLUDED(mu_);

  CudaDevice* device_;
  std::unique_ptr<CudaStream> stream_;
  Options options_;
  absl::Mutex mu_;
  absl::flat_hash_map<void*, DeviceBuffer> buffers_ ABSL_GUARDED_BY(mu_);
  // Created on first use (CreatedOnFirstUse).
  std::unique_ptr<CublasHandle> cublas_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<CublasLtHandle> cublaslt_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<fallback::cuda::GpuStream> gpu_ ABSL_GUARDED_BY(mu_);
};

// How to launch one generated kernel (from codegen/cuda's CudaKernelLaunch).
struct KernelLaunchSpec {
  std::string symbol;  // the extern "C" __global__ function
  Dim3 grid;
  Dim3 block;
  unsigned shared_bytes = 0;
  int num_args = 0;  // device pointers, in the executable's kernel_args order
  // Tensor maps the kernel takes after its buffers (a CUtensorMap each),
  // encoded per launch for buffer `buffer` (an index into the launch's
  // buffers). The unaligned variant gets them zeroed: it does not read them.
  struct TensorMap {
    int buffer = 0;
    TensorMapSpec spec;
  };
  std::vector<TensorMap> tensor_maps;
  // When set, `symbol` and its variants take 16-byte-aligned buffers only,
  // and a launch whose buffers are not all aligned runs `unaligned_symbol`
  // (the kernel's own grid, block and shared memory, whichever shape is
  // chosen) from a second cubin that `unaligned_cubin` makes (the NVRTC
  // compile, cached) the first time a launch needs it.
  std::string unaligned_symbol;
  std::function<absl::StatusOr<std::string>()> unaligned_cubin;
  // Other launch shapes of the same kernel, functions of the same cubin
  // taking the same buffers and computing the same values up to rounding
  // (codegen/cuda's CudaKernelLaunch::variants), for autotuning:
  // CudaKernelModule::Tune (which times them on aligned buffers).
  struct Variant {
    std::string symbol;
    Dim3 grid;
    Dim3 block;
    unsigned shared_bytes = 0;
  };
  std::vector<Variant> variants;
};

// What CudaKernelModule::Tune measured for one kernel with variants.
struct KernelTuning {
  int kernel = 0;
  // Each shape's µs over the rounds (ChooseTunedShape's interquartile mean):
  // the spec's own first, then KernelLaunchSpec::variants in order.
  std::vector<double> us;
  int chosen = 0;  // index into `us`
};

// The interquartile mean of `samples`: the mean of their middle half (all
// of them when fewer than 4). Event timings of one kernel come in steps of
// ~0.7 us on an H100; a median lands on one step, the middle half's mean
// resolves between them and drops the outliers.
double InterquartileMean(std::vector<double> samples);

// A shape other than the spec's own is chosen only this much faster.
inline constexpr double kTunedShapeMargin = 0.998;

// Tune's choice from `samples[shape]` (µs, one per round): the shape with
// the lowest InterquartileMean, the spec's own (0) unless another is below
// kTunedShapeMargin of it. `us` receives each shape's mean.
int ChooseTunedShape(const std::vector<std::vector<double>>& samples, std::vector<double>* us);

// The generated kernels of one graph: one cubin loaded on the device, kernel
// i launched on the device's stream with kernels[i]'s configuration (or its
// unaligned variant's, loaded on first need: KernelLaunchSpec).
class CudaKernelModule : public runtime::DeviceModule {
 public:
  static absl::StatusOr<std::unique_ptr<CudaKernelModule>> Load(
      CudaExecutionDevice* device, absl::string_view cubin, const std::string& name,
      std::vector<KernelLaunchSpec> kernels);
  int num_kernels() const override { return static_cast<int>(kernels_.size()); }
  // Runs kernel `index` in its chosen shape (the spec's own unless Choose or
  // Tune picked a variant).
  absl::Status Launch(int index, absl::Span<void* const> buffers) override;

  // Launch shapes of kernel `index`: 1 + its spec's variants.
  int num_shapes(int index) const;
  // Launch() runs kernel `index` as shape `shape` (0: the spec's own, i:
  // variants[i - 1]) from now on. Call before launches start (Compile does,
  // before the executable exists): launches do not lock for it. A variant's
  // function is looked up (and, with the driver's lazy loading, loaded)
  // here or by Tune, not by Load: a module whose choice comes from a cache
  // loads only the kernels it runs.
  absl::Status Choose(int index, int shape);
  // One kernel parameter's buffer, for Tune.
  struct TuneArg {
    int64_t numel = 0;
    ir::DType dtype = ir::DType::kF32;
  };
  // Autotuning: every kernel with variants runs in each of its shapes on
  // scratch buffers `args[kernel]` (filled with random values of their
  // dtype, in [-2, 2) for floats, as a real input would be), each run after
  // a 256 MB L2 flush (triton.testing.do_bench's) and between two events,
  // the shapes interleaved over `rounds` rounds after one warm-up run each;
  // ChooseTunedShape picks (the fastest interquartile mean; the spec's own
  // shape unless another is at least 0.2% faster). A kernel whose scratch
  // buffers (or the flush
  // buffer) cannot be allocated keeps its own shape (us empty): tuning never
  // makes a compile fail for want of memory. Synchronizes the stream; the
  // scratch buffers are freed.
  absl::StatusOr<std::vector<KernelTuning>> Tune(const std::vector<std::vector<TuneArg>>& args,
                                                 int rounds = 21);

 private:
  CudaKernelModule() = default;
  // Kernel `index`'s unaligned variant, compiled and loaded on the first call.
  absl::StatusOr<CudaFunction> UnalignedFunction(int index);

  CudaExecutionDevice* device_ = nullptr;
  std::string name_;
  std::unique_ptr<CudaModule> module_;
  std::vector<KernelLaunchSpec> kernels_;
  std::vector<CudaFunction> functions_;
  // Per kernel: the shape Launch runs and its function, looked up by Choose
  // or Tune, so that launches neither look up nor lock.
  struct Chosen {
    int shape = 0;
    CudaFunction function;
  };
  std::vector<Chosen> chosen_;
  // Kernel `index`'s variant `variant` (variants[variant]), looked up on
  // first use.
  absl::StatusOr<CudaFunction> VariantFunction(int index, int variant);
  // Shape `shape`'s function: the kernel's own (0) or a variant's.
  absl::StatusOr<CudaFunction> ShapeFunction(int index, int shape);
  // Launches kernel `index` as `shape`, whose function is `function` (the
  // unaligned variant instead for shape 0 on unaligned buffers), with these
  // buffers (checked).
  absl::Status LaunchShape(int index, int shape, const CudaFunction& function,
                           absl::Span<void* const> buffers);
  // A kernel's unaligned variant, once loaded (module null before).
  struct Unaligned {
    std::unique_ptr<CudaModule> module;
    CudaFunction function;
  };
  absl::Mutex mu_;
  std::vector<Unaligned> unaligned_ ABSL_GUARDED_BY(mu_);  // per kernel
  // Per kernel, its variants' functions once looked up.
  std::vector<std::vector<std::optional<CudaFunction>>> variant_functions_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sluice::runtime::cuda

#endif  // SLUICE_RUNTIME_CUDA_EXECUTION_DEVICE_H_
