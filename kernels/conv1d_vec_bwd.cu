// Vectorised backward kernels (same tap buckets and thread layouts as conv1d_vec.cu). With
// g = dy * silu'(pre), pre recomputed from x:
//   dx[t] = sum_j w[j] g[t - j + PB],  dw[j] = sum g[p] x[p + j - PB],  dbias = sum g[p]
//   BCL: per chunk each thread turns its own x/dy vectors into g in registers, takes the x and
//        g halos from shared memory (carried across chunks like the forward), and keeps its dw
//        sums in registers; one block reduction per row at the end.
//   BLC: each thread owns 4 channels and 64 rows and streams two register windows down L: x
//        rows for the pre-activation, g rows for dx. dw sums stay in registers, then the four
//        row-segments of the block are added in shared memory.
// Per-block sums go to a partial row (deterministic) or straight to dw with fp32 atomics.
#include "conv1d_cuda.h"

namespace gpt::conv1d::cuda {
namespace {

constexpr int kThreads = 128;
constexpr int kSegRows = 64;
constexpr int kVB = 4;  // BLC backward channels per thread (keeps 4 windows of KB x 4 in registers)

template <int KB, bool SAME>
struct Bucket {
  static constexpr int PB = SAME ? (KB - 1) / 2 : KB - 1;
  static constexpr int GL = KB - 1 - PB;  // g needed before t for dx[t]
  static constexpr int GR = PB;           // and after
  __device__ static int off(int K) { return SAME ? (KB - K) / 2 : KB - K; }
};

// Bucket tap j (or j == KB: bias) of channel c into the partial row or the atomics.
__device__ __forceinline__ void emit(const Shape& s, float* part, int64_t prow, float* dw,
                                     float* dbias, int64_t c, int j, int off, int KB, float v) {
  int k;
  if (j == KB) {
    k = s.K;
  } else {
    k = j - off;
    if (k < 0 || k >= s.K) return;  // a zero-padded tap
  }
  if (part) {
    part[(prow * s.C + c) * (s.K + 1) + k] = v;
  } else if (k < s.K) {
    atomicAdd(&dw[c * s.K + k], v);
  } else if (s.bias) {
    atomicAdd(&dbias[c], v);
  }
}

template <class T, int KB, bool SAME>
__global__ void __launch_bounds__(kThreads)
    vec_bwd_bcl(Shape s, T* dx, float* dw, float* dbias, const T* dy, const T* x, const float* w,
                const float* bias, float* part, bool aligned) {
  using Bk = Bucket<KB, SAME>;
  constexpr int V = St<T>::V, N = kThreads * V, PB = Bk::PB, GL = Bk::GL, GR = Bk::GR;
  constexpr int XH = KB - 1;  // x halo on each side: the g halo's pre-activations need it
  __shared__ float xs[XH + N + XH + 1];
  __shared__ float gs[GL + N + GR + 1];
  __shared__ float red[kThreads / 32][KB + 1];
  const int64_t row = blockIdx.x, c = row % s.C;
  const T* xr = x + row * s.L;
  const T* dyr = dy + row * s.L;
  T* dxr = dx + row * s.L;
  const int tid = threadIdx.x, off = Bk::off(s.K);
  float wr[KB];
#pragma unroll
  for (int j = 0; j < KB; ++j) wr[j] = (j >= off && j - off < s.K) ? w[c * s.K + j - off] : 0.0f;
  const float b0 = s.bias ? bias[c] : 0.0f;
  float dwacc[KB + 1];
#pragma unroll
  for (int j = 0; j <= KB; ++j) dwacc[j] = 0.0f;
  if (tid < XH) xs[tid] = 0.0f;
  if (tid < GL) gs[tid] = 0.0f;
  for (int64_t base = 0; base < s.L; base += N) {
    const int64_t p0 = base + int64_t(tid) * V;
    float xo[V], go[V];
    if (aligned && p0 + V <= s.L) {
      load_vec<T, V>(xr + p0, xo);
      load_vec<T, V>(dyr + p0, go);
    } else {
#pragma unroll
      for (int i = 0; i < V; ++i) {
        xo[i] = p0 + i < s.L ? St<T>::to(xr[p0 + i]) : 0.0f;
        go[i] = p0 + i < s.L ? St<T>::to(dyr[p0 + i]) : 0.0f;
      }
    }
    if (tid < XH) {
      int64_t p = base + N + tid;
      xs[XH + N + tid] = p < s.L ? St<T>::to(xr[p]) : 0.0f;
    }
#pragma unroll
    for (int i = 0; i < V; ++i) xs[XH + tid * V + i] = xo[i];
    __syncthreads();
    float xw[V + KB - 1];  // x[p0 - PB + m]
#pragma unroll
    for (int m = 0; m < V + KB - 1; ++m) {
      const int rel = m - PB;
      xw[m] = (rel >= 0 && rel < V) ? xo[rel < 0 ? 0 : (rel >= V ? V - 1 : rel)] : xs[XH + tid * V + rel];
    }
#pragma unroll
    for (int i = 0; i < V; ++i) {
      float g = go[i];
      if (s.silu) {
        float a = b0;
#pragma unroll
        for (int j = 0; j < KB; ++j) a += wr[j] * xw[i + j];
        g *= silu_grad<T>(a);
      }
      go[i] = g;
#pragma unroll
      for (int j = 0; j < KB; ++j) dwacc[j] += g * xw[i + j];
      dwacc[KB] += g;
      gs[GL + tid * V + i] = g;
    }
    if (tid < GR) {  // g just past the chunk, for the last threads' dx
      const int64_t p = base + N + tid;
      float g = p < s.L ? St<T>::to(dyr[p]) : 0.0f;
      if (s.silu) {
        float a = b0;
#pragma unroll
        for (int j = 0; j < KB; ++j) a += wr[j] * xs[XH + N + tid - PB + j];
        g *= silu_grad<T>(a);
      }
      gs[GL + N + tid] = g;
    }
    __syncthreads();
    float out[V];
#pragma unroll
    for (int i = 0; i < V; ++i) {
      float a = 0.0f;
#pragma unroll
      for (int j = 0; j < KB; ++j) {
        const int rel = i - j + PB;  // g[p0 + rel]
        a += wr[j] * ((rel >= 0 && rel < V) ? go[rel < 0 ? 0 : (rel >= V ? V - 1 : rel)]
                                             : gs[GL + tid * V + rel]);
      }
      out[i] = a;
    }
    if (aligned && p0 + V <= s.L) {
      store_vec<T, V>(dxr + p0, out);
    } else {
#pragma unroll
      for (int i = 0; i < V; ++i)
        if (p0 + i < s.L) dxr[p0 + i] = St<T>::from(out[i]);
    }
    __syncthreads();
    if (tid < XH) xs[tid] = xs[N + tid];
    if (tid < GL) gs[tid] = gs[N + tid];
    __syncthreads();
  }
  const int warp = tid / 32, lane = tid % 32;
#pragma unroll
  for (int j = 0; j <= KB; ++j) {
    float v = dwacc[j];
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    if (lane == 0) red[warp][j] = v;
  }
  __syncthreads();
  if (tid <= KB) {
    float v = 0.0f;
#pragma unroll
    for (int q = 0; q < kThreads / 32; ++q) v += red[q][tid];
    emit(s, part, row / s.C, dw, dbias, c, tid, off, KB, v);
  }
}

template <class T, int KB, bool SAME>
__global__ void __launch_bounds__(kThreads)
    vec_bwd_blc(Shape s, T* dx, float* dw, float* dbias, const T* dy, const T* x, const float* w,
                const float* bias, float* part, bool aligned) {
  using Bk = Bucket<KB, SAME>;
  constexpr int V = kVB, PB = Bk::PB, GR = Bk::GR, GL = Bk::GL;
  __shared__ float red[4][32][(KB + 1) * V];
  const int64_t cblocks = (s.C + 32 * V - 1) / (32 * V);
  const int64_t lblocks = (s.L + 4 * kSegRows - 1) / (4 * kSegRows);
  const int64_t cb = blockIdx.x % cblocks;
  const int64_t lb = (blockIdx.x / cblocks) % lblocks;
  const int64_t b = blockIdx.x / (cblocks * lblocks);
  const int tx = threadIdx.x % 32, ty = threadIdx.x / 32;
  const int64_t c0 = (cb * 32 + tx) * V;
  const int64_t l0 = (lb * 4 + ty) * kSegRows;
  const int off = Bk::off(s.K);
  float dwacc[KB + 1][V];
#pragma unroll
  for (int j = 0; j <= KB; ++j)
#pragma unroll
    for (int v = 0; v < V; ++v) dwacc[j][v] = 0.0f;
  if (c0 < s.C && l0 < s.L) {
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
    auto load_row = [&](const T* src, int64_t r, float* dst) {
      if (r < 0 || r >= s.L) {
#pragma unroll
        for (int v = 0; v < V; ++v) dst[v] = 0.0f;
      } else if (vec) {
        load_vec<T, V>(src + (b * s.L + r) * s.C + c0, dst);
      } else {
#pragma unroll
        for (int v = 0; v < V; ++v)
          dst[v] = c0 + v < s.C ? St<T>::to(src[(b * s.L + r) * s.C + c0 + v]) : 0.0f;
      }
    };
    const int64_t l1 = l0 + kSegRows < s.L ? l0 + kSegRows : s.L;
    const int64_t pfirst = l0 - GL;
    float xw[KB][V], gw[KB][V];  // x rows p-PB.. for pre(p); g rows t-GL..t+GR for dx(t)
#pragma unroll
    for (int j = 0; j < KB; ++j)
#pragma unroll
      for (int v = 0; v < V; ++v) gw[j][v] = 0.0f;
#pragma unroll
    for (int j = 1; j < KB; ++j) load_row(x, pfirst - PB + j - 1, xw[j]);
    for (int64_t p = pfirst; p < l1 + GR; ++p) {
#pragma unroll
      for (int j = 0; j < KB - 1; ++j)
#pragma unroll
        for (int v = 0; v < V; ++v) xw[j][v] = xw[j + 1][v];
      load_row(x, p - PB + KB - 1, xw[KB - 1]);
      float g[V];
      load_row(dy, p, g);
      const bool own = p >= l0 && p < l1;
#pragma unroll
      for (int v = 0; v < V; ++v) {
        if (s.silu) {
          float a = b0[v];
#pragma unroll
          for (int j = 0; j < KB; ++j) a += wr[j][v] * xw[j][v];
          g[v] *= silu_grad<T>(a);
        }
        if (own) {
#pragma unroll
          for (int j = 0; j < KB; ++j) dwacc[j][v] += g[v] * xw[j][v];
          dwacc[KB][v] += g[v];
        }
      }
#pragma unroll
      for (int j = 0; j < KB - 1; ++j)
#pragma unroll
        for (int v = 0; v < V; ++v) gw[j][v] = gw[j + 1][v];
#pragma unroll
      for (int v = 0; v < V; ++v) gw[KB - 1][v] = g[v];
      const int64_t t = p - GR;
      if (t >= l0) {
        float out[V];
#pragma unroll
        for (int v = 0; v < V; ++v) {
          float a = 0.0f;
#pragma unroll
          for (int j = 0; j < KB; ++j) a += wr[j][v] * gw[KB - 1 - j][v];
          out[v] = a;
        }
        T* dst = dx + (b * s.L + t) * s.C + c0;
        if (vec) {
          store_vec<T, V>(dst, out);
        } else {
#pragma unroll
          for (int v = 0; v < V; ++v)
            if (c0 + v < s.C) dst[v] = St<T>::from(out[v]);
        }
      }
    }
  }
#pragma unroll
  for (int j = 0; j <= KB; ++j)
#pragma unroll
    for (int v = 0; v < V; ++v) red[ty][tx][j * V + v] = dwacc[j][v];
  __syncthreads();
  if (ty != 0 || c0 >= s.C) return;
  for (int j = 0; j <= KB; ++j)
    for (int v = 0; v < V && c0 + v < s.C; ++v) {
      float a = 0.0f;
#pragma unroll
      for (int q = 0; q < 4; ++q) a += red[q][tx][j * V + v];
      emit(s, part, b * lblocks + lb, dw, dbias, c0 + v, j, off, KB, a);
    }
}

template <class T, int KB, bool SAME>
void launch(const Desc& d, void* dx, float* dw, float* db, const void* dy, const void* x,
            const float* w, const float* b, float* part, cudaStream_t st) {
  Shape s = shape_of(d);
  auto* dxp = static_cast<T*>(dx);
  auto* dyp = static_cast<const T*>(dy);
  auto* xp = static_cast<const T*>(x);
  const bool ptr_ok = reinterpret_cast<uintptr_t>(x) % 16 == 0 &&
                      reinterpret_cast<uintptr_t>(dy) % 16 == 0 &&
                      reinterpret_cast<uintptr_t>(dx) % 16 == 0;
  if (d.layout == Layout::BCL) {
    auto kern = &vec_bwd_bcl<T, KB, SAME>;
    GPT_LAUNCH(kern, unsigned(d.B * d.C), kThreads, 0, st, s, dxp, dw, db, dyp, xp, w, b, part,
               ptr_ok && d.L % St<T>::V == 0);
  } else {
    int64_t blocks = d.B * ((d.L + 4 * kSegRows - 1) / (4 * kSegRows)) * ((d.C + 32 * kVB - 1) / (32 * kVB));
    auto kern = &vec_bwd_blc<T, KB, SAME>;
    GPT_LAUNCH(kern, unsigned(blocks), kThreads, 0, st, s, dxp, dw, db, dyp, xp, w, b, part,
               ptr_ok && d.C % kVB == 0);
  }
  check_launch("vec_bwd");
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
    default: raise_error("conv1d cuda-vec: no backward kernel for this width");
  }
}

}  // namespace

int64_t vec_partials(const Desc& d) {
  return d.layout == Layout::BCL ? d.B : d.B * ((d.L + 4 * kSegRows - 1) / (4 * kSegRows));
}

void vec_backward(const Desc& d, void* dx, float* dw, float* db, const void* dy, const void* x,
                  const float* w, const float* b, float* part, cudaStream_t st) {
  switch (d.dtype) {
    case DType::F32: return bwd_t<float>(d, dx, dw, db, dy, x, w, b, part, st);
    case DType::BF16: return bwd_t<__nv_bfloat16>(d, dx, dw, db, dy, x, w, b, part, st);
    case DType::F16: return bwd_t<__half>(d, dx, dw, db, dy, x, w, b, part, st);
  }
}

}  // namespace gpt::conv1d::cuda
