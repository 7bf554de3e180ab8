// Reading and writing host tensors as NumPy .npy files (format versions 1.0,
// 2.0 and 3.0; little-endian, C order only), so that test data and tool
// outputs can be exchanged with NumPy.
//
// DType <-> descr:
//   f32 '<f4'   f16 '<f2'   f64 '<f8'   i32 '<i4'   i64 '<i8'   bool '|b1'
//   bf16 '<V2'  (NumPy has no bfloat16; ml_dtypes' bfloat16 saves as '<V2', a
//                raw 2-byte void. The reader takes '<V2' and '|V2' as bf16
//                bit patterns; the writer writes '<V2'. Read with plain NumPy,
//                such a file is raw bytes: `a.view(np.uint16)` gives the bits.)
// On read, '=' (native order) is taken as little-endian and '|' is accepted
// for one-byte types; bool bytes other than 0/1 are normalized to 1.
//
// The parser never crashes on malformed input: every problem is an
// InvalidArgument status naming the input (the path, or the name given).
#ifndef SLUICE_RUNTIME_NPY_H_
#define SLUICE_RUNTIME_NPY_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "runtime/tensor.h"

namespace sluice::runtime {

// Reads a .npy file into an owning tensor. A read failure names the path.
absl::StatusOr<Tensor> ReadNpy(const std::string& path);

// Parses the bytes of a .npy file; `name_for_errors` prefixes error messages.
absl::StatusOr<Tensor> ParseNpy(absl::string_view bytes,
                                absl::string_view name_for_errors);

// Writes `tensor` as a version 1.0 .npy file (2.0 when the header would not
// fit in 1.0's 16-bit length). The tensor must be defined.
absl::Status WriteNpy(const std::string& path, const Tensor& tensor);

// The bytes WriteNpy writes. The header is padded so that the data starts at
// a multiple of 64 bytes, as NumPy does.
std::string SerializeNpy(const Tensor& tensor);

}  // namespace sluice::runtime

#endif  // SLUICE_RUNTIME_NPY_H_
