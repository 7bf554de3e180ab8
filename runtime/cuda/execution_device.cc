#include "runtime/cuda/execution_device.h"

#include <algorithm>
#include <cstring>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "fallback/cuda/gpu_kernels.h"
#include "fallback/kernel_registry.h"
#include "glog/logging.h"
#include "ir/shape.h"
#include "runtime/cuda/status.h"

namespace sluice::runtime::cuda {
namespace {

DevicePtr Ptr(const void* p) { return reinterpret_cast<DevicePtr>(p); }

bool HostFallbackForced() {
  const char* v = std::getenv("SLUICE_CUDA_FALLBACK");
  return v != nullptr && std::string(v) == "host";
}

// Per output batch of a torch.matmul, where each operand's matrix starts
// (in elements), for operands whose batch dims broadcast.
struct BatchOffsets {
  std::vector<int64_t> a, b;
};

BatchOffsets BroadcastBatchOffsets(const ir::Shape& batch, const ir::Shape& batch_a,
                                   const ir::Shape& batch_b, int64_t a_matrix,
                                   int64_t b_matrix) {
  const int rank = batch.rank();
  auto strides_for = [&](const ir::Shape& shape, int64_t matrix) {
    std::vector<int64_t> strides(rank, 0);
    int64_t stride = matrix;
    for (int i = shape.rank() - 1; i >= 0; --i) {
      strides[rank - shape.rank() + i] = shape[i] == 1 ? 0 : stride;
      stride *= shape[i];
    }
    return strides;
  };
  const std::vector<int64_t> sa = strides_for(batch_a, a_matrix);
  const std::vector<int64_t> sb = strides_for(batch_b, b_matrix);
  BatchOffsets out;
  std::vector<int64_t> index(rank, 0);
  for (int64_t bi = 0; bi < batch.num_elements(); ++bi) {
    int64_t oa = 0, ob = 0;
    for (int i = 0; i < rank; ++i) {
      oa += index[i] * sa[i];
      ob += index[i] * sb[i];
    }
    out.a.push_back(oa);
    out.b.push_back(ob);
    for (int i = rank - 1; i >= 0; --i) {  // Row-major increment.
      if (++index[i] < batch[i]) break;
      index[i] = 0;
    }
  }
  return out;
}

// The common stride of `offsets` (offsets[i] == i * stride), or -1.
int64_t UniformStride(const std::vector<int64_t>& offsets) {
  if (offsets.size() < 2) return 0;
  const int64_t stride = offsets[1] - offsets[0];
  for (size_t i = 0; i < offsets.size(); ++i) {
    if (offsets[i] != static_cast<int64_t>(i) * stride) return -1;
  }
  return stride;
}

}  // namespace

absl::StatusOr<std::unique_ptr<CudaExecutionDevice>> CudaExecutionDevice::Create(
    const Options& options) {
  SLUICE_CUDA_ASSIGN_OR_RETURN(CudaDevice * device, CudaDevice::Get(options.ordinal));
  SLUICE_CUDA_ASSIGN_OR_RETURN(std::unique_ptr<CudaStream> stream, CudaStream::Create(device));
  Options o = options;
  o.host_fallback_only = o.host_fallback_only || HostFallbackForced();
  return std::unique_ptr<CudaExecutionDevice>(
      new CudaExecutionDevice(device, std::move(stream), o));
}

template <typename T, typename Make>
absl::StatusOr<T*> CudaExecutionDevice::CreatedOnFirstUse(
    std::unique_ptr<T> CudaExecutionDevice::*slot, Make make) {
  absl::MutexLock lock(&mu_);
  std::unique_ptr<T>& object = this->*slot;
  if (object == nullptr) {
    SLUICE_CUDA_ASSIGN_OR_RETURN(object, make());
  }
  // It lives as long as the device, so the pointer outlives the lock.
  return object.get();
}

CudaExecutionDevice::CudaExecutionDevice(CudaDevice* device, std::unique_ptr<CudaStream> stream,
                                         const Options& options)
    : device_(device), stream_(std::move(stream)), options_(options) {}

CudaExecutionDevice::~CudaExecutionDevice() {
  ScopedActivateContext activate(device_);
  if (absl::Status s = stream_->Synchronize(); !s.ok()) {
    LOG(ERROR) << "sluice: " << name() << " at destruction: " << s;
  }
  absl::MutexLock lock(&mu_);
  gpu_.reset();
  cublas_.reset();
  cublaslt_.reset();
  buffers_.clear();
}

std::string CudaExecutionDevice::name() const { return absl::StrCat("cuda:", device_->ordinal()); }

absl::StatusOr<void*> CudaExecutionDevice::Allocate(int64_t bytes) {
  // At least one byte, so that every allocation has its own address.
  SLUICE_CUDA_ASSIGN_OR_RETURN(
      DeviceBuffer buffer,
      DeviceBuffer::Allocate(device_, static_cast<size_t>(std::max<int64_t>(bytes, 1))));
  void* p = buffer.as<void>();
  absl::MutexLock lock(&mu_);
  buffers_.emplace(p, std::move(buffer));
  return p;
}

void CudaExecutionDevice::Free(void* ptr) {
  if (ptr == nullptr) return;
  // Queued work may still use the memory.
  if (absl::Status s = Synchronize(); !s.ok()) LOG(ERROR) << "sluice: " << s;
  absl::MutexLock lock(&mu_);
  buffers_.erase(ptr);
}

absl::Status CudaExecutionDevice::CopyToDevice(void* dst, const void* src, int64_t bytes) {
  if (bytes <= 0) return absl::OkStatus();
  return stream_->CopyHostToDevice(Ptr(dst), src, static_cast<size_t>(bytes));
}

absl::Status CudaExecutionDevice::CopyToHost(void* dst, const void* src, int64_t bytes) {
  if (bytes <= 0) return absl::OkStatus();
  SLUICE_CUDA_RETURN_IF_ERROR(stream_->CopyDeviceToHost(dst, Ptr(src), static_cast<size_t>(bytes)));
  return stream_->Synchronize();
}

absl::Status CudaExecutionDevice::CopyOnDevice(void* dst, const void* src, int64_t bytes) {
  if (bytes <= 0) return absl::OkStatus();
  return stream_->CopyDeviceToDevice(Ptr(dst), Ptr(src), static_cast<size_t>(bytes));
}

absl::Status CudaExecutionDevice::Synchronize() { return stream_->Synchronize(); }

bool CudaExecutionDevice::HasGpuFallback(const ir::Node& node) const {
  return !options_.host_fallback_only && fallback::cuda::HasGpuKernel(node.op(), node.dtype());
}

std::string CudaExecutionDevice::FallbackNote(const ir::Node& node) const {
  return HasGpuFallback(node) ? "" : "host copy";
}

absl::Status CudaExecutionDevice::RunFallback(const ir::Node& node,
                                              absl::Span<const Tensor> inputs, Tensor& output) {
  if (!HasGpuFallback(node)) return RunFallbackOnHost(node, inputs, output);
  ScopedActivateContext activate(device_);
  SLUICE_CUDA_RETURN_IF_ERROR(activate.status());
  SLUICE_CUDA_ASSIGN_OR_RETURN(
      fallback::cuda::GpuStream * gpu, CreatedOnFirstUse(&CudaExecutionDevice::gpu_, [&] {
        return fallback::cuda::GpuStream::Create(stream_->handle(), device_->ordinal());
      }));
  absl::Status s = fallback::cuda::RunNodeOnGpu(*gpu, node, inputs, output);
  if (!s.ok()) return s;
  if (stream_->sync_after_launch()) return stream_->Synchronize();
  return absl::OkStatus();
}

absl::Status CudaExecutionDevice::RunFallbackOnHost(const ir::Node& node,
                                                    absl::Span<const Tensor> inputs,
                                                    Tensor& output) {
  // The inputs are written by work queued before.
  SLUICE_CUDA_RETURN_IF_ERROR(stream_->Synchronize());
  std::vector<Tensor> host(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (node.operand(static_cast<int>(i)).is_literal()) continue;
    absl::StatusOr<Tensor> staged = Tensor::TryZeros(inputs[i].type());
    if (!staged.ok()) {
      return absl::Status(staged.status().code(),
                          absl::StrCat("host copy of operand ", i, " of %", node.name(), ": ",
                                       staged.status().message()));
    }
    host[i] = *std::move(staged);
    SLUICE_CUDA_RETURN_IF_ERROR(stream_->CopyDeviceToHost(
        host[i].data(), Ptr(inputs[i].data()), static_cast<size_t>(inputs[i].nbytes())));
  }
  SLUICE_CUDA_RETURN_IF_ERROR(stream_->Synchronize());
  absl::StatusOr<Tensor> staged_out = Tensor::TryZeros(output.type());
  if (!staged_out.ok()) {
    return absl::Status(staged_out.status().code(),
                        absl::StrCat("host copy of %", node.name(), ": ",
                                     staged_out.status().message()));
  }
  Tensor& out = *staged_out;
  SLUICE_CUDA_RETURN_IF_ERROR(fallback::RunNode(node, host, out));
  SLUICE_CUDA_RETURN_IF_ERROR(stream_->CopyHostToDevice(Ptr(output.data()), out.data(),
                                                        static_cast<size_t>(out.nbytes())));
  // `out` goes away on return.
  return stream_->Synchronize();
}

absl::Status CudaExecutionDevice::RunLibrary(const ir::Node& node,
                                             absl::Span<const Tensor> inputs, Tensor& output) {
  if (node.op() != "matmul" || inputs.size() != 2) {
    return absl::UnimplementedError(absl::StrCat("no CUDA library call for ", node.op()));
  }
  const Tensor& a = inputs[0];
  const Tensor& b = inputs[1];
  const ir::DType dtype = output.dtype();
  if (a.dtype() != dtype || b.dtype() != dtype) {
    return absl::InvalidArgumentError("matmul operands must have the output's dtype");
  }
  std::vector<int64_t> sa = a.shape().dims(), sb = b.shape().dims();
  if (sa.empty() || sb.empty()) {
    return absl::InvalidArgumentError("matmul operands must have at least one dim");
  }
  if (sa.size() == 1) sa.insert(sa.begin(), 1);
  if (sb.size() == 1) sb.push_back(1);
  const int64_t m = sa[sa.size() - 2], k = sa.back(), n = sb.back();
  if (sb[sb.size() - 2] != k) {
    return absl::InvalidArgumentError(absl::StrCat(
        "matmul of ", a.shape().ToString(), " and ", b.shape().ToString(), ": inner dims differ"));
  }
  const ir::Shape batch_a(std::vector<int64_t>(sa.begin(), sa.end() - 2));
  const ir::Shape batch_b(std::vector<int64_t>(sb.begin(), sb.end() - 2));
  absl::StatusOr<ir::Shape> batch = ir::BroadcastShapes(batch_a, batch_b);
  if (!batch.ok()) return batch.status();
  if (output.num_elements() == 0) return absl::OkStatus();
  ScopedActivateContext activate(device_);
  SLUICE_CUDA_RETURN_IF_ERROR(activate.status());
  if (k == 0) {  // An empty sum.
    return stream_->Memset8(Ptr(output.data()), 0, static_cast<size_t>(output.nbytes()));
  }
  SLUICE_CUDA_ASSIGN_OR_RETURN(
      CublasHandle * handle,
      CreatedOnFirstUse(&CudaExecutionDevice::cublas_,
                        [&] { return CublasHandle::Create(stream_.get()); }));
  GemmParams p;
  p.dtype = dtype;
  p.m = m;
  p.n = n;
  p.k = k;
  p.a = Ptr(a.data());
  p.b = Ptr(b.data());
  p.c = Ptr(output.data());
  p.allow_tf32 = options_.allow_tf32;
  const int64_t batches = batch->num_elements();
  if (batch_b.num_elements() == 1 && batch_a.num_elements() == batches) {
    // b is shared by every batch: a's batches are more rows of one product.
    p.m = batches * m;
    return GemmStridedBatched(handle, p);
  }
  const BatchOffsets offsets = BroadcastBatchOffsets(*batch, batch_a, batch_b, m * k, k * n);
  const int64_t stride_a = UniformStride(offsets.a);
  const int64_t stride_b = UniformStride(offsets.b);
  if (stride_a >= 0 && stride_b >= 0) {
    p.batch = batches;
    p.stride_a = stride_a;
    p.stride_b = stride_b;
    p.stride_c = m * n;
    return GemmStridedBatched(handle, p);
  }
  // Batch dims that broadcast on both sides: one product per batch.
  const int64_t elem = ir::DTypeSize(dtype);
  for (int64_t bi = 0; bi < batches; ++bi) {
    GemmParams one = p;
    one.a = p.a + static_cast<DevicePtr>(offsets.a[bi] * elem);
    one.b = p.b + static_cast<DevicePtr>(offsets.b[bi] * elem);
    one.c = p.c + static_cast<DevicePtr>(bi * m * n * elem);
    SLUICE_CUDA_RETURN_IF_ERROR(GemmStridedBatched(handle, one));
  }
  return absl::OkStatus();
}

absl::Status CudaExecutionDevice::RunMatmulEpilogue(const ir::Node& matmul, const Tensor& a,
                                                    const Tensor& b, const Tensor* bias,
                                                    passes::EpilogueActivation activation,
                                                    Tensor& output) {
  const ir::DType dtype = output.dtype();
  if (a.dtype() != dtype || b.dtype() != dtype || (bias != nullptr && bias->dtype() != dtype)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "matmul epilogue of %", matmul.name(), ": operands and bias must have the output's dtype"));
  }
  const ir::Shape& sa = a.shape();
  const ir::Shape& sb = b.shape();
  if (sa.rank() < 2 || sb.rank() != 2 || sa[sa.rank() - 1] != sb[0]) {
    return absl::InvalidArgumentError(absl::StrCat("matmul epilogue of %", matmul.name(), ": ",
                                                   sa.ToString(), " and ", sb.ToString(),
                                                   " are not [..., m, k] and [k, n]"));
  }
  const int64_t k = sb[0], n = sb[1];
  const int64_t rows = k == 0 ? 0 : a.num_elements() / k;  // a's batch dims are more rows
  if (output.num_elements() != rows * n || (bias != nullptr && bias->num_elements() != n)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "matmul epilogue of %", matmul.name(), ": output ", output.shape().ToString(),
        bias != nullptr ? absl::StrCat(" and bias ", bias->shape().ToString()) : "",
        " do not fit ", sa.ToString(), " x ", sb.ToString()));
  }
  if (output.num_elements() == 0) return absl::OkStatus();
  ScopedActivateContext activate(device_);
  SLUICE_CUDA_RETURN_IF_ERROR(activate.status());
  SLUICE_CUDA_ASSIGN_OR_RETURN(
      CublasLtHandle * handle,
      CreatedOnFirstUse(&CudaExecutionDevice::cublaslt_,
                        [&] { return CublasLtHandle::Create(stream_.get()); }));
  GemmEpilogueParams p;
  p.dtype = dtype;
  p.m = rows;
  p.n = n;
  p.k = k;
  p.a = Ptr(a.data());
  p.b = Ptr(b.data());
  p.d = Ptr(output.data());
  p.bias = bias != nullptr ? Ptr(bias->data()) : 0;
  p.activation = activation;
  p.allow_tf32 = options_.allow_tf32;
  SLUICE_CUDA_RETURN_IF_ERROR(GemmEpilogue(handle, p));
  if (stream_->sync_after_launch()) return stream_->Synchronize();
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<CudaKernelModule>> CudaKernelModule::Load(
    CudaExecutionDevice* device, absl::string_view cubin, const std::string& name,
    std::vector<KernelLaunchSpec> kernels) {
  auto m = std::unique_ptr<CudaKernelModule>(new CudaKernelModule());
  m->device_ = device;
  SLUICE_CUDA_ASSIGN_OR_RETURN(m->module_, CudaModule::Load(device->device(), cubin, name));
  for (const KernelLaunchSpec& k : kernels) {
    SLUICE_CUDA_ASSIGN_OR_RETURN(CudaFunction f, m->module_->GetFunction(k.symbol));
    m->functions_.push_back(f);
    for (size_t i = 0; i < k.tensor_maps.size(); ++i) {
      const int b = k.tensor_maps[i].buffer;
      if (b < 0 || b >= k.num_args) {
        return absl::InvalidArgumentError(absl::StrCat("kernel ", k.symbol, "'s tensor map ", i,
                                                       " is of buffer ", b, " of ", k.num_args));
      }
    }
  }
  m->chosen_.resize(kernels.size());
  for (size_t i = 0; i < kernels.size(); ++i) m->chosen_[i].function = m->functions_[i];
  m->kernels_ = std::move(kernels);
  m->name_ = name;
  absl::MutexLock lock(&m->mu_);
  m->unaligned_.resize(m->kernels_.size());
  for (const KernelLaunchSpec& k : m->kernels_) m->variant_functions_.emplace_back(k.variants.size());
  return m;
}

