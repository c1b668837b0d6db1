#pragma once
// Host emulation of the CUDA conv1d kernels (GPT_CONV1D_EMULATE), force-included (-include)
// when kernels/conv1d_*.cu are compiled as plain C++ by tests/emu/Makefile. Each CUDA thread is
// a fiber (a small hand-written context switch); the fibers of one block run on one OS thread (so `__shared__`, mapped to
// `static thread_local`, is per block), blocks are spread over a few OS threads.
//   __syncthreads      a barrier of the block's live threads
//   __shfl_*_sync      a barrier of the warp; every lane of the warp must be live and the mask
//                      full (a shuffle with an exited lane is undefined on a GPU: reported)
//   atomicAdd          a real atomic (blocks run in parallel)
//   load_vec/store_vec check the vector alignment (conv1d_cuda.h calls gpt_emu::check_align)
// A barrier that can never complete (divergent __syncthreads, a shuffle in one branch) aborts
// with the block and thread. Device memory is host memory with guard pages (cuda::alloc in
// conv1d_emu.cpp), so an out-of-bounds access past a buffer's end faults.
// What it does not check: races, shared-memory bounds, and anything about speed.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <atomic>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <type_traits>

#undef __global__
#undef __device__
#undef __host__
#undef __forceinline__
#undef __shared__
#undef __launch_bounds__
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __shared__ static thread_local
#define __launch_bounds__(...)

namespace gpt_emu {

struct Dim3 { unsigned x = 0, y = 0, z = 0; };

const Dim3& thread_idx();
const Dim3& block_idx();
const Dim3& block_dim();
const Dim3& grid_dim();
float* dynamic_smem();
void sync_block();
// Warp exchange: every lane deposits `bytes` bytes from `in` and receives lane src_of(lane)'s
// deposit in `out` (its own where src_of returns a lane outside the warp).
void warp_exchange(const void* in, void* out, size_t bytes, unsigned mask,
                   int (*src_of)(int lane, int arg), int arg);
void sync_warp(unsigned mask);
[[noreturn]] void fail(const char* what);
void check_align(const void* p, size_t bytes);
int lane_id();

// Runs body once per thread of every block; returns after the whole grid finished. A block
// may be 2-D or 3-D: its threads are numbered x fastest, and warps are cut from that order, as
// on the GPU.
void run_grid(unsigned grid, Dim3 block, size_t smem, const std::function<void()>& body);

template <class D>
Dim3 block_shape(const D& d) {
  if constexpr (std::is_integral_v<D>) return Dim3{unsigned(d), 1, 1};
  else return Dim3{unsigned(d.x), unsigned(d.y), unsigned(d.z)};  // dim3
}

template <class K, class... A>
void launch(K kernel, unsigned grid, Dim3 block, size_t smem, A... args) {
  const unsigned threads = block.x * block.y * block.z;
  if (grid == 0 || threads == 0 || threads > 1024) fail("launch: bad grid or block size");
  std::function<void()> body = [=] { kernel(args...); };
  run_grid(grid, block, smem, body);
}

inline int src_idx(int, int src) { return src & 31; }
inline int src_up(int lane, int d) { return lane - d; }
inline int src_down(int lane, int d) { return lane + d; }
inline int src_xor(int lane, int m) { return lane ^ m; }

template <class T>
T shfl(unsigned mask, T v, int (*f)(int, int), int arg, int width) {
  static_assert(std::is_trivially_copyable_v<T> && sizeof(T) <= 16, "shuffle of a small value");
  if (width != 32) fail("shuffle: only width 32 is emulated");
  T out;
  warp_exchange(&v, &out, sizeof(T), mask, f, arg);
  return out;
}

}  // namespace gpt_emu

#define threadIdx (::gpt_emu::thread_idx())
#define blockIdx (::gpt_emu::block_idx())
#define blockDim (::gpt_emu::block_dim())
#define gridDim (::gpt_emu::grid_dim())

#define GPT_LAUNCH(kernel, grid, block, smem, stream, ...) \
  ((void)(stream), ::gpt_emu::launch(kernel, unsigned(grid), ::gpt_emu::block_shape(block), size_t(smem), \
                                     __VA_ARGS__))
#define GPT_DYNAMIC_SMEM(name) float* name = ::gpt_emu::dynamic_smem()

inline void __syncthreads() { ::gpt_emu::sync_block(); }
inline void __syncwarp(unsigned mask = 0xffffffffu) { ::gpt_emu::sync_warp(mask); }
template <class T>
T __shfl_sync(unsigned mask, T v, int src, int width = 32) {
  return ::gpt_emu::shfl(mask, v, ::gpt_emu::src_idx, src, width);
}
template <class T>
T __shfl_up_sync(unsigned mask, T v, unsigned d, int width = 32) {
  return ::gpt_emu::shfl(mask, v, ::gpt_emu::src_up, int(d), width);
}
template <class T>
T __shfl_down_sync(unsigned mask, T v, unsigned d, int width = 32) {
  return ::gpt_emu::shfl(mask, v, ::gpt_emu::src_down, int(d), width);
}
template <class T>
T __shfl_xor_sync(unsigned mask, T v, int m, int width = 32) {
  return ::gpt_emu::shfl(mask, v, ::gpt_emu::src_xor, m, width);
}
inline float atomicAdd(float* p, float v) { return std::atomic_ref<float>(*p).fetch_add(v); }
inline unsigned __float_as_uint(float f) {
  unsigned u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}
#define __expf(v) ::expf(v)
#define __fdividef(a, b) ((a) / (b))
