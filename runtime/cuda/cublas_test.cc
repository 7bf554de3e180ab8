// cuBLAS GEMMs against a CPU reference in f32, f16, bf16 (f32 accumulation)
// and f64, with transposes, padded leading dimensions, batches and a
// broadcast batch operand. GPU tests skip without CUDA; the parameter checks
// run anywhere cuBLAS loads.
#include "runtime/cuda/cublas.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ir/dtype.h"
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

class CublasTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SLUICE_SKIP_WITHOUT_CUDA();
    device_ = *CudaDevice::Get(0);
    auto stream = CudaStream::Create(device_);
    ASSERT_TRUE(stream.ok()) << stream.status();
    stream_ = std::move(*stream);
    auto handle = CublasHandle::Create(stream_.get());
    ASSERT_TRUE(handle.ok()) << handle.status();
    handle_ = std::move(*handle);
  }

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

  CudaDevice* device_ = nullptr;
  std::unique_ptr<CudaStream> stream_;
  std::unique_ptr<CublasHandle> handle_;
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

// Parameter checks happen before cuBLAS is called: no GPU needed, only cuBLAS.
TEST(CublasParams, InvalidParametersAreInvalidArgument) {
  if (!LoadCublas().ok()) GTEST_SKIP() << LoadCublas().status();
  GemmParams p;
  p.m = 4;
  p.n = 4;
  p.k = 4;
  p.a = p.b = p.c = 256;

  GemmParams bad_dtype = p;
  bad_dtype.dtype = DType::kI32;
  EXPECT_THAT(GemmStridedBatched(nullptr, bad_dtype).message(), HasSubstr("does not support i32"));

  GemmParams negative = p;
  negative.k = -1;
  EXPECT_EQ(GemmStridedBatched(nullptr, negative).code(), absl::StatusCode::kInvalidArgument);

  GemmParams small_ld = p;
  small_ld.lda = 3;
  EXPECT_THAT(GemmStridedBatched(nullptr, small_ld).message(),
              HasSubstr("leading dimensions too small: lda=3"));

  GemmParams huge = p;
  huge.n = int64_t{1} << 33;
  EXPECT_THAT(GemmStridedBatched(nullptr, huge).message(), HasSubstr("32-bit"));

  GemmParams null_operand = p;
  null_operand.b = 0;
  EXPECT_THAT(GemmStridedBatched(nullptr, null_operand).message(), HasSubstr("null operand"));
}

}  // namespace
}  // namespace sluice::runtime::cuda