absl::StatusOr<CudaFunction> CudaKernelModule::VariantFunction(int index, int variant) {
  absl::MutexLock lock(&mu_);
  std::optional<CudaFunction>& f = variant_functions_[index][variant];
  if (!f.has_value()) {
    SLUICE_CUDA_ASSIGN_OR_RETURN(f, module_->GetFunction(kernels_[index].variants[variant].symbol));
  }
  return *f;
}

absl::StatusOr<CudaFunction> CudaKernelModule::ShapeFunction(int index, int shape) {
  if (shape == 0) return functions_[index];
  return VariantFunction(index, shape - 1);
}

absl::StatusOr<CudaFunction> CudaKernelModule::UnalignedFunction(int index) {
  absl::MutexLock lock(&mu_);
  Unaligned& u = unaligned_[index];
  if (u.module != nullptr) return u.function;
  const KernelLaunchSpec& k = kernels_[index];
  const std::string what =
      absl::StrCat("kernel ", k.symbol, "'s variant for unaligned buffers (", k.unaligned_symbol,
                   ")");
  if (!k.unaligned_cubin) return absl::InternalError(absl::StrCat(what, " has no source"));
  absl::StatusOr<std::string> cubin = k.unaligned_cubin();
  if (!cubin.ok()) {
    return absl::Status(cubin.status().code(),
                        absl::StrCat("compiling ", what, ": ", cubin.status().message()));
  }
  SLUICE_CUDA_ASSIGN_OR_RETURN(
      std::unique_ptr<CudaModule> module,
      CudaModule::Load(device_->device(), *cubin, absl::StrCat(name_, "_unaligned")));
  SLUICE_CUDA_ASSIGN_OR_RETURN(u.function, module->GetFunction(k.unaligned_symbol));
  u.module = std::move(module);
  return u.function;
}

