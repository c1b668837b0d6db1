// Tiled kernels: each block stages a tile of x plus its K-1 halo in shared memory (as fp32), so
// every input element is read from global memory about once instead of K times. Any K 1..64.
//   BCL: a block owns 1024 positions of one (b, c) row.
//   BLC: a block owns 32 rows x 32 channels; lanes run along channels, so loads are coalesced.
// Backward stages x and dy the same way, recomputes the pre-activation for SiLU, writes dx,
// and accumulates dw/dbias per block (one warp per tap); blocks then either write a partial
// row (deterministic) or add it with fp32 atomics.
#include <algorithm>

#include "conv1d_cuda.h"

namespace gpt::conv1d::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int kTileL = 1024;  // BCL positions per tile
constexpr int kRows = 32;     // BLC rows per tile
constexpr int kCols = 32;     // BLC channels per tile
constexpr int kSegTiles = 8;  // BLC backward: tiles per block (256 rows) before writing partials
constexpr int kSlots = (kMaxWidth + 1 + kThreads / 32 - 1) / (kThreads / 32);  // taps per warp

template <class T>
__global__ void tiled_fwd_bcl(Shape s, T* y, const T* x, const float* w, const float* bias) {
  GPT_DYNAMIC_SMEM(sm);
  float* xs = sm;                     // kTileL + K - 1
  float* ws = sm + kTileL + s.K - 1;  // K
  const int64_t tiles = (s.L + kTileL - 1) / kTileL;
  const int64_t row = blockIdx.x / tiles;
  const int64_t l0 = (blockIdx.x % tiles) * kTileL;
  const int64_t c = row % s.C;
  const T* xr = x + row * s.L;
  for (int i = threadIdx.x; i < kTileL + s.K - 1; i += kThreads) {
    int64_t p = l0 - s.pad + i;
    xs[i] = (p >= 0 && p < s.L) ? St<T>::to(xr[p]) : 0.0f;
  }
  for (int k = threadIdx.x; k < s.K; k += kThreads) ws[k] = w[c * s.K + k];
  __syncthreads();
  const float b0 = s.bias ? bias[c] : 0.0f;
  for (int j = threadIdx.x; j < kTileL && l0 + j < s.L; j += kThreads) {
    float acc = b0;
    for (int k = 0; k < s.K; ++k) acc += ws[k] * xs[j + k];
    if (s.silu) acc = silu<T>(acc);
    y[row * s.L + l0 + j] = St<T>::from(acc);
  }
}

template <class T>
__global__ void tiled_fwd_blc(Shape s, T* y, const T* x, const float* w, const float* bias) {
  GPT_DYNAMIC_SMEM(sm);
  float* xs = sm;                                // (kRows + K - 1) x kCols
  float* ws = sm + (kRows + s.K - 1) * kCols;    // K x kCols
  const int64_t ltiles = (s.L + kRows - 1) / kRows, ctiles = (s.C + kCols - 1) / kCols;
  const int64_t ct = blockIdx.x % ctiles;
  const int64_t lt = (blockIdx.x / ctiles) % ltiles;
  const int64_t b = blockIdx.x / (ctiles * ltiles);
  const int64_t l0 = lt * kRows, c0 = ct * kCols;
  for (int i = threadIdx.x; i < (kRows + s.K - 1) * kCols; i += kThreads) {
    int r = i / kCols, cc = i % kCols;
    int64_t p = l0 - s.pad + r, c = c0 + cc;
    xs[i] = (p >= 0 && p < s.L && c < s.C) ? St<T>::to(x[(b * s.L + p) * s.C + c]) : 0.0f;
  }
  for (int i = threadIdx.x; i < s.K * kCols; i += kThreads) {
    int k = i / kCols, cc = i % kCols;
    ws[i] = c0 + cc < s.C ? w[(c0 + cc) * s.K + k] : 0.0f;
  }
  __syncthreads();
  const int cc = threadIdx.x % kCols;
  const int64_t c = c0 + cc;
  if (c >= s.C) return;
  const float b0 = s.bias ? bias[c] : 0.0f;
  for (int r = threadIdx.x / kCols; r < kRows && l0 + r < s.L; r += kThreads / kCols) {
    float acc = b0;
    for (int k = 0; k < s.K; ++k) acc += ws[k * kCols + cc] * xs[(r + k) * kCols + cc];
    if (s.silu) acc = silu<T>(acc);
    y[(b * s.L + l0 + r) * s.C + c] = St<T>::from(acc);
  }
}

