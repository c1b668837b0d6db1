// BCL (channel-first) cuda-vec backward, version 2, for fp16/bf16 storage: the default there
// since the first H100 run had the version-1 kernel (conv1d_vec_bwd.cu, still reachable with
// GPT_CONV1D_BCL_BWD_V1=1) at 63-70% of copy speed while the forward ran at 97%. Version 1
// stages all of x and g of each 1024-element chunk in shared memory with 8-way bank conflicts
// (thread t writes 8 consecutive floats) and three __syncthreads per chunk; with 16-bit
// storage there are twice as many elements per byte moved, which made shared memory the limit.
//
// Here one warp owns one (b, c) row and walks it in chunks of 32 lanes x 8 elements (16-byte
// loads of x and dy; the loads of the chunk after next are issued before the current chunk is
// computed, so two chunks per lane are in flight).
// Halos never touch shared memory: a lane takes the K-1 neighbouring x and g values from the
// lanes beside it with shuffles, lane 0 from values carried over from the previous chunk, lane
// 31 from lane 0 of the next chunk. Because dx at the end of a chunk needs g from the start of
// the next one, dx runs one chunk behind g. dw/dbias stay in registers and are reduced with
// shuffles once per row: one partial row per batch (deterministic) or fp32 atomics, as before.
// No barriers and no shared memory at all. 16-byte accesses need L % 8 == 0 and 16-byte aligned
// x, dy, dx; otherwise the same kernel goes element by element.
#include "conv1d_cuda.h"

