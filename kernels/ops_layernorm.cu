// LayerNorm: one warp per row for y, mean, rstd and dx; dw/db by a column tile per block summing
// rows in a fixed order (no float atomics), so backward repeats bit for bit. The per-element
// arithmetic is that of lib/ops/cpu/layernorm.cpp.
#include "cuda_common.h"
#include "device_util.cuh"
#include "ops_cuda.h"

namespace gpt::cuda {
namespace {

constexpr int kRowThreads = 256;  // 8 rows (warps) per block
constexpr int kRowsPerBlock = kRowThreads / 32;

__device__ __forceinline__ float warp_sum(float v) { return dev::warp_reduce(v, dev::SumOp{}); }

// The row loop is warp-uniform, so the full-mask shuffles inside warp_sum are safe.
#define ROW_LOOP(n, N)                                                                     \
  for (int64_t n = int64_t(blockIdx.x) * kRowsPerBlock + (threadIdx.x >> 5); n < (N); \
       n += int64_t(gridDim.x) * kRowsPerBlock)

__global__ void ln_fwd_kernel(float* y, float* mean, float* rstd, const float* x, const float* w,
                              const float* b, int64_t N, int C, float eps) {
  const int lane = threadIdx.x & 31;
  ROW_LOOP(n, N) {
    const float* xr = x + n * C;
    float s = 0.0f;
    for (int c = lane; c < C; c += 32) s += xr[c];
    const float m = warp_sum(s) / float(C);
    float v = 0.0f;
    for (int c = lane; c < C; c += 32) {
      float d = xr[c] - m;
      v += d * d;
    }
    const float r = 1.0f / sqrtf(warp_sum(v) / float(C) + eps);
    float* yr = y + n * C;
    if (b)
      for (int c = lane; c < C; c += 32) yr[c] = (xr[c] - m) * r * w[c] + b[c];
    else
      for (int c = lane; c < C; c += 32) yr[c] = (xr[c] - m) * r * w[c];
    if (lane == 0) {
      mean[n] = m;
      rstd[n] = r;
    }
  }
}

__global__ void ln_bwd_dx_kernel(float* dx, const float* dy, const float* x, const float* w,
                                 const float* mean, const float* rstd, int64_t N, int C) {
  const int lane = threadIdx.x & 31;
  ROW_LOOP(n, N) {
    const float* dyr = dy + n * C;
    const float* xr = x + n * C;
    const float m = mean[n], r = rstd[n];
    float sg = 0.0f, sgx = 0.0f;
    for (int c = lane; c < C; c += 32) {
      float g = dyr[c] * w[c];
      sg += g;
      sgx += g * (xr[c] - m) * r;
    }
    sg = warp_sum(sg) / float(C);
    sgx = warp_sum(sgx) / float(C);
    float* dxr = dx + n * C;
    for (int c = lane; c < C; c += 32) dxr[c] += r * (dyr[c] * w[c] - sg - (xr[c] - m) * r * sgx);
  }
}

// Block (32, kColRows): column blockIdx.x*32 + tx; row group ty takes rows ty, ty+kColRows, ...
// and the kColRows partials are then added in ty order. The order depends on N and C alone.
constexpr int kColRows = 32;

__global__ void ln_bwd_dwdb_kernel(float* dw, float* db, const float* dy, const float* x,
                                   const float* mean, const float* rstd, int64_t N, int C) {
  __shared__ float sw[kColRows][33], sb[kColRows][33];
  const int tx = threadIdx.x, ty = threadIdx.y;
  const int c = blockIdx.x * 32 + tx;
  float aw = 0.0f, ab = 0.0f;
  if (c < C)
    for (int64_t n = ty; n < N; n += kColRows) {
      float d = dy[n * C + c];
      aw += d * (x[n * C + c] - mean[n]) * rstd[n];
      ab += d;
    }
  sw[ty][tx] = aw;
  sb[ty][tx] = ab;
  __syncthreads();
  if (ty == 0 && c < C) {
    float tw = 0.0f, tb = 0.0f;
    for (int k = 0; k < kColRows; ++k) {
      tw += sw[k][tx];
      tb += sb[k][tx];
    }
    dw[c] += tw;
    if (db) db[c] += tb;
  }
}

}  // namespace

void layernorm_forward(float* y, float* mean, float* rstd, const float* x, const float* w,
                       const float* b, int64_t N, int C, float eps) {
  if (N <= 0 || C <= 0) return;
  GPT_LAUNCH(ln_fwd_kernel, blocks_for(N, kRowsPerBlock), kRowThreads, 0, 0, y, mean, rstd, x, w,
             b, N, C, eps);
  GPT_CUDA_LAUNCHED();
}

void layernorm_backward(float* dx, float* dw, float* db, const float* dy, const float* x,
                        const float* w, const float* mean, const float* rstd, int64_t N, int C) {
  if (N <= 0 || C <= 0) return;
  GPT_LAUNCH(ln_bwd_dx_kernel, blocks_for(N, kRowsPerBlock), kRowThreads, 0, 0, dx, dy, x, w, mean,
             rstd, N, C);
  GPT_CUDA_LAUNCHED();
  GPT_LAUNCH(ln_bwd_dwdb_kernel, unsigned((C + 31) / 32), dim3(32, kColRows), 0, 0, dw, db, dy, x,
             mean, rstd, N, C);
  GPT_CUDA_LAUNCHED();
}

}  // namespace gpt::cuda
