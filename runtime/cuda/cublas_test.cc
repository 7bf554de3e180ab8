// cuBLAS GEMMs against a CPU reference in f32, f16, bf16 (f32 accumulation)
// and f64, with transposes, padded leading dimensions, batches and a
// broadcast batch operand; and cuBLASLt GEMMs with a fused bias/ReLU/GELU
// epilogue (cublaslt.h) in f32, f16 and bf16: odd shapes, unaligned
// buffers, the bias landing on the columns, and which GELU the epilogue
// computes. GPU tests skip without CUDA; the parameter checks run anywhere
// cuBLAS (cuBLASLt) loads.
#include "runtime/cuda/cublas.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ir/dtype.h"
#include "passes/matmul_epilogue.h"
#include "runtime/cuda/cublaslt.h"
#include "runtime/cuda/device.h"
#include "runtime/cuda/memory.h"
#include "runtime/cuda/stream.h"
#include "runtime/cuda/symbols.h"
#include "runtime/cuda/test_util.h"
#include "runtime/tensor.h"

namespace sluice::runtime::cuda {
namespace {

using ::testing::HasSubstr;
using ir::DType;
using passes::EpilogueActivation;

// Host values stored in `dtype`'s bytes, and read back as double.
struct HostMatrix {
  DType dtype;
  std::vector<uint8_t> bytes;

  HostMatrix(DType dtype, int64_t count)
      : dtype(dtype), bytes(static_cast<size_t>(count * ir::DTypeSize(dtype))) {}
  int64_t count() const { return static_cast<int64_t>(bytes.size()) / ir::DTypeSize(dtype); }
  void Set(int64_t i, double v) {
    switch (dtype) {
      case DType::kF32: {
        const float f = static_cast<float>(v);
        std::memcpy(&bytes[i * 4], &f, 4);
        break;
      }
      case DType::kF64:
        std::memcpy(&bytes[i * 8], &v, 8);
        break;
      case DType::kF16: {
        const uint16_t h = FloatToHalfBits(static_cast<float>(v));
        std::memcpy(&bytes[i * 2], &h, 2);
        break;
      }
      case DType::kBF16: {
        const uint16_t h = FloatToBFloat16Bits(static_cast<float>(v));
        std::memcpy(&bytes[i * 2], &h, 2);
        break;
      }
      default:
        FAIL() << "unsupported";
    }
  }
  double Get(int64_t i) const {
    switch (dtype) {
      case DType::kF32: {
        float f;
        std::memcpy(&f, &bytes[i * 4], 4);
        return f;
      }
      case DType::kF64: {
        double d;
        std::memcpy(&d, &bytes[i * 8], 8);
        return d;
      }
      case DType::kF16: {
        uint16_t h;
        std::memcpy(&h, &bytes[i * 2], 2);
        return HalfBitsToFloat(h);
      }
      case DType::kBF16: {
        uint16_t h;
        std::memcpy(&h, &bytes[i * 2], 2);
        return BFloat16BitsToFloat(h);
      }
      default:
        return NAN;
    }
  }
};

void FillRandom(HostMatrix* m, uint64_t seed) {
  uint64_t state = seed * 6364136223846793005ull + 1442695040888963407ull;
  for (int64_t i = 0; i < m->count(); ++i) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    m->Set(i, static_cast<double>((state >> 33) % 2001) / 1000.0 - 1.0);  // [-1, 1]
  }
}

struct Tolerance {
  double atol;
  double rtol;
};

Tolerance ToleranceFor(DType dtype, bool tf32) {
  switch (dtype) {
    case DType::kF64:
      return {1e-12, 1e-12};
    case DType::kF32:
      return tf32 ? Tolerance{2e-2, 1e-2} : Tolerance{1e-4, 1e-5};
    case DType::kF16:  // output rounding: 2^-11 relative
      return {1e-3, 1.5e-3};
    case DType::kBF16:  // output rounding: 2^-8 relative
      return {8e-3, 8e-3};
    default:
      return {0, 0};
  }
}

// Device 0, a stream on it and a `Handle` (CublasHandle or CublasLtHandle)
// for the stream; skips without CUDA.
template <typename Handle>
class HandleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SLUICE_SKIP_WITHOUT_CUDA();
    device_ = *CudaDevice::Get(0);
    auto stream = CudaStream::Create(device_);
    ASSERT_TRUE(stream.ok()) << stream.status();
    stream_ = std::move(*stream);
    auto handle = Handle::Create(stream_.get());
    ASSERT_TRUE(handle.ok()) << handle.status();
    handle_ = std::move(*handle);
  }

  CudaDevice* device_ = nullptr;
  std::unique_ptr<CudaStream> stream_;
  std::unique_ptr<Handle> handle_;
};

