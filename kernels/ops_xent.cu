// Softmax cross-entropy, one block per row (V up to ~50k): max, then sum of exp, each a block
// reduction in a fixed order, then the loss or the gradient, as lib/ops/cpu/softmax_xent.cpp.
#include <cmath>
#include <string>

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

struct MinIntOp {
  __device__ __forceinline__ int operator()(int a, int b) const { return a < b ? a : b; }
};

// One block per row; stats carry the row from chunk to chunk (ops/ops.h). Every thread reads
// the old stats before the first reduction, and thread 0 writes the new ones after the last,
// whose barriers order the two.
__global__ void xent_chunk_fwd_kernel(float* losses, float* stats, const float* logits,
                                      const int32_t* targets, int64_t N, int v0, int vc,
                                      bool first, bool last) {
  __shared__ float sh[32];
  __shared__ int shi[32];
  for (int64_t n = blockIdx.x; n < N; n += gridDim.x) {
    float* st = stats + 4 * n;
    const float old_m = first ? -INFINITY : st[0], old_s = first ? 0.0f : st[1];
    const float old_zy = first ? 0.0f : st[2], old_arg = first ? -1.0f : st[3];
    const float* row = logits + n * vc;
    float cm = -INFINITY;
    for (int v = threadIdx.x; v < vc; v += blockDim.x) cm = fmaxf(cm, row[v]);
    cm = dev::block_reduce(cm, dev::MaxOp{}, -INFINITY, sh);
    int ci = vc;  // the first column holding the chunk's max: the smallest index found
    for (int v = threadIdx.x; v < vc; v += blockDim.x)
      if (row[v] == cm) { ci = v; break; }
    ci = dev::block_reduce(ci, MinIntOp{}, vc, shi);
    const float mx = fmaxf(cm, old_m);
    float s = 0.0f;
    for (int v = threadIdx.x; v < vc; v += blockDim.x) s += expf(row[v] - mx);
    s = dev::block_reduce(s, dev::SumOp{}, 0.0f, sh);
    if (threadIdx.x == 0) {
      const float sum = (first ? 0.0f : old_s * expf(old_m - mx)) + s;
      const int32_t y = targets ? targets[n] : -1;
      const float zy = y >= v0 && y < v0 + vc ? row[y - v0] : old_zy;
      st[0] = mx;
      st[1] = sum;
      st[2] = zy;
      st[3] = cm > old_m ? float(v0 + ci) : old_arg;  // a tie keeps the earlier chunk's
      if (last && losses) {
        losses[n] = y < 0 ? 0.0f : logf(sum) + mx - zy;
        if (y >= 0) atomicAdd(&g_xent_count, 1ull);
      }
    }
  }
}

// Elementwise; each thread reads logits[i] before writing dlogits[i], so the two may alias.
__global__ void xent_chunk_bwd_kernel(float* dlogits, const float* logits, const float* stats,
                                      const int32_t* targets, int64_t N, int v0, int vc,
                                      float scale) {
  const int64_t total = N * vc;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total;
       i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t n = i / vc;
    const int v = int(i - n * vc);
    const int32_t y = targets[n];
    float g = 0.0f;
    if (y >= 0) {
      g = __fmul_rn(expf(logits[i] - stats[4 * n]), scale / stats[4 * n + 1]);
      if (v0 + v == y) g -= scale;
    }
    dlogits[i] = g;
  }
}

}  // namespace

int64_t xent_chunk_forward(float* losses, float* stats, const float* logits,
                           const int32_t* targets, int64_t N, int v0, int vc, int V) {
  if (vc <= 0 || v0 < 0 || v0 + vc > V)
    raise_error("xent_chunk_forward: columns [" + std::to_string(v0) + ", " + std::to_string(v0 + vc) +
                ") are not inside [0, " + std::to_string(V) + ")");
  if (N <= 0) return 0;
  const bool last = v0 + vc == V;
  if (last) {
    const unsigned long long zero = 0;
    GPT_CUDA_CHECK(cudaMemcpyToSymbol(g_xent_count, &zero, sizeof(zero)));
  }
  GPT_LAUNCH(xent_chunk_fwd_kernel, blocks_for(N, 1), kThreads, 0, 0, losses, stats, logits, targets, N,
             v0, vc, v0 == 0, last);
  GPT_CUDA_LAUNCHED();
  if (!last || !losses) return 0;
  unsigned long long count = 0;
  GPT_CUDA_CHECK(cudaMemcpyFromSymbol(&count, g_xent_count, sizeof(count)));
  return int64_t(count);
}

void xent_chunk_backward(float* dlogits, const float* logits, const float* stats,
                         const int32_t* targets, int64_t N, int v0, int vc, float scale) {
  if (N <= 0 || vc <= 0) return;
  GPT_LAUNCH(xent_chunk_bwd_kernel, blocks_for(N * vc, 256), 256, 0, 0, dlogits, logits, stats, targets,
             N, v0, vc, scale);
  GPT_CUDA_LAUNCHED();
}

int64_t softmax_xent_forward(float* losses, const float* logits, const int32_t* targets, int64_t N,
                             int V) {
  if (N <= 0) return 0;
  if (V <= 0) raise_error("softmax_xent_forward: V must be positive");
  const unsigned long long zero = 0;
  GPT_CUDA_CHECK(cudaMemcpyToSymbol(g_xent_count, &zero, sizeof(zero)));
  GPT_LAUNCH(xent_fwd_kernel, blocks_for(N, 1), kThreads, 0, 0, losses, logits, targets, N, V);
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
  GPT_LAUNCH(xent_bwd_kernel, blocks_for(N, 1), kThreads, 0, 0, dlogits, logits, targets, N, V, scale);
  GPT_CUDA_LAUNCHED();
}

}  // namespace gpt::cuda