absl::Status CudaKernelModule::Launch(int index, absl::Span<void* const> buffers) {
  if (index < 0 || index >= num_kernels()) {
    return absl::OutOfRangeError(absl::StrCat("no kernel ", index));
  }
  const Chosen& c = chosen_[index];
  return LaunchShape(index, c.shape, c.function, buffers);
}

int CudaKernelModule::num_shapes(int index) const {
  return 1 + static_cast<int>(kernels_[index].variants.size());
}

absl::Status CudaKernelModule::Choose(int index, int shape) {
  if (index < 0 || index >= num_kernels()) {
    return absl::OutOfRangeError(absl::StrCat("no kernel ", index));
  }
  if (shape < 0 || shape >= num_shapes(index)) {
    return absl::OutOfRangeError(absl::StrCat("kernel ", kernels_[index].symbol, " has ",
                                              num_shapes(index), " launch shapes, not ",
                                              shape + 1));
  }
  SLUICE_CUDA_ASSIGN_OR_RETURN(CudaFunction function, ShapeFunction(index, shape));
  chosen_[index] = {shape, std::move(function)};
  return absl::OkStatus();
}

absl::Status CudaKernelModule::LaunchShape(int index, int shape, const CudaFunction& function,
                                           absl::Span<void* const> buffers) {
  const KernelLaunchSpec& k = kernels_[index];
  if (static_cast<int>(buffers.size()) != k.num_args) {
    return absl::InternalError(absl::StrCat("kernel ", k.symbol, " takes ", k.num_args,
                                            " buffers, got ", buffers.size()));
  }
  const CudaFunction* f = &function;
  CudaFunction unaligned;
  Dim3 grid = k.grid, block = k.block;
  unsigned shared_bytes = k.shared_bytes;
  // Buffers that are not all 16-byte aligned take the unaligned variant, in
  // the kernel's own shape, whichever shape was chosen: the kernel and its
  // launch variants are for aligned buffers only when it has one.
  bool aligned = true;
  if (!k.unaligned_symbol.empty()) {
    for (void* b : buffers) aligned = aligned && (reinterpret_cast<uintptr_t>(b) & 15) == 0;
  }
  if (!aligned) {
    SLUICE_CUDA_ASSIGN_OR_RETURN(unaligned, UnalignedFunction(index));
    f = &unaligned;
  } else if (shape > 0) {
    const KernelLaunchSpec::Variant& v = k.variants[shape - 1];
    grid = v.grid;
    block = v.block;
    shared_bytes = v.shared_bytes;
  }
  std::vector<void*> values(buffers.begin(), buffers.end());
  std::vector<void*> args(values.size() + k.tensor_maps.size());
  for (size_t i = 0; i < values.size(); ++i) args[i] = &values[i];
  // Tensor maps for this launch's buffers (zeros for the unaligned variant,
  // which does not read them).
  std::vector<TensorMapBytes> maps(k.tensor_maps.size());
  for (size_t i = 0; i < maps.size(); ++i) {
    const KernelLaunchSpec::TensorMap& m = k.tensor_maps[i];
    if (f != &unaligned) {
      absl::StatusOr<TensorMapBytes> encoded = EncodeTensorMap(
          device_->device(), m.spec,
          static_cast<DevicePtr>(reinterpret_cast<uintptr_t>(buffers[m.buffer])));
      if (!encoded.ok()) {
        return absl::Status(encoded.status().code(),
                            absl::StrCat("kernel ", k.symbol, "'s tensor map ", i, " (buffer ",
                                         m.buffer, "): ", encoded.status().message()));
      }
      maps[i] = *encoded;
    }
    args[values.size() + i] = &maps[i];
  }
  return cuda::Launch(*f, grid, block, shared_bytes, device_->stream(), args.data());
}

