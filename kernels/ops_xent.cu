// Softmax cross-entropy, one block per row (V up to ~50k): max, then sum of exp, each a block
// reduction in a fixed order, then the loss or the gradient, as lib/ops/cpu/softmax_xent.cpp.
#include <cmath>

#include "cuda_common.h"
#include "device_util.cuh"
#include "ops_cuda.h"

namespace gpt::cuda {
namespace {

constexpr int kThreads = 512;

// Rows counted by forward (target >= 0); an integer atomic, so the count is exact.
__device__ unsigned long long g_xent_count;

struct RowStats {
  float mx, sum;
};

// Every thread of the block calls it and gets the same max and sum. Both reductions end in a
// barrier, so once it returns no thread reads the row again before the caller writes it.
__device__ RowStats row_stats(const float* row, int V, float* sh) {
  float mx = -INFINITY;
  for (int v = threadIdx.x; v < V; v += blockDim.x) mx = fmaxf(mx, row[v]);
  mx = dev::block_reduce(mx, dev::MaxOp{}, -INFINITY, sh);
  float s = 0.0f;
  for (int v = threadIdx.x; v < V; v += blockDim.x) s += expf(row[v] - mx);
  s = dev::block_reduce(s, dev::SumOp{}, 0.0f, sh);
  return {mx, s};
}

__global__ void xent_fwd_kernel(float* losses, const float* logits, const int32_t* targets,
                                int64_t N, int V) {
  __shared__ float sh[32];
  for (int64_t n = blockIdx.x; n < N; n += gridDim.x) {
    const int32_t y = targets[n];
    if (y < 0) {  // uniform across the block: no barrier is skipped by some threads only
      if (threadIdx.x == 0) losses[n] = 0.0f;
      continue;
    }
    const float* row = logits + n * V;
    const RowStats st = row_stats(row, V, sh);
    if (threadIdx.x == 0) {
      // An out-of-range target would read past the row; NaN marks it instead.
      losses[n] = y < V ? logf(st.sum) + st.mx - row[y] : NAN;
      atomicAdd(&g_xent_count, 1ull);
    }
  }
}

__global__ void xent_bwd_kernel(float* dlogits, const float* logits, const int32_t* targets,
                                int64_t N, int V, float scale) {
  __shared__ float sh[32];
  for (int64_t n = blockIdx.x; n < N; n += gridDim.x) {
    const int32_t y = targets[n];
    float* d = dlogits + n * V;
    if (y < 0) {
      for (int v = threadIdx.x; v < V; v += blockDim.x) d[v] = 0.0f;
      continue;
    }
    const float* row = logits + n * V;
    const RowStats st = row_stats(row, V, sh);
    const float k = scale / st.sum;
    // Each thread reads row[v] before writing d[v] at the same v, so dlogits may alias logits.
    // __fmul_rn keeps e * k rounded on its own before subtracting scale, as on the CPU.
    for (int v = threadIdx.x; v < V; v += blockDim.x) {
      float g = __fmul_rn(expf(row[v] - st.mx), k);
      if (v == y) g -= scale;
      d[v] = g;
    }
  }
}

}  // namespace

int64_t softmax_xent_forward(float* losses, const float* logits, const int32_t* targets, int64_t N,
                             int V) {
  if (N <= 0) return 0;
  if (V <= 0) raise_error("softmax_xent_forward: V must be positive");
  const unsigned long long zero = 0;
  GPT_CUDA_CHECK(cudaMemcpyToSymbol(g_xent_count, &zero, sizeof(zero)));
  xent_fwd_kernel<<<blocks_for(N, 1), kThreads>>>(losses, logits, targets, N, V);
  GPT_CUDA_LAUNCHED();
  unsigned long long count = 0;
  // Synchronous: waits for the kernel (and reports its faults).
  GPT_CUDA_CHECK(cudaMemcpyFromSymbol(&count, g_xent_count, sizeof(count)));
  return int64_t(count);
}

void softmax_xent_backward(float* dlogits, const float* logits, const int32_t* targets, int64_t N,
                           int V, float scale) {
  if (N <= 0) return;
  if (V <= 0) raise_error("softmax_xent_backward: V must be positive");
  xent_bwd_kernel<<<blocks_for(N, 1), kThreads>>>(dlogits, logits, targets, N, V, scale);
  GPT_CUDA_LAUNCHED();
}

}  // namespace gpt::cuda
