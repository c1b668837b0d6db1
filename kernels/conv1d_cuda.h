#pragma once
// Internal bridge between lib/ops/cpu/conv1d_*.cpp (g++) and kernels/conv1d_*.cu (nvcc): plain
// C++ types only, so either compiler can include it. Everything here exists only when
// GPT_HAVE_CUDA is defined; the public API is ops/conv1d.h.
#include <functional>
#include <string>
#include <vector>

#include "ops/conv1d.h"

namespace gpt::conv1d {

// Throws gpt::Error (defined in conv1d_api.cpp so the .cu files need not see fmt).
[[noreturn]] void raise_error(const std::string& msg);

namespace cuda {

// True when a usable GPU is present (checked once); otherwise *why says what is missing.
bool device_ok(std::string* why);
std::string device_summary();

void forward(const Desc& d, Impl impl, void* y, const void* x, const float* w, const float* bias,
             void* stream);
size_t backward_workspace_bytes(const Desc& d, Impl impl, const BackwardOptions& opt);
void backward(const Desc& d, Impl impl, void* dx, float* dw, float* dbias, const void* dy,
              const void* x, const float* w, const float* bias, void* workspace,
              size_t workspace_bytes, const BackwardOptions& opt, void* stream);
std::string kernel_name(const Desc& d, Impl impl, Pass pass);

// Harness helpers (default stream, synchronous unless named otherwise).
void* alloc(size_t bytes);
void release(void* p);
void to_device(void* dst, const void* src, size_t bytes);
void to_host(void* dst, const void* src, size_t bytes);
void fill_bytes(void* p, int value, size_t bytes);
// Runs fn warmup times, then up to iters times (stopping once max_seconds of GPU time have
// passed), timing each run with CUDA events; with cold, a 2x-L2-sized buffer is overwritten
// before each timed run, outside the timed region. Returns per-run milliseconds.
std::vector<double> time_runs(const std::function<void()>& fn, int warmup, int iters,
                              double max_seconds, bool cold);
// Median milliseconds of a device-to-device copy of `bytes` bytes.
double copy_ms(size_t bytes, int iters);

}  // namespace cuda
}  // namespace gpt::conv1d

#if defined(__CUDACC__) || defined(GPT_CONV1D_EMULATE)
// ---- device-side pieces shared by kernels/conv1d_*.cu --------------------------------------
// GPT_CONV1D_EMULATE: a host-only build of the kernels (each CUDA thread a fiber) used to
// check indexing without a GPU; tests/emu/conv1d_emu.h supplies the launch and runtime shims.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#ifndef GPT_CONV1D_EMULATE
#include <cuda_runtime.h>
// Launch through a macro so the emulator can replace <<<>>>; `kernel` must be a plain name
// (bind a template instantiation to a local first).
#ifndef GPT_LAUNCH  // kernels/cuda_common.h defines the same
#define GPT_LAUNCH(kernel, grid, block, smem, stream, ...) \
  kernel<<<(grid), (block), (smem), (stream)>>>(__VA_ARGS__)
#define GPT_DYNAMIC_SMEM(name) extern __shared__ float name[]
#endif
#endif

#include <cstdint>
#include <type_traits>

