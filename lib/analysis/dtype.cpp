#include "analysis/dtype.h"

#include "core/error.h"
#include "core/json_util.h"

namespace gpt::analysis {

const std::vector<DType>& all_dtypes() {
  static const std::vector<DType> v = {DType::FP32, DType::TF32, DType::FP16,
                                       DType::BF16, DType::FP8,  DType::INT8};
  return v;
}

int dtype_bytes(DType t) {
  switch (t) {
    case DType::FP32:
    case DType::TF32: return 4;
    case DType::FP16:
    case DType::BF16: return 2;
    case DType::FP8:
    case DType::INT8: return 1;
  }
  return 4;
}

const char* dtype_name(DType t) {
  switch (t) {
    case DType::FP32: return "fp32";
    case DType::TF32: return "tf32";
    case DType::FP16: return "fp16";
    case DType::BF16: return "bf16";
    case DType::FP8: return "fp8";
    case DType::INT8: return "int8";
  }
  return "?";
}

DType parse_dtype(const std::string& s) {
  std::vector<std::string> names;
  for (DType t : all_dtypes()) {
    if (s == dtype_name(t)) return t;
    names.push_back(dtype_name(t));
  }
  // Spellings people type from PyTorch habits.
  if (s == "float32" || s == "float") return DType::FP32;
  if (s == "float16" || s == "half") return DType::FP16;
  if (s == "bfloat16") return DType::BF16;
  throw UsageError("unknown dtype '" + s + "'" + did_you_mean(s, names) +
                   "; use fp32, tf32, fp16, bf16, fp8 or int8");
}

}  // namespace gpt::analysis
