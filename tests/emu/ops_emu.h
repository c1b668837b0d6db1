#pragma once
// The few device intrinsics the model-op kernels (kernels/ops_*.cu) use beyond the conv1d
// ones, for the host emulation. Force-included before conv1d_emu.h (GPT_CUDA=EMULATE in
// CMakeLists.txt): the CUDA runtime headers that kernels/cuda_common.h includes name parameters
// gridDim and blockDim, which conv1d_emu.h turns into macros, so they are read here first.
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <atomic>

inline unsigned long long atomicAdd(unsigned long long* p, unsigned long long v) {
  return std::atomic_ref<unsigned long long>(*p).fetch_add(v);
}
// Host float arithmetic is round-to-nearest already: the _rn intrinsics are the plain operators.
inline float __fmul_rn(float a, float b) { return a * b; }
// cuda_runtime.h has these symbol overloads for nvcc only.
template <class T>
cudaError_t cudaMemcpyToSymbol(const T& symbol, const void* src, size_t count, size_t offset = 0,
                               cudaMemcpyKind kind = cudaMemcpyHostToDevice) {
  return ::cudaMemcpyToSymbol(static_cast<const void*>(&symbol), src, count, offset, kind);
}
template <class T>
cudaError_t cudaMemcpyFromSymbol(void* dst, const T& symbol, size_t count, size_t offset = 0,
                                 cudaMemcpyKind kind = cudaMemcpyDeviceToHost) {
  return ::cudaMemcpyFromSymbol(dst, static_cast<const void*>(&symbol), count, offset, kind);
}