class CublasTest : public HandleTest<CublasHandle> {
 protected:
  DeviceBuffer Upload(const HostMatrix& m) {
    DeviceBuffer buffer = *DeviceBuffer::Allocate(device_, m.bytes.size());
    EXPECT_TRUE(stream_->CopyHostToDevice(buffer.ptr(), m.bytes.data(), m.bytes.size()).ok());
    return buffer;
  }

  // Runs `p` (its a/b/c are filled in here) on random data and compares every
  // element of C with a double-precision reference of the same rounded inputs.
  void RunAndCompare(GemmParams p) {
    const int64_t a_rows = p.transpose_a ? p.k : p.m, a_cols = p.transpose_a ? p.m : p.k;
    const int64_t b_rows = p.transpose_b ? p.n : p.k, b_cols = p.transpose_b ? p.k : p.n;
    const int64_t lda = p.lda ? p.lda : a_cols, ldb = p.ldb ? p.ldb : b_cols,
                  ldc = p.ldc ? p.ldc : p.n;
    const int64_t sa = p.stride_a == kPackedStride ? a_rows * lda : p.stride_a;
    const int64_t sb = p.stride_b == kPackedStride ? b_rows * ldb : p.stride_b;
    const int64_t sc = p.stride_c == kPackedStride ? p.m * ldc : p.stride_c;
    HostMatrix a(p.dtype, sa * (p.batch - 1) + a_rows * lda);
    HostMatrix b(p.dtype, sb * (p.batch - 1) + b_rows * ldb);
    HostMatrix c(p.dtype, sc * (p.batch - 1) + p.m * ldc);
    FillRandom(&a, 1);
    FillRandom(&b, 2);
    FillRandom(&c, 3);
    DeviceBuffer da = Upload(a), db = Upload(b), dc = Upload(c);
    p.a = da.ptr();
    p.b = db.ptr();
    p.c = dc.ptr();
    absl::Status status = GemmStridedBatched(handle_.get(), p);
    ASSERT_TRUE(status.ok()) << status;
    HostMatrix out(p.dtype, c.count());
    ASSERT_TRUE(stream_->CopyDeviceToHost(out.bytes.data(), dc.ptr(), out.bytes.size()).ok());
    ASSERT_TRUE(stream_->Synchronize().ok());

    const Tolerance tol = ToleranceFor(p.dtype, p.allow_tf32);
    int bad = 0;
    for (int64_t bi = 0; bi < p.batch; ++bi) {
      for (int64_t i = 0; i < p.m; ++i) {
        for (int64_t j = 0; j < p.n; ++j) {
          double sum = 0;
          for (int64_t l = 0; l < p.k; ++l) {
            const double av = p.transpose_a ? a.Get(bi * sa + l * lda + i)
                                            : a.Get(bi * sa + i * lda + l);
            const double bv = p.transpose_b ? b.Get(bi * sb + j * ldb + l)
                                            : b.Get(bi * sb + l * ldb + j);
            sum += av * bv;
          }
          const int64_t ci = bi * sc + i * ldc + j;
          const double expected = p.alpha * sum + p.beta * c.Get(ci);
          const double got = out.Get(ci);
          if (std::abs(got - expected) > tol.atol + tol.rtol * std::abs(expected) && ++bad <= 5) {
            ADD_FAILURE() << ir::DTypeName(p.dtype) << " C[" << bi << "][" << i << "][" << j
                          << "] = " << got << ", expected " << expected;
          }
        }
      }
    }
    EXPECT_EQ(bad, 0);
    // Padding between rows of C is untouched.
    if (ldc > p.n) {
      EXPECT_EQ(out.Get(p.n), c.Get(p.n));
    }
  }
};