// Adds a block's dw/dbias sums for channel c into its partial row or, without one, atomically.
__device__ __forceinline__ void emit(const Shape& s, float* part, int64_t prow, float* dw,
                                     float* dbias, int64_t c, int k, float v) {
  if (part) {
    part[(prow * s.C + c) * (s.K + 1) + k] = v;
  } else if (k < s.K) {
    atomicAdd(&dw[c * s.K + k], v);
  } else if (s.bias) {
    atomicAdd(&dbias[c], v);
  }
}

// One (b, c) row per block, tile by tile. Shared: x on [l0-(K-1), l0+T+K-1), g on
// [l0-GL, l0+T+pad) with GL = K-1-pad, so dx and the pre-activation read only shared memory.
template <class T>
__global__ void tiled_bwd_bcl(Shape s, T* dx, float* dw, float* dbias, const T* dy, const T* x,
                              const float* w, const float* bias, float* part) {
  GPT_DYNAMIC_SMEM(sm);
  const int K = s.K, GL = K - 1 - s.pad;
  float* xs = sm;                          // kTileL + 2K - 2
  float* gs = xs + kTileL + 2 * K - 2;     // kTileL + K - 1
  float* ws = gs + kTileL + K - 1;         // K
  const int64_t row = blockIdx.x, c = row % s.C;
  const T* xr = x + row * s.L;
  const T* dyr = dy + row * s.L;
  for (int k = threadIdx.x; k < K; k += kThreads) ws[k] = w[c * K + k];
  const float b0 = s.bias ? bias[c] : 0.0f;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  float acc[kSlots];
#pragma unroll
  for (int i = 0; i < kSlots; ++i) acc[i] = 0.0f;
  for (int64_t l0 = 0; l0 < s.L; l0 += kTileL) {
    __syncthreads();  // the previous tile is done with xs/gs (and ws is written on entry)
    for (int i = threadIdx.x; i < kTileL + 2 * K - 2; i += kThreads) {
      int64_t p = l0 - (K - 1) + i;
      xs[i] = (p >= 0 && p < s.L) ? St<T>::to(xr[p]) : 0.0f;
    }
    for (int i = threadIdx.x; i < kTileL + K - 1; i += kThreads) {
      int64_t p = l0 - GL + i;
      gs[i] = (p >= 0 && p < s.L) ? St<T>::to(dyr[p]) : 0.0f;
    }
    __syncthreads();
    if (s.silu) {
      for (int i = threadIdx.x; i < kTileL + K - 1; i += kThreads) {
        float a = b0;
        for (int k = 0; k < K; ++k) a += ws[k] * xs[i + k];
        gs[i] *= silu_grad<T>(a);
      }
      __syncthreads();
    }
    for (int j = threadIdx.x; j < kTileL && l0 + j < s.L; j += kThreads) {
      float a = 0.0f;
      for (int k = 0; k < K; ++k) a += ws[k] * gs[j + K - 1 - k];
      dx[row * s.L + l0 + j] = St<T>::from(a);
    }
    // g beyond L was loaded as 0, so whole tiles can be summed without a bound.
#pragma unroll
    for (int i = 0; i < kSlots; ++i) {
      const int k = warp + i * (kThreads / 32);
      if (k <= K) {
        float a = 0.0f;
        for (int j = lane; j < kTileL; j += 32) a += gs[j + GL] * (k < K ? xs[j + GL + k] : 1.0f);
        acc[i] += a;
      }
    }
  }
#pragma unroll
  for (int i = 0; i < kSlots; ++i) {
    const int k = warp + i * (kThreads / 32);
    if (k > K) continue;
    float v = acc[i];
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    if (lane == 0) emit(s, part, row / s.C, dw, dbias, c, k, v);
  }
}

