#pragma once
// Internal to kernels/*.cu (nvcc only): error checks, the shared cuBLAS handle, launch sizes.
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <string>

namespace gpt::cuda {

// Throws gpt::Error (defined in lib/ops/cuda_errors.cpp, so nvcc need not see fmt).
[[noreturn]] void raise_error(const std::string& msg);
[[noreturn]] void raise_cuda(cudaError_t e, const char* what, const char* file, int line);
[[noreturn]] void raise_cublas(cublasStatus_t s, const char* what, const char* file, int line);

cublasHandle_t cublas();  // one handle per process, created on first use

inline unsigned blocks_for(int64_t n, int threads) {
  int64_t b = (n + threads - 1) / threads;
  return unsigned(b < 65535 * 32 ? b : 65535 * 32);  // grid-stride loops cover the rest
}

}  // namespace gpt::cuda

#define GPT_CUDA_CHECK(expr)                                                          \
  do {                                                                                \
    cudaError_t e_ = (expr);                                                          \
    if (e_ != cudaSuccess) ::gpt::cuda::raise_cuda(e_, #expr, __FILE__, __LINE__);    \
  } while (0)
#define GPT_CUBLAS_CHECK(expr)                                                        \
  do {                                                                                \
    cublasStatus_t s_ = (expr);                                                       \
    if (s_ != CUBLAS_STATUS_SUCCESS) ::gpt::cuda::raise_cublas(s_, #expr, __FILE__, __LINE__); \
  } while (0)
// Launch through a macro so the host emulation (tests/emu) can replace <<<>>>; `kernel` must be
// a plain name. kernels/conv1d_cuda.h defines the same.
#ifndef GPT_LAUNCH
#define GPT_LAUNCH(kernel, grid, block, smem, stream, ...) \
  kernel<<<(grid), (block), (smem), (stream)>>>(__VA_ARGS__)
#define GPT_DYNAMIC_SMEM(name) extern __shared__ float name[]
#endif
// After a launch: catches bad launch configurations at once (not asynchronous faults).
#define GPT_CUDA_LAUNCHED() GPT_CUDA_CHECK(cudaGetLastError())
