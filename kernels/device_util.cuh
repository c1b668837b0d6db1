#pragma once
// Device helpers shared by kernels/*.cu (nvcc only): block reductions whose order depends only on
// blockDim (so results repeat bit for bit), and the counter-based hash of core/rng.h.
#include <cstdint>

// Grid-stride loop over [0, n): any grid size covers any n.
#define GPT_GRID_STRIDE(i, n)                                                    \
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < (n); \
       i += int64_t(gridDim.x) * blockDim.x)

namespace gpt::cuda::dev {

// The same integer hash as gpt::splitmix64 / gpt::hash_uniform (lib/core/rng.h): dropout masks
// drawn on the GPU are bit-identical to the CPU's. Keep the two in step.
__device__ __forceinline__ uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}
__device__ __forceinline__ float hash_uniform(uint64_t seed, uint64_t index) {
  // The value is below 2^24, so the conversion and the scaling are exact.
  return float(splitmix64(seed ^ splitmix64(index)) >> 40) * (1.0f / 16777216.0f);
}

struct SumOp {
  template <class T>
  __device__ __forceinline__ T operator()(T a, T b) const { return a + b; }
};
struct MaxOp {
  __device__ __forceinline__ float operator()(float a, float b) const { return fmaxf(a, b); }
};

// Butterfly: a + b is commutative in IEEE arithmetic, so every lane ends with the same bits.
template <class T, class Op>
__device__ __forceinline__ T warp_reduce(T v, Op op) {
  for (int o = 16; o > 0; o >>= 1) v = op(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// All threads of the block must call it (blockDim.x a multiple of 32); every thread gets the
// result. sh holds 32 values; the leading barrier lets callers reuse sh call after call.
template <class T, class Op>
__device__ __forceinline__ T block_reduce(T v, Op op, T identity, T* sh) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = blockDim.x >> 5;
  v = warp_reduce(v, op);
  __syncthreads();
  if (lane == 0) sh[warp] = v;
  __syncthreads();
  return warp_reduce(lane < nwarps ? sh[lane] : identity, op);
}

}  // namespace gpt::cuda::dev