class CublasDTypeTest : public CublasTest, public ::testing::WithParamInterface<DType> {};

TEST_P(CublasDTypeTest, AllTransposeCombinations) {
  for (bool ta : {false, true}) {
    for (bool tb : {false, true}) {
      SCOPED_TRACE(absl::StrCat("transpose_a=", ta, " transpose_b=", tb));
      GemmParams p;
      p.dtype = GetParam();
      p.m = 37;
      p.n = 53;
      p.k = 64;
      p.transpose_a = ta;
      p.transpose_b = tb;
      RunAndCompare(p);
    }
  }
}

TEST_P(CublasDTypeTest, BatchedWithBroadcastPaddingAlphaBeta) {
  GemmParams p;
  p.dtype = GetParam();
  p.m = 17;
  p.n = 40;
  p.k = 33;
  p.batch = 3;
  p.stride_b = 0;  // one B for every batch entry (torch.matmul broadcasting)
  p.lda = 40;      // padded rows
  p.ldc = 48;
  p.alpha = 0.5;
  p.beta = 0.25;
  RunAndCompare(p);
}

INSTANTIATE_TEST_SUITE_P(AllDTypes, CublasDTypeTest,
                         ::testing::Values(DType::kF32, DType::kF16, DType::kBF16, DType::kF64),
                         [](const ::testing::TestParamInfo<DType>& info) {
                           return std::string(ir::DTypeName(info.param));
                         });

TEST_F(CublasTest, Tf32IsOptIn) {
  GemmParams p;
  p.dtype = DType::kF32;
  p.m = 64;
  p.n = 64;
  p.k = 256;
  p.allow_tf32 = true;
  RunAndCompare(p);
}

TEST_F(CublasTest, GemmConvenienceAndEmptyProducts) {
  HostMatrix a(DType::kF32, 6), b(DType::kF32, 6);
  for (int i = 0; i < 6; ++i) {
    a.Set(i, i + 1);  // [[1,2,3],[4,5,6]]
    b.Set(i, 6 - i);  // [[6,5],[4,3],[2,1]]
  }
  DeviceBuffer da = Upload(a), db = Upload(b);
  DeviceBuffer dc = *DeviceBuffer::Allocate(device_, 4 * sizeof(float));
  ASSERT_TRUE(Gemm(handle_.get(), DType::kF32, 2, 2, 3, da.ptr(), db.ptr(), dc.ptr()).ok());
  float c[4];
  ASSERT_TRUE(stream_->CopyDeviceToHost(c, dc.ptr(), sizeof(c)).ok());
  ASSERT_TRUE(stream_->Synchronize().ok());
  EXPECT_THAT(c, ::testing::ElementsAre(20, 14, 56, 41));
  // m == 0 or n == 0: nothing to do, even with null pointers.
  EXPECT_TRUE(Gemm(handle_.get(), DType::kF32, 0, 2, 3, 0, 0, 0).ok());
}

// One parameter check: `change` applied to valid parameters makes the call
// answer `code`, with `message` in its text.
template <typename Params>
struct ParamCase {
  const char* what;
  std::function<void(Params&)> change;
  absl::StatusCode code;
  const char* message;
};

