#pragma once
// Element types the cost model knows: the storage size sets bytes moved, the name selects the
// hardware peak (tf32 is stored as fp32 but runs on tensor cores at its own peak).
#include <string>
#include <vector>

namespace gpt::analysis {

enum class DType { FP32, TF32, FP16, BF16, FP8, INT8 };

int dtype_bytes(DType t);
const char* dtype_name(DType t);
// Throws gpt::UsageError naming the accepted spellings (and the closest one).
DType parse_dtype(const std::string& s);
const std::vector<DType>& all_dtypes();

}  // namespace gpt::analysis
