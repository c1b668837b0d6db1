// The CUDA sources cannot use fmt (nvcc), so they report through this one throwing function.
#include <string>

#include "core/error.h"

namespace gpt::cuda {
[[noreturn]] void raise_error(const std::string& msg) { throw Error(msg); }
}  // namespace gpt::cuda