// Runs `call` (GemmStridedBatched or GemmEpilogue, with no handle: the checks
// come before the library is called) on `valid` changed by each case.
template <typename Handle, typename Params>
void ExpectParamChecks(absl::Status (*call)(Handle*, const Params&), const Params& valid,
                       const std::vector<ParamCase<Params>>& cases) {
  for (const ParamCase<Params>& c : cases) {
    SCOPED_TRACE(c.what);
    Params p = valid;
    c.change(p);
    const absl::Status status = call(nullptr, p);
    EXPECT_EQ(status.code(), c.code) << status;
    EXPECT_THAT(status.message(), HasSubstr(c.message));
  }
}

// Parameter checks happen before cuBLAS is called: no GPU needed, only cuBLAS.
TEST(CublasParams, InvalidParametersAreInvalidArgument) {
  if (!LoadCublas().ok()) GTEST_SKIP() << LoadCublas().status();
  GemmParams p;
  p.m = 4;
  p.n = 4;
  p.k = 4;
  p.a = p.b = p.c = 256;
  constexpr absl::StatusCode kInvalid = absl::StatusCode::kInvalidArgument;
  ExpectParamChecks<CublasHandle, GemmParams>(
      &GemmStridedBatched, p,
      {
          {"i32", [](GemmParams& q) { q.dtype = DType::kI32; }, kInvalid, "does not support i32"},
          {"k < 0", [](GemmParams& q) { q.k = -1; }, kInvalid, "k=-1"},
          {"lda < k", [](GemmParams& q) { q.lda = 3; }, kInvalid,
           "leading dimensions too small: lda=3"},
          {"n >= 2^31", [](GemmParams& q) { q.n = int64_t{1} << 33; }, kInvalid, "32-bit"},
          {"null b", [](GemmParams& q) { q.b = 0; }, kInvalid, "null operand"},
      });
}

// ---- cuBLASLt with an epilogue ----------------------------------------------

double GeluTanh(double x) {
  return 0.5 * x * (1.0 + std::tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)));
}
double GeluErf(double x) { return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0))); }

class CublasLtTest : public HandleTest<CublasLtHandle> {
 protected:
  // `m` copied to the device `offset` elements into a fresh buffer (so the
  // data can start off cuBLASLt's preferred 256-byte alignment).
  DevicePtr Upload(const HostMatrix& m, int64_t offset = 0) {
    const size_t skip = static_cast<size_t>(offset * ir::DTypeSize(m.dtype));
    buffers_.push_back(*DeviceBuffer::Allocate(device_, m.bytes.size() + skip));
    const DevicePtr p = buffers_.back().ptr() + skip;
    EXPECT_TRUE(stream_->CopyHostToDevice(p, m.bytes.data(), m.bytes.size()).ok());
    return p;
  }

  HostMatrix Download(DevicePtr p, DType dtype, int64_t count) {
    HostMatrix out(dtype, count);
    EXPECT_TRUE(stream_->CopyDeviceToHost(out.bytes.data(), p, out.bytes.size()).ok());
    EXPECT_TRUE(stream_->Synchronize().ok());
    return out;
  }