namespace gpt::conv1d::cuda {
namespace {

constexpr int kThreads = 128;
constexpr int kRowsPerBlock = kThreads / 32;
constexpr unsigned kFull = 0xffffffffu;
constexpr int kV = 8;  // elements per lane per chunk: 16 bytes of fp16/bf16

template <int KB, bool SAME>
struct Bucket {
  static constexpr int PB = SAME ? (KB - 1) / 2 : KB - 1;  // taps before the current sample
  static constexpr int HR = KB - 1 - PB;                   // and after it
  __device__ static int off(int K) { return SAME ? (KB - K) / 2 : KB - K; }
};

template <class T>
union Pack8 {
  uint4 r;
  T e[kV];
  __device__ Pack8() {}
};

// 8 elements from p; n = elements of the row left at p (<= 0: none). Zero past the row.
template <class T>
__device__ __forceinline__ uint4 load8(const T* p, bool vec, int64_t n) {
  Pack8<T> u;
  u.r = make_uint4(0u, 0u, 0u, 0u);
  if (vec && n >= kV) {
#ifdef GPT_CONV1D_EMULATE
    ::gpt_emu::check_align(p, 16);
#endif
    u.r = *reinterpret_cast<const uint4*>(p);
  } else {
#pragma unroll
    for (int i = 0; i < kV; ++i)
      if (i < n) u.e[i] = p[i];
  }
  return u.r;
}

template <class T>
__device__ __forceinline__ void unpack8(uint4 r, float* out) {
  Pack8<T> u;
  u.r = r;
#pragma unroll
  for (int i = 0; i < kV; ++i) out[i] = St<T>::to(u.e[i]);
}

template <class T>
__device__ __forceinline__ void store8(T* p, bool vec, int64_t n, const float* in) {
  Pack8<T> u;
#pragma unroll
  for (int i = 0; i < kV; ++i) u.e[i] = St<T>::from(in[i]);
  if (vec && n >= kV) {
#ifdef GPT_CONV1D_EMULATE
    ::gpt_emu::check_align(p, 16);
#endif
    *reinterpret_cast<uint4*>(p) = u.r;
  } else {
#pragma unroll
    for (int i = 0; i < kV; ++i)
      if (i < n) p[i] = u.e[i];
  }
}

// With g = dy * silu'(pre), pre recomputed from x:
//   dx[q] = sum_j w[j] g[q + PB - j],  dw[j] = sum_p g[p] x[p - PB + j],  dbias = sum_p g[p].
template <class T, int KB, bool SAME>
__global__ void __launch_bounds__(kThreads)
    bcl2_bwd(Shape s, T* __restrict__ dx, float* dw, float* dbias, const T* __restrict__ dy,
             const T* __restrict__ x, const float* __restrict__ w, const float* __restrict__ bias,
             float* part, bool vec) {
  using Bk = Bucket<KB, SAME>;
  constexpr int V = kV, W = 32 * V, PB = Bk::PB, HR = Bk::HR, GL = HR, GR = PB;
  static_assert(PB <= V && HR <= V, "halos come from the neighbouring lane only");
  const int lane = threadIdx.x % 32;
  const int64_t row = int64_t(blockIdx.x) * kRowsPerBlock + threadIdx.x / 32;
  if (row >= s.B * s.C) return;  // the whole warp: no shuffle below misses a lane
  const int64_t c = row % s.C;
  const T* xr = x + row * s.L;
  const T* dyr = dy + row * s.L;
  T* dxr = dx + row * s.L;
  const int off = Bk::off(s.K);
  float wr[KB];
#pragma unroll
  for (int j = 0; j < KB; ++j) wr[j] = (j >= off && j - off < s.K) ? w[c * s.K + j - off] : 0.0f;
  const float b0 = s.bias ? bias[c] : 0.0f;
  float dwacc[KB + 1];
#pragma unroll
  for (int j = 0; j <= KB; ++j) dwacc[j] = 0.0f;
  // xc: x at the PB positions before the current chunk (lane 0's left x halo);
  // gc: g at the GL positions before the previous chunk (lane 0's left g halo for its dx);
  // gprev: this lane's g of the previous chunk, whose dx is written this iteration.
  float xc[PB > 0 ? PB : 1], gc[GL > 0 ? GL : 1], gprev[V];
#pragma unroll
  for (int m = 0; m < PB; ++m) xc[m] = 0.0f;
#pragma unroll
  for (int m = 0; m < GL; ++m) gc[m] = 0.0f;
#pragma unroll
  for (int i = 0; i < V; ++i) gprev[i] = 0.0f;
  const int64_t nch = (s.L + W - 1) / W;
  const int64_t lp = int64_t(lane) * V;
  // Chunks ch (rx, rd) and ch + 1 (rx1, rd1) are in registers or on their way; chunk ch + 2 is
  // requested at the top of iteration ch, so two chunks of loads are in flight per lane.
  auto load_chunk = [&](int64_t ch, const T* base) {
    const int64_t p = ch * W + lp;
    return load8(base + (p < s.L ? p : 0), vec, s.L - p);
  };
  uint4 rx = load_chunk(0, xr), rd = load_chunk(0, dyr);
  uint4 rx1 = load_chunk(1, xr), rd1 = load_chunk(1, dyr);
#pragma unroll 1
  for (int64_t ch = 0; ch <= nch; ++ch) {  // ch == nch: only the last chunk's dx
    float g[V];
    if (ch < nch) {
      const uint4 nx = rx1, nd = rd1;
      rx1 = load_chunk(ch + 2, xr);
      rd1 = load_chunk(ch + 2, dyr);
      float xo[V];
      unpack8<T>(rx, xo);
      unpack8<T>(rd, g);
      float xw[PB + V + HR];  // x at (own first position) - PB + m
#pragma unroll
      for (int m = 0; m < PB; ++m) {
        const float up = __shfl_up_sync(kFull, xo[V - PB + m], 1);
        xw[m] = lane == 0 ? xc[m] : up;
      }
#pragma unroll
      for (int i = 0; i < V; ++i) xw[PB + i] = xo[i];
      if constexpr (HR > 0) {
        float xn[V];
        unpack8<T>(nx, xn);
#pragma unroll
        for (int m = 0; m < HR; ++m) {
          const float dn = __shfl_down_sync(kFull, xo[m], 1);
          const float nxt = __shfl_sync(kFull, xn[m], 0);
          xw[PB + V + m] = lane == 31 ? nxt : dn;
        }
      }
#pragma unroll
      for (int i = 0; i < V; ++i) {
        if (s.silu) {
          float a = b0;
#pragma unroll
          for (int j = 0; j < KB; ++j) a += wr[j] * xw[i + j];
          g[i] *= silu_grad<T>(a);
        }
#pragma unroll
        for (int j = 0; j < KB; ++j) dwacc[j] += g[i] * xw[i + j];
        dwacc[KB] += g[i];
      }
#pragma unroll
      for (int m = 0; m < PB; ++m) xc[m] = __shfl_sync(kFull, xo[V - PB + m], 31);
      rx = nx;
      rd = nd;
    } else {
#pragma unroll
      for (int i = 0; i < V; ++i) g[i] = 0.0f;  // past the row: g = 0
    }
    if (ch > 0) {
      float gw[GL + V + GR];  // g at (own first position of the previous chunk) - GL + m
#pragma unroll
      for (int m = 0; m < GL; ++m) {
        const float up = __shfl_up_sync(kFull, gprev[V - GL + m], 1);
        gw[m] = lane == 0 ? gc[m] : up;
      }
#pragma unroll
      for (int i = 0; i < V; ++i) gw[GL + i] = gprev[i];
#pragma unroll
      for (int m = 0; m < GR; ++m) {
        const float dn = __shfl_down_sync(kFull, gprev[m], 1);
        const float nxt = __shfl_sync(kFull, g[m], 0);
        gw[GL + V + m] = lane == 31 ? nxt : dn;
      }
      float out[V];
#pragma unroll
      for (int i = 0; i < V; ++i) {
        float a = 0.0f;
#pragma unroll
        for (int j = 0; j < KB; ++j) a += wr[j] * gw[i + KB - 1 - j];
        out[i] = a;
      }
      const int64_t q0 = (ch - 1) * W + lp;
      if (q0 < s.L) store8(dxr + q0, vec, s.L - q0, out);
#pragma unroll
      for (int m = 0; m < GL; ++m) gc[m] = __shfl_sync(kFull, gprev[V - GL + m], 31);
    }
#pragma unroll
    for (int i = 0; i < V; ++i) gprev[i] = g[i];
  }
#pragma unroll
  for (int j = 0; j <= KB; ++j) {
    float v = dwacc[j];
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(kFull, v, o);
    if (lane != j) continue;
    int k = j == KB ? s.K : j - off;
    if (j < KB && (k < 0 || k >= s.K)) continue;  // a zero-padded tap
    if (part) {
      part[row * (s.K + 1) + k] = v;  // partial row b = row / C, entry (c, k)
    } else if (k < s.K) {
      atomicAdd(&dw[c * s.K + k], v);
    } else if (s.bias) {
      atomicAdd(&dbias[c], v);
    }
  }
}

template <class T, int KB, bool SAME>
void launch(const Desc& d, void* dx, float* dw, float* db, const void* dy, const void* x,
            const float* w, const float* b, float* part, cudaStream_t st) {
  const Shape s = shape_of(d);
  const bool vec = d.L % kV == 0 && reinterpret_cast<uintptr_t>(x) % 16 == 0 &&
                   reinterpret_cast<uintptr_t>(dy) % 16 == 0 &&
                   reinterpret_cast<uintptr_t>(dx) % 16 == 0;
  const int64_t blocks = (d.B * d.C + kRowsPerBlock - 1) / kRowsPerBlock;
  auto kern = &bcl2_bwd<T, KB, SAME>;
  GPT_LAUNCH(kern, unsigned(blocks), kThreads, 0, st, s, static_cast<T*>(dx), dw, db,
             static_cast<const T*>(dy), static_cast<const T*>(x), w, b, part, vec);
  check_launch("bcl2_bwd");
}

template <class T>
void bwd_t(const Desc& d, void* dx, float* dw, float* db, const void* dy, const void* x,
           const float* w, const float* b, float* part, cudaStream_t st) {
  const bool same = d.padding == Padding::Same;
  switch (vec_bucket(d) * (same ? -1 : 1)) {
    case 2: return launch<T, 2, false>(d, dx, dw, db, dy, x, w, b, part, st);
    case 3: return launch<T, 3, false>(d, dx, dw, db, dy, x, w, b, part, st);
    case 4: return launch<T, 4, false>(d, dx, dw, db, dy, x, w, b, part, st);
    case 8: return launch<T, 8, false>(d, dx, dw, db, dy, x, w, b, part, st);
    case -3: return launch<T, 3, true>(d, dx, dw, db, dy, x, w, b, part, st);
    case -5: return launch<T, 5, true>(d, dx, dw, db, dy, x, w, b, part, st);
    case -7: return launch<T, 7, true>(d, dx, dw, db, dy, x, w, b, part, st);
    case -9: return launch<T, 9, true>(d, dx, dw, db, dy, x, w, b, part, st);
    default: raise_error("conv1d cuda-vec BCL v2: no backward kernel for this width");
  }
}

}  // namespace

int64_t bcl2_partials(const Desc& d) { return d.B; }

void bcl2_backward(const Desc& d, void* dx, float* dw, float* db, const void* dy, const void* x,
                   const float* w, const float* b, float* part, cudaStream_t st) {
  switch (d.dtype) {
    case DType::BF16: return bwd_t<__nv_bfloat16>(d, dx, dw, db, dy, x, w, b, part, st);
    case DType::F16: return bwd_t<__half>(d, dx, dw, db, dy, x, w, b, part, st);
    default: raise_error("conv1d cuda-vec BCL v2 backward is for fp16/bf16 storage");
  }
}

}  // namespace gpt::conv1d::cuda
