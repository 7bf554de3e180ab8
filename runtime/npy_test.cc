#include "runtime/npy.h"

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <random>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "gtest/gtest.h"
#include "ir/dtype.h"
#include "ir/shape.h"
#include "runtime/tensor.h"

namespace sluice::runtime {
namespace {

using ir::DType;

// Bytes NumPy 2.4 wrote for np.save(f, np.array([[1.5, -2], [3, 4]], '<f4')).
const char kNumpyF32[] =
    "\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }"
    "                                                          \n"
    "\x00\x00\xc0?\x00\x00\x00\xc0\x00\x00@@\x00\x00\x80@";
// ... and for np.save(f, np.array(True)).
const char kNumpyBoolScalar[] =
    "\x93NUMPY\x01\x00v\x00{'descr': '|b1', 'fortran_order': False, 'shape': (), }"
    "                                                              \n\x01";

absl::string_view Bytes(const char* literal, size_t size_with_nul) {
  return absl::string_view(literal, size_with_nul - 1);
}

// A .npy file with a version-1 header made of `dict` and `data`.
std::string MakeNpy(absl::string_view dict, absl::string_view data, int major = 1) {
  std::string header = absl::StrCat(dict, "\n");
  std::string out("\x93NUMPY", 6);
  out.push_back(static_cast<char>(major));
  out.push_back('\0');
  const int width = major == 1 ? 2 : 4;
  for (int i = 0; i < width; ++i) {
    out.push_back(static_cast<char>((header.size() >> (8 * i)) & 0xff));
  }
  return absl::StrCat(out, header, data);
}

void ExpectError(absl::string_view bytes, absl::string_view needle) {
  absl::StatusOr<Tensor> t = ParseNpy(bytes, "input.npy");
  ASSERT_FALSE(t.ok()) << "parsed: " << t->DebugString();
  EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(t.status().message().find(needle), absl::string_view::npos)
      << t.status().message();
  EXPECT_NE(t.status().message().find("input.npy"), absl::string_view::npos)
      << t.status().message();
}

TEST(NpyTest, ReadsWhatNumpyWrote) {
  absl::StatusOr<Tensor> t = ParseNpy(Bytes(kNumpyF32, sizeof(kNumpyF32)), "f32");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->type(), (ir::TensorType{DType::kF32, {2, 2}}));
  EXPECT_EQ(t->GetAsDouble(0), 1.5);
  EXPECT_EQ(t->GetAsDouble(1), -2.0);
  EXPECT_EQ(t->GetAsDouble(2), 3.0);
  EXPECT_EQ(t->GetAsDouble(3), 4.0);

  absl::StatusOr<Tensor> b =
      ParseNpy(Bytes(kNumpyBoolScalar, sizeof(kNumpyBoolScalar)), "bool");
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->type(), (ir::TensorType{DType::kBool, {}}));
  EXPECT_EQ(b->GetAsDouble(0), 1.0);
}

TEST(NpyTest, WritesWhatNumpyWrites) {
  Tensor t = Tensor::Zeros(DType::kF32, {2, 2});
  t.SetFromDouble(0, 1.5);
  t.SetFromDouble(1, -2);
  t.SetFromDouble(2, 3);
  t.SetFromDouble(3, 4);
  const std::string bytes = SerializeNpy(t);
  EXPECT_EQ(bytes, Bytes(kNumpyF32, sizeof(kNumpyF32)));
}

TEST(NpyTest, HeaderIsPaddedTo64Bytes) {
  for (const ir::Shape& shape :
       {ir::Shape{}, ir::Shape{7}, ir::Shape{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}}) {
    Tensor t = Tensor::Zeros(DType::kF64, shape);
    const std::string bytes = SerializeNpy(t);
    const size_t header_end = bytes.size() - t.nbytes();
    EXPECT_EQ(header_end % 64, 0u) << shape.ToString();
    EXPECT_EQ(bytes[header_end - 1], '\n');
  }
}

Tensor Iota(DType dtype, const ir::Shape& shape) {
  Tensor t = Tensor::Zeros(dtype, shape);
  for (int64_t i = 0; i < t.num_elements(); ++i) {
    t.SetFromDouble(i, dtype == DType::kBool ? (i % 3 == 0) : (i * 0.5 - 3));
  }
  return t;
}

TEST(NpyTest, RoundTripsEveryDTypeAndShape) {
  const ir::Shape shapes[] = {{}, {0}, {3, 0, 2}, {5}, {2, 3, 4}};
  for (DType dtype : ir::kAllDTypes) {
    for (const ir::Shape& shape : shapes) {
      SCOPED_TRACE(absl::StrCat(ir::DTypeName(dtype), shape.ToString()));
      Tensor original = Iota(dtype, shape);
      absl::StatusOr<Tensor> back = ParseNpy(SerializeNpy(original), "round trip");
      ASSERT_TRUE(back.ok()) << back.status();
      EXPECT_EQ(back->type(), original.type());
      ASSERT_EQ(back->nbytes(), original.nbytes());
      EXPECT_EQ(std::memcmp(back->data(), original.data(), original.nbytes()), 0);
    }
  }
}