namespace gpt::conv1d::cuda {

void check(cudaError_t e, const char* what);  // raises gpt::Error naming `what` on failure
void check_launch(const char* kernel);         // cudaGetLastError after a launch

// Storage element <-> fp32. Raw bits go through uint16_t so vector loads can unpack them.
template <class T> struct St;
template <> struct St<float> {
  static constexpr int V = 4;  // elements per 16-byte vector
  __device__ static float to(float v) { return v; }
  __device__ static float from(float v) { return v; }
};
template <> struct St<__nv_bfloat16> {
  static constexpr int V = 8;
  __device__ static float to(__nv_bfloat16 v) { return __bfloat162float(v); }
  __device__ static __nv_bfloat16 from(float v) { return __float2bfloat16_rn(v); }
};
template <> struct St<__half> {
  static constexpr int V = 8;
  __device__ static float to(__half v) { return __half2float(v); }
  __device__ static __half from(float v) { return __float2half_rn(v); }
};

// N consecutive elements at p as floats; p must be aligned to N * sizeof(T) bytes and
// N * sizeof(T) must be 8 or 16.
template <class T, int N>
__device__ __forceinline__ void load_vec(const T* p, float* out) {
  static_assert(N * sizeof(T) == 16 || N * sizeof(T) == 8, "vector of 8 or 16 bytes");
  union U {
    typename std::conditional<N * sizeof(T) == 16, uint4, uint2>::type v;
    T e[N];
    __device__ U() {}
  } u;
#ifdef GPT_CONV1D_EMULATE
  ::gpt_emu::check_align(p, sizeof(u.v));
#endif
  u.v = *reinterpret_cast<const decltype(u.v)*>(p);
#pragma unroll
  for (int i = 0; i < N; ++i) out[i] = St<T>::to(u.e[i]);
}

template <class T, int N>
__device__ __forceinline__ void store_vec(T* p, const float* in) {
  static_assert(N * sizeof(T) == 16 || N * sizeof(T) == 8, "vector of 8 or 16 bytes");
  union U {
    typename std::conditional<N * sizeof(T) == 16, uint4, uint2>::type v;
    T e[N];
    __device__ U() {}
  } u;
#pragma unroll
  for (int i = 0; i < N; ++i) u.e[i] = St<T>::from(in[i]);
#ifdef GPT_CONV1D_EMULATE
  ::gpt_emu::check_align(p, sizeof(u.v));
#endif
  *reinterpret_cast<decltype(u.v)*>(p) = u.v;
}

// fp32 storage keeps libm accuracy so fp32 results stay within 1e-5 of the reference; 16-bit
// storage rounds far more than __expf's error, so it takes the fast path.
template <class T>
__device__ __forceinline__ float exp_neg(float v) {
  if constexpr (sizeof(T) == 4) return expf(-v); else return __expf(-v);
}
// Likewise the division: an IEEE fp32 divide is a ~10-instruction sequence with a slow-path
// branch, which the 16-bit kernels (twice the elements per byte) cannot afford at copy speed;
// __fdividef is a reciprocal and a multiply (2 ulp), and gives the right limit 0 when the
// denominator overflows to infinity (v -> -inf).
template <class T>
__device__ __forceinline__ float div_silu(float a, float b) {
  if constexpr (sizeof(T) == 4) return a / b; else return __fdividef(a, b);
}
template <class T>
__device__ __forceinline__ float silu(float v) { return div_silu<T>(v, 1.0f + exp_neg<T>(v)); }
template <class T>
__device__ __forceinline__ float silu_grad(float pre) {
  float s = div_silu<T>(1.0f, 1.0f + exp_neg<T>(pre));
  return s * (1.0f + pre * (1.0f - s));
}

// Kernel-facing view of a Desc.
struct Shape {
  int64_t B, C, L;
  int K, pad;  // pad = taps before the current sample
  bool bias, silu;
};
inline Shape shape_of(const Desc& d) {
  return {d.B, d.C, d.L, d.K, pad_left(d), d.bias, d.silu};
}

// Partials [P][C][K+1] (tap K = bias) -> dw [C][K], dbias [C], summed over P in order.
void reduce_partials(const float* part, int64_t P, const Shape& s, float* dw, float* dbias,
                     cudaStream_t st);
// Atomic mode: dw and dbias must start at zero.
void zero_grads(const Shape& s, float* dw, float* dbias, cudaStream_t st);

// Per-family launchers (conv1d_naive.cu, conv1d_tiled.cu, conv1d_vec*.cu).
void naive_forward(const Desc& d, void* y, const void* x, const float* w, const float* b,
                   cudaStream_t st);
void naive_backward(const Desc& d, void* dx, float* dw, float* db, const void* dy, const void* x,
                    const float* w, const float* b, cudaStream_t st);
void tiled_forward(const Desc& d, void* y, const void* x, const float* w, const float* b,
                   cudaStream_t st);
int64_t tiled_partials(const Desc& d);  // P for the deterministic workspace
void tiled_backward(const Desc& d, void* dx, float* dw, float* db, const void* dy, const void* x,
                    const float* w, const float* b, float* part, cudaStream_t st);
// The vec kernels exist for K <= 8 (causal) and odd K <= 9 (same); 0 means no fast path.
int vec_bucket(const Desc& d);
void vec_forward(const Desc& d, void* y, const void* x, const float* w, const float* b,
                 cudaStream_t st);
int64_t vec_partials(const Desc& d);
void vec_backward(const Desc& d, void* dx, float* dw, float* db, const void* dy, const void* x,
                  const float* w, const float* b, float* part, cudaStream_t st);
// Version-2 cuda-vec kernels (same tap buckets as vec_bucket). conv1d_blc2.cu: BLC forward and
// backward for every dtype (4 channels forward / 2 backward per thread, rows in groups whose
// loads are issued together); blc2_seg is the rows per warp the launch picks. conv1d_bcl2.cu: BCL backward for fp16/bf16 (a warp per row, halos by shuffles).
// The dispatcher falls back to the version-1 kernels with GPT_CONV1D_BLC_V1=1 and
// GPT_CONV1D_BCL_BWD_V1=1.
int blc2_seg(const Desc& d, Pass pass);
std::string blc2_name(const Desc& d, Pass pass);  // the bench's "kernel" column
int64_t blc2_partials(const Desc& d);
void blc2_forward(const Desc& d, void* y, const void* x, const float* w, const float* b,
                  cudaStream_t st);
void blc2_backward(const Desc& d, void* dx, float* dw, float* db, const void* dy, const void* x,
                   const float* w, const float* b, float* part, cudaStream_t st);
int64_t bcl2_partials(const Desc& d);
void bcl2_backward(const Desc& d, void* dx, float* dw, float* db, const void* dy, const void* x,
                   const float* w, const float* b, float* part, cudaStream_t st);

}  // namespace gpt::conv1d::cuda
#endif  // __CUDACC__ || GPT_CONV1D_EMULATE