  // D = act(A·B + bias) on random A, B, bias in [-1, 1] (rounded to the
  // dtype) against a double reference of the same values. Every buffer
  // starts `offset` elements into its allocation.
  void RunAndCompare(DType dtype, int64_t m, int64_t n, int64_t k, bool bias,
                     EpilogueActivation act, int64_t offset = 0) {
    SCOPED_TRACE(absl::StrCat(ir::DTypeName(dtype), " ", m, "x", k, " @ ", k, "x", n,
                              bias ? " + bias" : "", " act=", static_cast<int>(act),
                              " offset=", offset));
    HostMatrix a(dtype, m * k), b(dtype, k * n), c(dtype, n);
    FillRandom(&a, 11);
    FillRandom(&b, 12);
    FillRandom(&c, 13);
    GemmEpilogueParams p;
    p.dtype = dtype;
    p.m = m;
    p.n = n;
    p.k = k;
    p.a = Upload(a, offset);
    p.b = Upload(b, offset);
    p.bias = bias ? Upload(c, offset) : 0;
    HostMatrix zeros(dtype, m * n);
    p.d = Upload(zeros, offset);
    p.activation = act;
    absl::Status status = GemmEpilogue(handle_.get(), p);
    ASSERT_TRUE(status.ok()) << status;
    const HostMatrix out = Download(p.d, dtype, m * n);
    Tolerance tol = ToleranceFor(dtype, false);
    if (act == EpilogueActivation::kGeluTanh) {
      // The epilogue may use a hardware tanh (relative error ~2^-11): up to
      // ~0.5·|x|·5e-4 off, x up to ~sqrt(k) here.
      tol.atol = std::max(tol.atol, 2e-4 * std::sqrt(static_cast<double>(k)) + 1e-3);
      tol.rtol = std::max(tol.rtol, 1e-3);
    }
    int bad = 0;
    double max_err = 0;
    for (int64_t i = 0; i < m; ++i) {
      for (int64_t j = 0; j < n; ++j) {
        double x = bias ? c.Get(j) : 0.0;
        for (int64_t l = 0; l < k; ++l) x += a.Get(i * k + l) * b.Get(l * n + j);
        const double expected = act == EpilogueActivation::kRelu       ? std::max(x, 0.0)
                                : act == EpilogueActivation::kGeluTanh ? GeluTanh(x)
                                                                   : x;
        const double got = out.Get(i * n + j);
        max_err = std::max(max_err, std::abs(got - expected));
        if (!(std::abs(got - expected) <= tol.atol + tol.rtol * std::abs(expected)) &&
            ++bad <= 5) {
          ADD_FAILURE() << "D[" << i << "][" << j << "] = " << got << ", expected " << expected
                        << " (pre-activation " << x << ")";
        }
      }
    }
    EXPECT_EQ(bad, 0);
    RecordProperty(absl::StrCat("max_abs_err_", ir::DTypeName(dtype), "_", m, "x", n, "x", k, "_",
                                bias, static_cast<int>(act)),
                   absl::StrCat(max_err));
  }

  std::vector<DeviceBuffer> buffers_;
};

class CublasLtDTypeTest : public CublasLtTest, public ::testing::WithParamInterface<DType> {};

// Every epilogue sluice uses, on odd and on tile-sized shapes.
TEST_P(CublasLtDTypeTest, EveryEpilogueMatchesTheReference) {
  struct Shape {
    int64_t m, n, k;
  };
  for (const Shape& s : {Shape{3, 7, 5}, Shape{2, 2, 2}, Shape{64, 128, 32}, Shape{100, 130, 77},
                         Shape{257, 33, 64}}) {
    for (bool bias : {true, false}) {
      for (EpilogueActivation act :
           {EpilogueActivation::kNone, EpilogueActivation::kRelu, EpilogueActivation::kGeluTanh}) {
        RunAndCompare(GetParam(), s.m, s.n, s.k, bias, act);
      }
    }
  }
}

// Buffers 1 element off 256-byte alignment (graph inputs need not be
// aligned): the heuristic must be told, or it picks kernels that fault.
TEST_P(CublasLtDTypeTest, UnalignedBuffers) {
  RunAndCompare(GetParam(), 33, 65, 17, /*bias=*/true, EpilogueActivation::kGeluTanh, /*offset=*/1);
  RunAndCompare(GetParam(), 16, 16, 16, /*bias=*/true, EpilogueActivation::kRelu, /*offset=*/3);
}

INSTANTIATE_TEST_SUITE_P(EpilogueDTypes, CublasLtDTypeTest,
                         ::testing::Values(DType::kF32, DType::kF16, DType::kBF16),
                         [](const ::testing::TestParamInfo<DType>& info) {
                           return std::string(ir::DTypeName(info.param));
                         });