TEST(NpyTest, RoundTripKeepsSpecialValuesBitExact) {
  Tensor t = Tensor::Zeros(DType::kF32, {4});
  t.SetFromDouble(0, std::numeric_limits<double>::quiet_NaN());
  t.SetFromDouble(1, std::numeric_limits<double>::infinity());
  t.SetFromDouble(2, -0.0);
  t.SetFromDouble(3, 1e-45);
  absl::StatusOr<Tensor> back = ParseNpy(SerializeNpy(t), "special");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(std::memcmp(back->data(), t.data(), t.nbytes()), 0);
  EXPECT_TRUE(std::isnan(back->GetAsDouble(0)));
  EXPECT_TRUE(std::signbit(back->GetAsDouble(2)));
}

TEST(NpyTest, Bf16IsWrittenAsTwoByteVoid) {
  Tensor t = Iota(DType::kBF16, {3});
  const std::string bytes = SerializeNpy(t);
  EXPECT_NE(bytes.find("'descr': '<V2'"), std::string::npos);
  // '|V2' (NumPy's own spelling of a plain 2-byte void) reads as bf16 too.
  absl::StatusOr<Tensor> t2 = ParseNpy(
      MakeNpy("{'descr': '|V2', 'fortran_order': False, 'shape': (1,), }",
              std::string("\x80\x3f", 2)),
      "v2");
  ASSERT_TRUE(t2.ok()) << t2.status();
  EXPECT_EQ(t2->dtype(), DType::kBF16);
  EXPECT_EQ(t2->GetAsDouble(0), 1.0);
}

TEST(NpyTest, AcceptsHeaderVariants) {
  // Version 2.0 and 3.0 headers, double quotes, key order, no trailing comma,
  // Python 2 longs and a non-normalized bool byte.
  const std::string data("\x01\x00\x00\x00\x02\x00\x00\x00", 8);
  for (int major : {2, 3}) {
    absl::StatusOr<Tensor> t = ParseNpy(
        MakeNpy("{\"shape\": (2L,), \"fortran_order\": False, \"descr\": \"<i4\"}",
                data, major),
        "variant");
    ASSERT_TRUE(t.ok()) << t.status();
    EXPECT_EQ(t->type(), (ir::TensorType{DType::kI32, {2}}));
    EXPECT_EQ(t->GetAsDouble(1), 2.0);
  }
  absl::StatusOr<Tensor> b = ParseNpy(
      MakeNpy("{'descr': '|b1', 'fortran_order': False, 'shape': (2,)}",
              std::string("\x07\x00", 2)),
      "bool");
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->data_as<uint8_t>()[0], 1);
  EXPECT_EQ(b->data_as<uint8_t>()[1], 0);
}

TEST(NpyTest, BadMagic) {
  ExpectError("", "not a .npy file");
  ExpectError("\x93NUMP", "not a .npy file");
  ExpectError("PK\x03\x04 this is a zip", "not a .npy file");
}

TEST(NpyTest, TruncatedHeader) {
  ExpectError(absl::string_view("\x93NUMPY\x01", 7), "no format version");
  ExpectError(absl::string_view("\x93NUMPY\x01\x00\x10", 9), "no header length");
  const std::string full =
      MakeNpy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", "abcd");
  ExpectError(absl::string_view(full).substr(0, 30), "truncated .npy header");
}

TEST(NpyTest, UnsupportedVersion) {
  std::string bytes =
      MakeNpy("{'descr': '<f4', 'fortran_order': False, 'shape': (), }", "abcd");
  bytes[6] = 4;
  ExpectError(bytes, "unsupported .npy format version 4.0");
  bytes[6] = 1;
  bytes[7] = 1;
  ExpectError(bytes, "unsupported .npy format version 1.1");
}

TEST(NpyTest, MalformedDict) {
  ExpectError(MakeNpy("'descr': '<f4'", ""), "expected '{'");
  ExpectError(MakeNpy("{'descr' '<f4'}", ""), "expected ':'");
  ExpectError(MakeNpy("{'descr': '<f4", ""), "unterminated string");
  ExpectError(MakeNpy("{'descr': '<f4', 'fortran_order': False, 'shape': (1 2)}", ""),
              "expected ',' or ')'");
  ExpectError(MakeNpy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,", ""),
              "expected ')'");
  ExpectError(MakeNpy("{'descr': '<f4', 'fortran_order': Nope, 'shape': ()}", ""),
              "unexpected character 'N'");
  ExpectError(MakeNpy("{'descr': '<f4', 'fortran_order': False}", ""),
              "needs the keys");
  ExpectError(
      MakeNpy("{'descr': '<f4', 'fortran_order': False, 'shape': (), 'x': 1}", ""),
      "unexpected key 'x'");
  ExpectError(
      MakeNpy("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': ()}", ""),
      "duplicate key");
  ExpectError(MakeNpy("{'descr': '<f4', 'fortran_order': False, 'shape': ('a',)}", ""),
              "shape entry is a string");
  ExpectError(MakeNpy("{'descr': '<f4', 'fortran_order': 0, 'shape': ()}", ""),
              "fortran_order is an int");
  ExpectError(MakeNpy("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,)}", ""),
              "negative dimension");
  ExpectError(MakeNpy("{'descr': '<f4', 'fortran_order': False, "
                      "'shape': (99999999999999999999,)}",
                      ""),
              "integer out of range");
  ExpectError(MakeNpy("{'descr': '<f4', 'fortran_order': False, "
                      "'shape': (4294967296, 4294967296, 4294967296)}",
                      ""),
              "too large");
  ExpectError(MakeNpy("{'descr': '<f4', 'fortran_order': False, 'shape': ()} x", ""),
              "unexpected text after");
  ExpectError(MakeNpy(std::string(100, '('), ""), "expected '{'");
  ExpectError(MakeNpy("{'a': " + std::string(100, '['), ""), "nesting too deep");
}