// (b, 32 channels, 256 rows) per block in tiles of 32 rows; lane = channel, warp = tap slot.
template <class T>
__global__ void tiled_bwd_blc(Shape s, T* dx, float* dw, float* dbias, const T* dy, const T* x,
                              const float* w, const float* bias, float* part) {
  GPT_DYNAMIC_SMEM(sm);
  const int K = s.K, GL = K - 1 - s.pad;
  float* xs = sm;                               // (kRows + 2K - 2) x kCols
  float* gs = xs + (kRows + 2 * K - 2) * kCols; // (kRows + K - 1) x kCols
  float* ws = gs + (kRows + K - 1) * kCols;     // K x kCols
  const int64_t segs = (s.L + kRows * kSegTiles - 1) / (kRows * kSegTiles);
  const int64_t ctiles = (s.C + kCols - 1) / kCols;
  const int64_t ct = blockIdx.x % ctiles;
  const int64_t seg = (blockIdx.x / ctiles) % segs;
  const int64_t b = blockIdx.x / (ctiles * segs);
  const int64_t c0 = ct * kCols;
  const int cc = threadIdx.x % kCols, warp = threadIdx.x / 32;
  const int64_t c = c0 + cc;
  for (int i = threadIdx.x; i < K * kCols; i += kThreads) {
    int k = i / kCols, j = i % kCols;
    ws[i] = c0 + j < s.C ? w[(c0 + j) * K + k] : 0.0f;
  }
  const float b0 = (s.bias && c < s.C) ? bias[c] : 0.0f;
  float acc[kSlots];
#pragma unroll
  for (int i = 0; i < kSlots; ++i) acc[i] = 0.0f;
  for (int t = 0; t < kSegTiles; ++t) {
    const int64_t l0 = (seg * kSegTiles + t) * kRows;
    if (l0 >= s.L) break;
    __syncthreads();
    for (int i = threadIdx.x; i < (kRows + 2 * K - 2) * kCols; i += kThreads) {
      int r = i / kCols, j = i % kCols;
      int64_t p = l0 - (K - 1) + r;
      xs[i] = (p >= 0 && p < s.L && c0 + j < s.C) ? St<T>::to(x[(b * s.L + p) * s.C + c0 + j]) : 0.0f;
    }
    for (int i = threadIdx.x; i < (kRows + K - 1) * kCols; i += kThreads) {
      int r = i / kCols, j = i % kCols;
      int64_t p = l0 - GL + r;
      gs[i] = (p >= 0 && p < s.L && c0 + j < s.C) ? St<T>::to(dy[(b * s.L + p) * s.C + c0 + j]) : 0.0f;
    }
    __syncthreads();
    if (s.silu) {
      for (int r = threadIdx.x / kCols; r < kRows + K - 1; r += kThreads / kCols) {
        float a = b0;
        for (int k = 0; k < K; ++k) a += ws[k * kCols + cc] * xs[(r + k) * kCols + cc];
        gs[r * kCols + cc] *= silu_grad<T>(a);
      }
      __syncthreads();
    }
    if (c < s.C)
      for (int r = threadIdx.x / kCols; r < kRows && l0 + r < s.L; r += kThreads / kCols) {
        float a = 0.0f;
        for (int k = 0; k < K; ++k) a += ws[k * kCols + cc] * gs[(r + K - 1 - k) * kCols + cc];
        dx[(b * s.L + l0 + r) * s.C + c] = St<T>::from(a);
      }
#pragma unroll
    for (int i = 0; i < kSlots; ++i) {
      const int k = warp + i * (kThreads / 32);
      if (k <= K) {
        float a = 0.0f;
        for (int r = 0; r < kRows; ++r)
          a += gs[(r + GL) * kCols + cc] * (k < K ? xs[(r + GL + k) * kCols + cc] : 1.0f);
        acc[i] += a;
      }
    }
  }
  if (c >= s.C) return;
#pragma unroll
  for (int i = 0; i < kSlots; ++i) {
    const int k = warp + i * (kThreads / 32);
    if (k <= K) emit(s, part, b * segs + seg, dw, dbias, c, k, acc[i]);
  }
}