// The bias is per column of the row-major D (a vector over its last dim),
// not per row: with A = 0, D[i][j] must be bias[j] for every row i.
TEST_F(CublasLtTest, BiasLandsOnTheColumns) {
  const int64_t m = 5, n = 3, k = 2;
  HostMatrix a(DType::kF32, m * k), b(DType::kF32, k * n), c(DType::kF32, n);
  for (int64_t i = 0; i < m * k; ++i) a.Set(i, 0.0);
  for (int64_t i = 0; i < k * n; ++i) b.Set(i, 1.0);
  for (int64_t j = 0; j < n; ++j) c.Set(j, 10.0 * (j + 1));  // 10, 20, 30
  GemmEpilogueParams p;
  p.m = m;
  p.n = n;
  p.k = k;
  p.a = Upload(a);
  p.b = Upload(b);
  p.bias = Upload(c);
  p.d = Upload(HostMatrix(DType::kF32, m * n));
  ASSERT_TRUE(GemmEpilogue(handle_.get(), p).ok());
  const HostMatrix out = Download(p.d, DType::kF32, m * n);
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      EXPECT_EQ(out.Get(i * n + j), 10.0 * (j + 1)) << "D[" << i << "][" << j << "]";
    }
  }
}

// Which GELU cuBLASLt's epilogue computes: D = gelu(x) for x in [-5, 5]
// (A rows [x, 0], B ones, so the product is exact), against the tanh
// approximation and the exact erf form. They differ by up to 4.7e-4 in a
// known pattern; the residual's projection on that pattern is ~0 for the
// tanh form (even with a hardware tanh's noise) and ~1 for erf. sluice fuses
// only gelu(approximate = "tanh") on this assumption.
TEST_F(CublasLtTest, GeluEpilogueIsTheTanhApproximation) {
  const int64_t m = 2048, n = 8, k = 2;
  HostMatrix a(DType::kF32, m * k), b(DType::kF32, k * n);
  for (int64_t i = 0; i < m; ++i) {
    a.Set(i * k, -5.0 + 10.0 * static_cast<double>(i) / (m - 1));
    a.Set(i * k + 1, 0.0);
  }
  for (int64_t j = 0; j < k * n; ++j) b.Set(j, 1.0);
  GemmEpilogueParams p;
  p.m = m;
  p.n = n;
  p.k = k;
  p.a = Upload(a);
  p.b = Upload(b);
  p.d = Upload(HostMatrix(DType::kF32, m * n));
  p.activation = EpilogueActivation::kGeluTanh;
  absl::Status status = GemmEpilogue(handle_.get(), p);
  ASSERT_TRUE(status.ok()) << status;
  const HostMatrix out = Download(p.d, DType::kF32, m * n);
  double dot = 0, norm = 0, max_tanh = 0, max_erf = 0;
  for (int64_t i = 0; i < m; ++i) {
    const double x = a.Get(i * k);
    const double got = out.Get(i * n + i % n);
    const double d = GeluErf(x) - GeluTanh(x);
    dot += (got - GeluTanh(x)) * d;
    norm += d * d;
    max_tanh = std::max(max_tanh, std::abs(got - GeluTanh(x)));
    max_erf = std::max(max_erf, std::abs(got - GeluErf(x)));
  }
  const double projection = dot / norm;  // 0: the tanh form, 1: the erf form
  RecordProperty("projection_on_erf_minus_tanh", absl::StrCat(projection));
  RecordProperty("max_abs_err_vs_tanh", absl::StrCat(max_tanh));
  RecordProperty("max_abs_err_vs_erf", absl::StrCat(max_erf));
  EXPECT_LT(std::abs(projection), 0.5)
      << "max |D - gelu_tanh| = " << max_tanh << ", max |D - gelu_erf| = " << max_erf;
  EXPECT_LT(max_tanh, 2e-3) << "max |D - gelu_erf| = " << max_erf;
}

