// Vectorised forward kernels, compiled per tap bucket so the window lives in registers:
//   BCL: one 128-thread block per (b, c) row walks it in chunks of 128 x 16 bytes. Each thread
//        loads its own 16-byte vector (4 fp32 / 8 bf16) into registers and takes only the K-1
//        halo values from its neighbours through shared memory; the last values of a chunk are
//        carried to the next one, so x is read from DRAM exactly once.
//   BLC: lanes run along channels (16-byte vectors, a warp covers 512 contiguous bytes of a
//        row) and each thread slides a K-row register window down 64 rows of L: no shared
//        memory, each row loaded once per thread plus a K-1 row halo per 64.
// Taps are zero-padded to the bucket (2, 3, 4, 8 causal; 3, 5, 7, 9 same) so the window offset
// is a compile-time constant. Other K go to the tiled kernels.
#include <algorithm>

#include "conv1d_cuda.h"

namespace gpt::conv1d::cuda {
namespace {

constexpr int kThreads = 128;
constexpr int kSegRows = 64;  // BLC rows per thread

// Bucket geometry: KB taps, PB of them before the current sample, real taps start at `off`.
template <int KB, bool SAME>
struct Bucket {
  static constexpr int PB = SAME ? (KB - 1) / 2 : KB - 1;
  static constexpr int HL = PB;           // halo on the left
  static constexpr int HR = KB - 1 - PB;  // and on the right
  __device__ static int off(int K) { return SAME ? (KB - K) / 2 : KB - K; }
};

template <class T, int KB, bool SAME>
__global__ void __launch_bounds__(kThreads) vec_fwd_bcl(Shape s, T* y, const T* x, const float* w,
                                                        const float* bias, bool aligned) {
  using Bk = Bucket<KB, SAME>;
  constexpr int V = St<T>::V, N = kThreads * V, HL = Bk::HL, HR = Bk::HR, PB = Bk::PB;
  __shared__ float sm[HL + N + HR + 1];
  const int64_t row = blockIdx.x, c = row % s.C;
  const T* xr = x + row * s.L;
  T* yr = y + row * s.L;
  const int tid = threadIdx.x, off = Bk::off(s.K);
  float wr[KB];
#pragma unroll
  for (int j = 0; j < KB; ++j) wr[j] = (j >= off && j - off < s.K) ? w[c * s.K + j - off] : 0.0f;
  const float b0 = s.bias ? bias[c] : 0.0f;
  if (tid < HL) sm[tid] = 0.0f;  // causal zeros before position 0
  for (int64_t base = 0; base < s.L; base += N) {
    const int64_t p0 = base + int64_t(tid) * V;
    float own[V];
    if (aligned && p0 + V <= s.L) {
      load_vec<T, V>(xr + p0, own);
    } else {
#pragma unroll
      for (int i = 0; i < V; ++i) own[i] = p0 + i < s.L ? St<T>::to(xr[p0 + i]) : 0.0f;
    }
    if (tid < HR) {
      int64_t p = base + N + tid;
      sm[HL + N + tid] = p < s.L ? St<T>::to(xr[p]) : 0.0f;
    }
#pragma unroll
    for (int i = 0; i < V; ++i) sm[HL + tid * V + i] = own[i];
    __syncthreads();
    float win[V + KB - 1];  // x[p0 - PB + m]
#pragma unroll
    for (int m = 0; m < V + KB - 1; ++m) {
      const int rel = m - PB;  // relative to p0; compile-time after unrolling
      win[m] = (rel >= 0 && rel < V) ? own[rel < 0 ? 0 : (rel >= V ? V - 1 : rel)]
                                     : sm[HL + tid * V + rel];
    }
    float out[V];
#pragma unroll
    for (int i = 0; i < V; ++i) {
      float a = b0;
#pragma unroll
      for (int j = 0; j < KB; ++j) a += wr[j] * win[i + j];
      out[i] = s.silu ? silu<T>(a) : a;
    }
    if (aligned && p0 + V <= s.L) {
      store_vec<T, V>(yr + p0, out);
    } else {
#pragma unroll
      for (int i = 0; i < V; ++i)
        if (p0 + i < s.L) yr[p0 + i] = St<T>::from(out[i]);
    }
    __syncthreads();
    if (tid < HL) sm[tid] = sm[N + tid];  // carry the chunk's last HL values
    __syncthreads();
  }
}

// Threads (32 along channels) x (4 along L); each owns V channels and kSegRows rows.
template <class T, int KB, bool SAME>
__global__ void __launch_bounds__(kThreads) vec_fwd_blc(Shape s, T* y, const T* x, const float* w,
                                                        const float* bias, bool aligned) {
  using Bk = Bucket<KB, SAME>;
  constexpr int V = St<T>::V, PB = Bk::PB;
  const int64_t cblocks = (s.C + 32 * V - 1) / (32 * V);
  const int64_t lblocks = (s.L + 4 * kSegRows - 1) / (4 * kSegRows);
  const int64_t cb = blockIdx.x % cblocks;
  const int64_t lb = (blockIdx.x / cblocks) % lblocks;
  const int64_t b = blockIdx.x / (cblocks * lblocks);
  const int64_t c0 = (cb * 32 + threadIdx.x % 32) * V;
  const int64_t l0 = (lb * 4 + threadIdx.x / 32) * kSegRows;
  if (c0 >= s.C || l0 >= s.L) return;
  const int off = Bk::off(s.K);
  float wr[KB][V], b0[V];
#pragma unroll
  for (int v = 0; v < V; ++v) {
    const bool in = c0 + v < s.C;
    b0[v] = (s.bias && in) ? bias[c0 + v] : 0.0f;
#pragma unroll
    for (int j = 0; j < KB; ++j)
      wr[j][v] = (in && j >= off && j - off < s.K) ? w[(c0 + v) * s.K + j - off] : 0.0f;
  }
  const bool vec = aligned && c0 + V <= s.C;
  auto load_row = [&](int64_t r, float* dst) {
    if (r < 0 || r >= s.L) {
#pragma unroll
      for (int v = 0; v < V; ++v) dst[v] = 0.0f;
    } else if (vec) {
      load_vec<T, V>(x + (b * s.L + r) * s.C + c0, dst);
    } else {
#pragma unroll
      for (int v = 0; v < V; ++v) dst[v] = c0 + v < s.C ? St<T>::to(x[(b * s.L + r) * s.C + c0 + v]) : 0.0f;
    }
  };
  float win[KB][V];  // rows t - PB .. t - PB + KB - 1
#pragma unroll
  for (int j = 0; j < KB - 1; ++j) load_row(l0 - PB + j, win[j]);
  const int64_t l1 = l0 + kSegRows < s.L ? l0 + kSegRows : s.L;
#pragma unroll 2
  for (int64_t t = l0; t < l1; ++t) {
    load_row(t - PB + KB - 1, win[KB - 1]);
    float out[V];
#pragma unroll
    for (int v = 0; v < V; ++v) {
      float a = b0[v];
#pragma unroll
      for (int j = 0; j < KB; ++j) a += wr[j][v] * win[j][v];
      out[v] = s.silu ? silu<T>(a) : a;
    }
    T* yr = y + (b * s.L + t) * s.C + c0;
    if (vec) {
      store_vec<T, V>(yr, out);
    } else {
#pragma unroll
      for (int v = 0; v < V; ++v)
        if (c0 + v < s.C) yr[v] = St<T>::from(out[v]);
    }
#pragma unroll
    for (int j = 0; j < KB - 1; ++j)
#pragma unroll
      for (int v = 0; v < V; ++v) win[j][v] = win[j + 1][v];
  }
}

template <class T, int KB, bool SAME>
void launch(const Desc& d, void* y, const void* x, const float* w, const float* b, cudaStream_t st) {
  Shape s = shape_of(d);
  constexpr int V = St<T>::V;
  auto* yp = static_cast<T*>(y);
  auto* xp = static_cast<const T*>(x);
  const bool ptr_ok = reinterpret_cast<uintptr_t>(x) % 16 == 0 && reinterpret_cast<uintptr_t>(y) % 16 == 0;
  if (d.layout == Layout::BCL) {
    auto kern = &vec_fwd_bcl<T, KB, SAME>;
    GPT_LAUNCH(kern, unsigned(d.B * d.C), kThreads, 0, st, s, yp, xp, w, b, ptr_ok && d.L % V == 0);
  } else {
    int64_t blocks = d.B * ((d.L + 4 * kSegRows - 1) / (4 * kSegRows)) * ((d.C + 32 * V - 1) / (32 * V));
    auto kern = &vec_fwd_blc<T, KB, SAME>;
    GPT_LAUNCH(kern, unsigned(blocks), kThreads, 0, st, s, yp, xp, w, b, ptr_ok && d.C % V == 0);
  }
  check_launch("vec_fwd");
}

template <class T>
void fwd_t(const Desc& d, void* y, const void* x, const float* w, const float* b, cudaStream_t st) {
  const bool same = d.padding == Padding::Same;
  switch (vec_bucket(d) * (same ? -1 : 1)) {
    case 2: return launch<T, 2, false>(d, y, x, w, b, st);
    case 3: return launch<T, 3, false>(d, y, x, w, b, st);
    case 4: return launch<T, 4, false>(d, y, x, w, b, st);
    case 8: return launch<T, 8, false>(d, y, x, w, b, st);
    case -3: return launch<T, 3, true>(d, y, x, w, b, st);
    case -5: return launch<T, 5, true>(d, y, x, w, b, st);
    case -7: return launch<T, 7, true>(d, y, x, w, b, st);
    case -9: return launch<T, 9, true>(d, y, x, w, b, st);
    default: raise_error("conv1d cuda-vec: no kernel for this width");
  }
}

}  // namespace

int vec_bucket(const Desc& d) {
  if (d.padding == Padding::Causal) {
    if (d.K <= 2) return 2;
    if (d.K <= 4) return d.K;
    return d.K <= 8 ? 8 : 0;
  }
  if (d.K <= 3) return 3;
  return d.K <= 9 ? d.K : 0;  // same padding has odd K
}

void vec_forward(const Desc& d, void* y, const void* x, const float* w, const float* b,
                 cudaStream_t st) {
  switch (d.dtype) {
    case DType::F32: return fwd_t<float>(d, y, x, w, b, st);
    case DType::BF16: return fwd_t<__nv_bfloat16>(d, y, x, w, b, st);
    case DType::F16: return fwd_t<__half>(d, y, x, w, b, st);
  }
}

}  // namespace gpt::conv1d::cuda