template <class T>
void fwd_t(const Desc& d, void* y, const void* x, const float* w, const float* b, cudaStream_t st) {
  Shape s = shape_of(d);
  auto* yp = static_cast<T*>(y);
  auto* xp = static_cast<const T*>(x);
  if (d.layout == Layout::BCL) {
    int64_t blocks = d.B * d.C * ((d.L + kTileL - 1) / kTileL);
    size_t smem = size_t(kTileL + 2 * d.K) * 4;
    auto kern = &tiled_fwd_bcl<T>;
    GPT_LAUNCH(kern, unsigned(blocks), kThreads, smem, st, s, yp, xp, w, b);
  } else {
    int64_t blocks = d.B * ((d.L + kRows - 1) / kRows) * ((d.C + kCols - 1) / kCols);
    size_t smem = size_t((kRows + 2 * d.K) * kCols) * 4;
    auto kern = &tiled_fwd_blc<T>;
    GPT_LAUNCH(kern, unsigned(blocks), kThreads, smem, st, s, yp, xp, w, b);
  }
  check_launch("tiled_fwd");
}

template <class T>
void bwd_t(const Desc& d, void* dx, float* dw, float* db, const void* dy, const void* x,
           const float* w, const float* b, float* part, cudaStream_t st) {
  Shape s = shape_of(d);
  auto* dxp = static_cast<T*>(dx);
  auto* dyp = static_cast<const T*>(dy);
  auto* xp = static_cast<const T*>(x);
  if (d.layout == Layout::BCL) {
    size_t smem = size_t(2 * kTileL + 4 * d.K) * 4;
    auto kern = &tiled_bwd_bcl<T>;
    GPT_LAUNCH(kern, unsigned(d.B * d.C), kThreads, smem, st, s, dxp, dw, db, dyp, xp, w, b, part);
  } else {
    int64_t segs = (d.L + kRows * kSegTiles - 1) / (kRows * kSegTiles);
    int64_t blocks = d.B * segs * ((d.C + kCols - 1) / kCols);
    size_t smem = size_t((2 * kRows + 4 * d.K) * kCols) * 4;
    auto kern = &tiled_bwd_blc<T>;
    GPT_LAUNCH(kern, unsigned(blocks), kThreads, smem, st, s, dxp, dw, db, dyp, xp, w, b, part);
  }
  check_launch("tiled_bwd");
}

}  // namespace

void tiled_forward(const Desc& d, void* y, const void* x, const float* w, const float* b,
                   cudaStream_t st) {
  switch (d.dtype) {
    case DType::F32: return fwd_t<float>(d, y, x, w, b, st);
    case DType::BF16: return fwd_t<__nv_bfloat16>(d, y, x, w, b, st);
    case DType::F16: return fwd_t<__half>(d, y, x, w, b, st);
  }
}

int64_t tiled_partials(const Desc& d) {
  return d.layout == Layout::BCL ? d.B : d.B * ((d.L + kRows * kSegTiles - 1) / (kRows * kSegTiles));
}

void tiled_backward(const Desc& d, void* dx, float* dw, float* db, const void* dy, const void* x,
                    const float* w, const float* b, float* part, cudaStream_t st) {
  switch (d.dtype) {
    case DType::F32: return bwd_t<float>(d, dx, dw, db, dy, x, w, b, part, st);
    case DType::BF16: return bwd_t<__nv_bfloat16>(d, dx, dw, db, dy, x, w, b, part, st);
    case DType::F16: return bwd_t<__half>(d, dx, dw, db, dy, x, w, b, part, st);
  }
}

}  // namespace gpt::conv1d::cuda