TEST_F(CublasLtTest, Tf32IsOptInAndTheAlgorithmIsCached) {
  HostMatrix a(DType::kF32, 64 * 256), b(DType::kF32, 256 * 64), c(DType::kF32, 64);
  FillRandom(&a, 4);
  FillRandom(&b, 5);
  FillRandom(&c, 6);
  GemmEpilogueParams p;
  p.m = 64;
  p.n = 64;
  p.k = 256;
  p.a = Upload(a);
  p.b = Upload(b);
  p.bias = Upload(c);
  p.d = Upload(HostMatrix(DType::kF32, 64 * 64));
  p.activation = EpilogueActivation::kRelu;
  p.allow_tf32 = true;
  for (int run = 0; run < 2; ++run) {  // the second run takes the cached algorithm
    ASSERT_TRUE(GemmEpilogue(handle_.get(), p).ok());
    const HostMatrix out = Download(p.d, DType::kF32, 64 * 64);
    int bad = 0;
    for (int64_t i = 0; i < 64; ++i) {
      for (int64_t j = 0; j < 64; ++j) {
        double x = c.Get(j);
        for (int64_t l = 0; l < 256; ++l) x += a.Get(i * 256 + l) * b.Get(l * 64 + j);
        const double expected = std::max(x, 0.0);
        if (std::abs(out.Get(i * 64 + j) - expected) > 2e-2 + 1e-2 * std::abs(expected)) ++bad;
      }
    }
    EXPECT_EQ(bad, 0) << "run " << run;
  }
}

TEST(CublasLtParams, InvalidParametersAreInvalidArgument) {
  if (!LoadCublasLt().ok()) GTEST_SKIP() << LoadCublasLt().status();
  GemmEpilogueParams p;
  p.m = 4;
  p.n = 4;
  p.k = 4;
  p.a = p.b = p.d = 256;
  using P = GemmEpilogueParams;
  constexpr absl::StatusCode kInvalid = absl::StatusCode::kInvalidArgument;
  ExpectParamChecks<CublasLtHandle, P>(
      &GemmEpilogue, p,
      {
          {"f64", [](P& q) { q.dtype = DType::kF64; }, kInvalid, "does not support f64"},
          {"k == 0", [](P& q) { q.k = 0; }, kInvalid, "k must be >= 1"},
          {"null a", [](P& q) { q.a = 0; }, kInvalid, "null operand"},
          {"m == 0: nothing to do", [](P& q) { q.m = 0; }, absl::StatusCode::kOk, ""},
      });
}

// The cuBLASLt epilogue for each bias and activation.
TEST(CublasLtParams, EpilogueName) {
  struct Case {
    bool bias;
    EpilogueActivation activation;
    const char* name;
  };
  for (const Case& c : {
           Case{false, EpilogueActivation::kNone, "CUBLASLT_EPILOGUE_DEFAULT"},
           Case{true, EpilogueActivation::kNone, "CUBLASLT_EPILOGUE_BIAS"},
           Case{false, EpilogueActivation::kRelu, "CUBLASLT_EPILOGUE_RELU"},
           Case{true, EpilogueActivation::kRelu, "CUBLASLT_EPILOGUE_RELU_BIAS"},
           Case{false, EpilogueActivation::kGeluTanh, "CUBLASLT_EPILOGUE_GELU"},
           Case{true, EpilogueActivation::kGeluTanh, "CUBLASLT_EPILOGUE_GELU_BIAS"},
       }) {
    GemmEpilogueParams p;
    p.bias = c.bias ? 512 : 0;
    p.activation = c.activation;
    EXPECT_EQ(EpilogueName(p), c.name);
  }
}

}  // namespace
}  // namespace sluice::runtime::cuda