namespace {

// Fills `bytes` at `dst` with random values of `dtype` (floats in [-2, 2),
// integers in [0, 8), bools 0 / 1): a 4 MB random pattern copied from the
// host, then repeated by device-to-device copies that double the filled part.
absl::Status FillRandom(CudaStream* stream, DevicePtr dst, size_t bytes, ir::DType dtype) {
  const size_t size = static_cast<size_t>(ir::DTypeSize(dtype));
  const size_t n = std::max<size_t>(1, std::min(bytes, size_t{4} << 20) / size);
  std::vector<char> host(n * size);
  uint64_t z = 0x9e3779b97f4a7c15ull;
  for (size_t i = 0; i < n; ++i) {
    z ^= z << 13;
    z ^= z >> 7;
    z ^= z << 17;
    const float f = static_cast<float>(z >> 40) / static_cast<float>(1 << 24) * 4.0f - 2.0f;
    char* at = host.data() + i * size;
    switch (dtype) {
      case ir::DType::kF32: std::memcpy(at, &f, 4); break;
      case ir::DType::kF64: { const double d = f; std::memcpy(at, &d, 8); break; }
      case ir::DType::kF16: { const uint16_t h = FloatToHalfBits(f); std::memcpy(at, &h, 2); break; }
      case ir::DType::kBF16: {
        const uint16_t h = FloatToBFloat16Bits(f);
        std::memcpy(at, &h, 2);
        break;
      }
      case ir::DType::kBool: *at = static_cast<char>(z & 1); break;
      default: {  // integers, little-endian: the low byte holds 0..7
        std::memset(at, 0, size);
        *at = static_cast<char>(z & 7);
        break;
      }
    }
  }
  const size_t first = std::min(bytes, host.size());
  SLUICE_CUDA_RETURN_IF_ERROR(stream->CopyHostToDevice(dst, host.data(), first));
  for (size_t filled = first; filled < bytes;) {
    const size_t step = std::min(filled, bytes - filled);
    SLUICE_CUDA_RETURN_IF_ERROR(stream->CopyDeviceToDevice(dst + filled, dst, step));
    filled += step;
  }
  // The host pattern must outlive the copy from it.
  return stream->Synchronize();
}

}  // namespace

