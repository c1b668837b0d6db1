// Runtime shims for the model-op kernels under host emulation: __device__ variables are host
// globals there, so the symbol copies are memcpy; errors go to gpt::Error as on the GPU.
#include <cstring>
#include <string>

#include "../../kernels/cuda_common.h"

extern "C" {
cudaError_t cudaStreamSynchronize(cudaStream_t) { return cudaSuccess; }  // launches are synchronous
cudaError_t cudaMemcpyToSymbol(const void* symbol, const void* src, size_t count, size_t offset,
                               cudaMemcpyKind) {
  std::memcpy(static_cast<char*>(const_cast<void*>(symbol)) + offset, src, count);
  return cudaSuccess;
}
cudaError_t cudaMemcpyFromSymbol(void* dst, const void* symbol, size_t count, size_t offset,
                                 cudaMemcpyKind) {
  std::memcpy(dst, static_cast<const char*>(symbol) + offset, count);
  return cudaSuccess;
}
}

namespace gpt::cuda {
[[noreturn]] void raise_cuda(cudaError_t, const char* what, const char* file, int line) {
  raise_error(std::string("emulated CUDA error in ") + what + " at " + file + ":" + std::to_string(line));
}
}  // namespace gpt::cuda

// The runtime of kernels/ops_cuda.h (kernels/cuda_runtime.cu on a GPU): "device" memory is the
// conv1d emulation's guarded host memory, so a kernel that runs past a buffer's end faults.
#include <cmath>
#include <limits>

#include "../../kernels/conv1d_cuda.h"
#include "../../kernels/ops_cuda.h"

namespace gpt::cuda {
bool available(std::string*) { return true; }
std::string device_name() { return "host emulation (tests/emu), not a GPU"; }
void* alloc(size_t bytes) { return bytes ? conv1d::cuda::alloc(bytes) : nullptr; }
void release(void* p) { if (p) conv1d::cuda::release(p); }
void to_device(void* dst, const void* src, size_t bytes) { if (bytes) std::memcpy(dst, src, bytes); }
void to_host(void* dst, const void* src, size_t bytes) { if (bytes) std::memcpy(dst, src, bytes); }
void copy(void* dst, const void* src, size_t bytes) { if (bytes) std::memmove(dst, src, bytes); }
void fill_zero(void* p, size_t bytes) { if (bytes) std::memset(p, 0, bytes); }
void fill_nan(float* p, size_t n) {
  for (size_t i = 0; i < n; ++i) p[i] = std::numeric_limits<float>::quiet_NaN();
}
void synchronize() {}
}  // namespace gpt::cuda