TEST(NpyTest, FortranOrderIsRejected) {
  ExpectError(MakeNpy("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }",
                      std::string(16, '\0')),
              "fortran_order=True is not supported");
}

TEST(NpyTest, BigEndianIsRejected) {
  ExpectError(MakeNpy("{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }",
                      std::string(4, '\0')),
              "big-endian");
  ExpectError(MakeNpy("{'descr': '>i8', 'fortran_order': False, 'shape': (1,), }",
                      std::string(8, '\0')),
              "big-endian");
}

TEST(NpyTest, UnsupportedDescr) {
  ExpectError(MakeNpy("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }",
                      std::string(8, '\0')),
              "unsupported dtype descr '<c8'");
  ExpectError(MakeNpy("{'descr': '|u1', 'fortran_order': False, 'shape': (1,), }",
                      std::string(1, '\0')),
              "unsupported dtype descr '|u1'");
  ExpectError(MakeNpy("{'descr': [('a', '<f4')], 'fortran_order': False, "
                      "'shape': (1,), }",
                      std::string(4, '\0')),
              "structured dtypes are not supported");
}

TEST(NpyTest, DataSizeMismatch) {
  ExpectError(MakeNpy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
                      std::string(20, '\0')),
              "needs 24 bytes but the file has 20 (truncated)");
  ExpectError(MakeNpy("{'descr': '<f8', 'fortran_order': False, 'shape': (), }",
                      std::string(9, '\0')),
              "needs 8 bytes but the file has 9");
  ExpectError(MakeNpy("{'descr': '<f8', 'fortran_order': False, 'shape': (0,), }",
                      std::string(1, '\0')),
              "needs 0 bytes");
}

TEST(NpyTest, NeverCrashesOnMutatedInput) {
  const std::string valid = SerializeNpy(Iota(DType::kI64, {2, 3}));
  std::mt19937 rng(1234);
  int accepted = 0;
  for (int iter = 0; iter < 20000; ++iter) {
    std::string bytes = valid;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      const size_t pos = rng() % bytes.size();
      switch (rng() % 3) {
        case 0:
          bytes[pos] = static_cast<char>(rng());
          break;
        case 1:
          bytes.resize(pos);
          break;
        default:
          bytes.insert(pos, 1, "(){}[]',:0123456789 TF-L"[rng() % 24]);
          break;
      }
      if (bytes.empty()) break;
    }
    absl::StatusOr<Tensor> t = ParseNpy(bytes, "fuzz");
    if (t.ok()) {
      ++accepted;
      EXPECT_LE(t->nbytes(), static_cast<int64_t>(bytes.size()));
    }
  }
  // Edits to the data section leave valid files: some must still parse.
  EXPECT_GT(accepted, 0);
}

TEST(NpyTest, WriteAndReadFile) {
  const char* tmpdir = std::getenv("TEST_TMPDIR");
  const std::string path =
      absl::StrCat(tmpdir != nullptr ? tmpdir : "/tmp", "/npy_test_roundtrip.npy");
  Tensor t = Iota(DType::kF16, {3, 2});
  ASSERT_TRUE(WriteNpy(path, t).ok());
  absl::StatusOr<Tensor> back = ReadNpy(path);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->type(), t.type());
  EXPECT_EQ(std::memcmp(back->data(), t.data(), t.nbytes()), 0);
}

TEST(NpyTest, FileErrorsNameThePath) {
  absl::StatusOr<Tensor> missing = ReadNpy("/nonexistent/dir/x.npy");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("/nonexistent/dir/x.npy"),
            absl::string_view::npos);

  absl::Status write = WriteNpy("/nonexistent/dir/y.npy", Iota(DType::kF32, {1}));
  ASSERT_FALSE(write.ok());
  EXPECT_NE(write.message().find("/nonexistent/dir/y.npy"), absl::string_view::npos);

  EXPECT_FALSE(WriteNpy("/tmp/undefined.npy", Tensor()).ok());
}

}  // namespace
}  // namespace sluice::runtime