double InterquartileMean(std::vector<double> samples) {
  if (samples.empty()) return 0;
  std::sort(samples.begin(), samples.end());
  const size_t n = samples.size();
  const size_t begin = n / 4, end = n - n / 4;  // the middle half; all of 1-3 samples
  double sum = 0;
  for (size_t i = begin; i < end; ++i) sum += samples[i];
  return sum / static_cast<double>(end - begin);
}

int ChooseTunedShape(const std::vector<std::vector<double>>& samples, std::vector<double>* us) {
  us->clear();
  for (const std::vector<double>& s : samples) us->push_back(InterquartileMean(s));
  int chosen = 0;
  for (int s = 1; s < static_cast<int>(us->size()); ++s) {
    if ((*us)[s] < (*us)[chosen] && (*us)[s] < kTunedShapeMargin * (*us)[0]) chosen = s;
  }
  return chosen;
}

absl::StatusOr<std::vector<KernelTuning>> CudaKernelModule::Tune(
    const std::vector<std::vector<TuneArg>>& args, int rounds) {
  if (static_cast<int>(args.size()) != num_kernels()) {
    return absl::InternalError(absl::StrCat("Tune: buffers for ", args.size(),
                                            " kernels, the module has ", num_kernels()));
  }
  CudaDevice* gpu = device_->device();
  CudaStream* stream = device_->stream();
  std::vector<KernelTuning> out;
  std::optional<DeviceBuffer> flush;
  for (int i = 0; i < num_kernels(); ++i) {
    const int shapes = num_shapes(i);
    if (shapes == 1) continue;
    KernelTuning t;
    t.kernel = i;
    // Scratch buffers; the kernel keeps its own shape without them.
    std::vector<DeviceBuffer> buffers;
    std::vector<void*> pointers;
    bool allocated = true;
    for (const TuneArg& a : args[i]) {
      const int64_t bytes = a.numel * ir::DTypeSize(a.dtype);
      absl::StatusOr<DeviceBuffer> b =
          DeviceBuffer::Allocate(gpu, static_cast<size_t>(std::max<int64_t>(bytes, 1)));
      if (!b.ok()) {
        allocated = false;
        break;
      }
      SLUICE_CUDA_RETURN_IF_ERROR(FillRandom(stream, b->ptr(), b->size(), a.dtype));
      pointers.push_back(reinterpret_cast<void*>(b->ptr()));
      buffers.push_back(*std::move(b));
    }
    if (!allocated) {
      out.push_back(std::move(t));
      continue;
    }
    // Written before every timed run, so that no shape finds the previous
    // run's data in L2 (do_bench's 256 MB; at least 4x the L2 cache).
    if (!flush.has_value()) {
      const size_t bytes = std::max<size_t>(size_t{4} * std::max(gpu->l2_cache_bytes(), 0),
                                            size_t{256} << 20);
      absl::StatusOr<DeviceBuffer> f = DeviceBuffer::Allocate(gpu, bytes);
      if (!f.ok()) {  // no memory to time anything: every kernel keeps its shape
        out.push_back(std::move(t));
        continue;
      }
      flush = *std::move(f);
    }
    std::vector<CudaFunction> functions;
    for (int s = 0; s < shapes; ++s) {
      SLUICE_CUDA_ASSIGN_OR_RETURN(CudaFunction f, ShapeFunction(i, s));
      functions.push_back(std::move(f));
    }
    for (int s = 0; s < shapes; ++s) {
      SLUICE_CUDA_RETURN_IF_ERROR(LaunchShape(i, s, functions[s], pointers));
    }
    std::vector<std::unique_ptr<CudaEvent>> events;
    for (int e = 0; e < 2 * rounds * shapes; ++e) {
      SLUICE_CUDA_ASSIGN_OR_RETURN(std::unique_ptr<CudaEvent> ev, CudaEvent::Create(gpu));
      events.push_back(std::move(ev));
    }
    for (int r = 0; r < rounds; ++r) {
      for (int k = 0; k < shapes; ++k) {
        const int s = (k + r) % shapes;  // each round starts with another shape
        const int e = 2 * (r * shapes + s);
        SLUICE_CUDA_RETURN_IF_ERROR(stream->Memset32(flush->ptr(), 0, flush->size() / 4));
        SLUICE_CUDA_RETURN_IF_ERROR(events[e]->Record(stream));
        SLUICE_CUDA_RETURN_IF_ERROR(LaunchShape(i, s, functions[s], pointers));
        SLUICE_CUDA_RETURN_IF_ERROR(events[e + 1]->Record(stream));
      }
    }
    SLUICE_CUDA_RETURN_IF_ERROR(stream->Synchronize());
    std::vector<std::vector<double>> samples(shapes);
    for (int s = 0; s < shapes; ++s) {
      for (int r = 0; r < rounds; ++r) {
        const int e = 2 * (r * shapes + s);
        SLUICE_CUDA_ASSIGN_OR_RETURN(float ms, CudaEvent::ElapsedMillis(*events[e], *events[e + 1]));
        samples[s].push_back(1e3 * ms);
      }
    }
    t.chosen = ChooseTunedShape(samples, &t.us);
    chosen_[i] = {t.chosen, functions[t.chosen]};
    out.push_back(std::move(t));
  }
  return out;
}

}  // namespace sluice::runtime::cuda
