// BLC (channel-last) cuda-vec kernels, version 2: the default for every dtype since the first
// H100 run showed the version-1 kernels (conv1d_vec.cu, conv1d_vec_bwd.cu; still reachable with
// GPT_CONV1D_BLC_V1=1) far from copy speed for 16-bit storage (47% forward, 41% backward).
// Version 1 keeps 8 bf16 channels x K rows as fp32 plus 8 x K weights in registers per thread
// (123 registers forward, 120 backward: 4 blocks per SM) and has one row's load in flight per
// thread, ~8 KB of reads in flight per SM. Here:
//   - each thread owns V adjacent channels (forward 4: a 16-byte fp32 / 8-byte fp16/bf16 vector;
//     backward 2 fp32 / 4 fp16-bf16, which needs a dw accumulator per tap and channel), lanes
//     along channels, so a warp's row access is 128-512 contiguous bytes;
//   - rows are streamed in groups of R whose loads are all issued before the first is used
//     (forward: R = 4; backward: 32 bytes per group of each of x and dy, 8 rows 16-bit / 4 fp32),
//     with a K-1 row register window sliding over the groups. With K = 4 that is 24-48 KB of
//     reads in flight per SM (see FwdCfg / BwdCfg for the register counts).
// A block is 32 lanes along C x 4 warps along L; each warp walks `seg` rows (16, 32 or 64),
// picked per launch from the SM count and the kernel's occupancy so that the grid is many waves
// or its last wave is full (GPT_CONV1D_BLC_SEG overrides it). Backward: dw/dbias sums stay in
// registers and the block's 4 row segments are added in shared memory; one partial row per
// block (deterministic) or fp32 atomics. Vector accesses need C % V == 0 and x, y, dx, dy
// aligned to the vector; otherwise the same kernels go element by element.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <initializer_list>
#include <string>

#include "conv1d_cuda.h"

namespace gpt::conv1d::cuda {
namespace {

constexpr int kThreads = 128;
constexpr int kWarps = kThreads / 32;

template <int KB, bool SAME>
struct Bucket {
  static constexpr int PB = SAME ? (KB - 1) / 2 : KB - 1;  // taps before the current sample
  static constexpr int HR = KB - 1 - PB;                   // and after it
  __device__ static int off(int K) { return SAME ? (KB - K) / 2 : KB - K; }
};

// Per kernel: V channels per thread and R rows per group, chosen from ptxas register counts
// (sm_90, taps <= 5): forward V = 4, R = 4: 95 registers fp32 / 80 fp16-bf16, 64 / 32 bytes of x
// in flight per thread, 5-6 blocks per SM; backward V = 2, R = 32 bytes per row group of each
// of x and dy (4 rows fp32, 8 rows 16-bit): 95 / 128 registers, 5 / 4 blocks per SM. Wider
// buckets (7-9 taps) take half the rows to stay near those counts. More rows per group cost
// ~1.5 registers per byte in flight (ptxas unpacks early), which is why the groups are small.
// WIDE (16-bit storage only; the default for the backward, see wide()): twice the channels per
// thread (forward 8, a 16-byte vector; backward 4, 8 bytes) and, backward, half the rows per
// group, so the bytes in flight stay the same while the per-row work (addresses, bounds, window
// shifts) is shared by twice the channels. At copy speed an SM must retire ~2 16-bit elements
// per cycle in the backward, and the 2-channel kernel spends a large share of its instructions
// per row, not per element.
template <class T, int KB, bool WIDE>
struct FwdCfg {
  static constexpr int V = WIDE ? 8 : 4;
  static constexpr int R = KB <= 5 ? 4 : 2;
};
template <class T, int KB, bool WIDE>
struct BwdCfg {
  static constexpr int V = WIDE ? 4 : 2;
  static constexpr int R = (32 / (V * int(sizeof(T)))) / (KB <= 5 ? 1 : 2);
};

// V elements of T as one packed register vector (4, 8 or 16 bytes).
template <class T, int V>
struct RawOf {
  static constexpr int bytes = V * int(sizeof(T));
  static_assert(bytes == 4 || bytes == 8 || bytes == 16, "a vector of 4, 8 or 16 bytes");
  using type = typename std::conditional<
      bytes == 16, uint4, typename std::conditional<bytes == 8, uint2, unsigned>::type>::type;
};
template <class T, int V>
using Raw = typename RawOf<T, V>::type;

template <class T, int V>
union Pack {
  Raw<T, V> r;
  T e[V];
  __device__ Pack() {}
};

// V channels of the row at p; n = channels left in the row from p (>= 1). Zero past the row.
template <class T, int V>
__device__ __forceinline__ Raw<T, V> raw_load(const T* p, bool vec, int64_t n) {
  if (vec) {
#ifdef GPT_CONV1D_EMULATE
    ::gpt_emu::check_align(p, sizeof(Raw<T, V>));
#endif
    return *reinterpret_cast<const Raw<T, V>*>(p);
  }
  Pack<T, V> u;
  u.r = Raw<T, V>{};
#pragma unroll
  for (int v = 0; v < V; ++v)
    if (v < n) u.e[v] = p[v];
  return u.r;
}

template <class T, int V>
__device__ __forceinline__ void unpack(Raw<T, V> r, float* out) {
  Pack<T, V> u;
  u.r = r;
#pragma unroll
  for (int v = 0; v < V; ++v) out[v] = St<T>::to(u.e[v]);
}

template <class T, int V>
__device__ __forceinline__ void store_row(T* p, bool vec, int64_t n, const float* in) {
  Pack<T, V> u;
#pragma unroll
  for (int v = 0; v < V; ++v) u.e[v] = St<T>::from(in[v]);
  if (vec) {
#ifdef GPT_CONV1D_EMULATE
    ::gpt_emu::check_align(p, sizeof(Raw<T, V>));
#endif
    *reinterpret_cast<Raw<T, V>*>(p) = u.r;
  } else {
#pragma unroll
    for (int v = 0; v < V; ++v)
      if (v < n) p[v] = u.e[v];
  }
}

struct Geo {
  int64_t cblocks, lblocks;
};
__host__ __device__ __forceinline__ Geo geo(int64_t C, int64_t L, int V, int seg) {
  return {(C + 32 * V - 1) / (32 * V), (L + int64_t(kWarps) * seg - 1) / (int64_t(kWarps) * seg)};
}

template <class T, int KB, bool SAME, bool WIDE>
__global__ void __launch_bounds__(kThreads)
    blc2_fwd(Shape s, T* __restrict__ y, const T* __restrict__ x, const float* __restrict__ w,
             const float* __restrict__ bias, int seg, bool vec) {
  using Bk = Bucket<KB, SAME>;
  constexpr int V = FwdCfg<T, KB, WIDE>::V, R = FwdCfg<T, KB, WIDE>::R, PB = Bk::PB, HR = Bk::HR;
  const Geo g = geo(s.C, s.L, V, seg);
  const int64_t cb = blockIdx.x % g.cblocks;
  const int64_t lb = (blockIdx.x / g.cblocks) % g.lblocks;
  const int64_t b = blockIdx.x / (g.cblocks * g.lblocks);
  const int64_t c0 = (cb * 32 + threadIdx.x % 32) * V;
  const int64_t l0 = (lb * kWarps + threadIdx.x / 32) * int64_t(seg);
  if (c0 >= s.C || l0 >= s.L) return;  // no barriers below
  const int64_t n = s.C - c0;
  const int off = Bk::off(s.K);
  float wr[KB][V], b0[V];
#pragma unroll
  for (int v = 0; v < V; ++v) {
    const bool in = v < n;
    b0[v] = (s.bias && in) ? bias[c0 + v] : 0.0f;
#pragma unroll
    for (int j = 0; j < KB; ++j)
      wr[j][v] = (in && j >= off && j - off < s.K) ? w[(c0 + v) * s.K + j - off] : 0.0f;
  }
  const int64_t l1 = l0 + seg < s.L ? l0 + seg : s.L;
  const int64_t rend = l1 + HR < s.L ? l1 + HR : s.L;  // x rows needed: [l0 - PB, rend)
  const T* xb = x + b * s.L * s.C + c0;
  T* yb = y + b * s.L * s.C + c0;
  // win[m] = x row (t - PB + m) for the group starting at t
  float win[KB - 1 + R][V];
#pragma unroll
  for (int m = 0; m < KB - 1; ++m) {
    const int64_t r = l0 - PB + m;
    if (r >= 0 && r < rend) {
      unpack<T, V>(raw_load<T, V>(xb + r * s.C, vec, n), win[m]);
    } else {
#pragma unroll
      for (int v = 0; v < V; ++v) win[m][v] = 0.0f;
    }
  }
#pragma unroll 1
  for (int64_t t = l0; t < l1; t += R) {
    Raw<T, V> raw[R];
#pragma unroll
    for (int i = 0; i < R; ++i) {
      const int64_t r = t - PB + KB - 1 + i;  // = t + i + HR >= 0
      raw[i] = r < rend ? raw_load<T, V>(xb + r * s.C, vec, n) : Raw<T, V>{};
    }
#pragma unroll
    for (int i = 0; i < R; ++i) {
      unpack<T, V>(raw[i], win[KB - 1 + i]);
      float out[V];
#pragma unroll
      for (int v = 0; v < V; ++v) {
        float a = b0[v];
#pragma unroll
        for (int j = 0; j < KB; ++j) a += wr[j][v] * win[i + j][v];
        out[v] = s.silu ? silu<T>(a) : a;
      }
      if (t + i < l1) store_row<T, V>(yb + (t + i) * s.C, vec, n, out);
    }
#pragma unroll
    for (int m = 0; m < KB - 1; ++m)
#pragma unroll
      for (int v = 0; v < V; ++v) win[m][v] = win[m + R][v];
  }
}

// Tap j of the bucket (j == KB: the bias) of channel c into a partial row or the atomics.
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

// With g = dy * silu'(pre) (pre recomputed from x):
//   dx[t] = sum_j w[j] g[t + PB - j],  dw[j] += g[p] x[p - PB + j],  dbias += g[p].
// The thread streams p over [l0 - HR, l1 - 1 + PB]: x rows p - PB .. p + HR give pre(p) and the
// dw terms (own rows only), g rows p - KB + 1 .. p give dx[p - PB].
template <class T, int KB, bool SAME, bool WIDE>
__global__ void __launch_bounds__(kThreads)
    blc2_bwd(Shape s, T* __restrict__ dx, float* dw, float* dbias, const T* __restrict__ dy,
             const T* __restrict__ x, const float* __restrict__ w, const float* __restrict__ bias,
             float* part, int seg, bool vec) {
  using Bk = Bucket<KB, SAME>;
  constexpr int V = BwdCfg<T, KB, WIDE>::V, R = BwdCfg<T, KB, WIDE>::R, PB = Bk::PB, HR = Bk::HR;
  constexpr int NJ = (KB + 1) * V;
  __shared__ float red[kWarps][NJ][33];
  const Geo g = geo(s.C, s.L, V, seg);
  const int64_t cb = blockIdx.x % g.cblocks;
  const int64_t lb = (blockIdx.x / g.cblocks) % g.lblocks;
  const int64_t b = blockIdx.x / (g.cblocks * g.lblocks);
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  const int64_t c0 = (cb * 32 + lane) * V;
  const int64_t l0 = (lb * kWarps + warp) * int64_t(seg);
  const int off = Bk::off(s.K);
  float dwacc[KB + 1][V];
#pragma unroll
  for (int j = 0; j <= KB; ++j)
#pragma unroll
    for (int v = 0; v < V; ++v) dwacc[j][v] = 0.0f;
  if (c0 < s.C && l0 < s.L) {
    const int64_t n = s.C - c0;
    float wr[KB][V], b0[V];
#pragma unroll
    for (int v = 0; v < V; ++v) {
      const bool in = v < n;
      b0[v] = (s.bias && in) ? bias[c0 + v] : 0.0f;
#pragma unroll
      for (int j = 0; j < KB; ++j)
        wr[j][v] = (in && j >= off && j - off < s.K) ? w[(c0 + v) * s.K + j - off] : 0.0f;
    }
    const int64_t l1 = l0 + seg < s.L ? l0 + seg : s.L;
    const int64_t pfirst = l0 - HR;
    const int64_t pend = l1 + PB < s.L ? l1 + PB : s.L;  // g rows needed: [pfirst, pend)
    const int64_t xend = pend + HR < s.L ? pend + HR : s.L;
    const T* xb = x + b * s.L * s.C + c0;
    const T* dyb = dy + b * s.L * s.C + c0;
    T* dxb = dx + b * s.L * s.C + c0;
    // xw[m] = x row (p - PB + m), gw[m] = g row (p - KB + 1 + m) for the group starting at p
    float xw[KB - 1 + R][V], gw[KB - 1 + R][V];
#pragma unroll
    for (int m = 0; m < KB - 1; ++m) {
      const int64_t r = pfirst - PB + m;
      if (r >= 0 && r < xend) {
        unpack<T, V>(raw_load<T, V>(xb + r * s.C, vec, n), xw[m]);
      } else {
#pragma unroll
        for (int v = 0; v < V; ++v) xw[m][v] = 0.0f;
      }
#pragma unroll
      for (int v = 0; v < V; ++v) gw[m][v] = 0.0f;  // rows before pfirst: never used
    }
#pragma unroll 1
    for (int64_t p = pfirst; p < l1 + PB; p += R) {
      Raw<T, V> rx[R], rg[R];
#pragma unroll
      for (int i = 0; i < R; ++i) {
        const int64_t r = p + i + HR;
        rx[i] = (r >= 0 && r < xend) ? raw_load<T, V>(xb + r * s.C, vec, n) : Raw<T, V>{};
      }
#pragma unroll
      for (int i = 0; i < R; ++i) {
        const int64_t r = p + i;
        rg[i] = (r >= 0 && r < pend) ? raw_load<T, V>(dyb + r * s.C, vec, n) : Raw<T, V>{};
      }
#pragma unroll
      for (int i = 0; i < R; ++i) {
        const int64_t q = p + i;
        unpack<T, V>(rx[i], xw[KB - 1 + i]);
        float gv[V];
        unpack<T, V>(rg[i], gv);
        const bool own = q >= l0 && q < l1;
#pragma unroll
        for (int v = 0; v < V; ++v) {
          if (s.silu) {
            float a = b0[v];
#pragma unroll
            for (int j = 0; j < KB; ++j) a += wr[j][v] * xw[i + j][v];
            gv[v] *= silu_grad<T>(a);
          }
          if (own) {
#pragma unroll
            for (int j = 0; j < KB; ++j) dwacc[j][v] += gv[v] * xw[i + j][v];
            dwacc[KB][v] += gv[v];
          }
          gw[KB - 1 + i][v] = gv[v];
        }
        const int64_t t = q - PB;
        if (t >= l0 && t < l1) {
          float out[V];
#pragma unroll
          for (int v = 0; v < V; ++v) {
            float a = 0.0f;
#pragma unroll
            for (int j = 0; j < KB; ++j) a += wr[j][v] * gw[i + KB - 1 - j][v];
            out[v] = a;
          }
          store_row<T, V>(dxb + t * s.C, vec, n, out);
        }
      }
#pragma unroll
      for (int m = 0; m < KB - 1; ++m)
#pragma unroll
        for (int v = 0; v < V; ++v) {
          xw[m][v] = xw[m + R][v];
          gw[m][v] = gw[m + R][v];
        }
    }
  }
#pragma unroll
  for (int j = 0; j <= KB; ++j)
#pragma unroll
    for (int v = 0; v < V; ++v) red[warp][j * V + v][lane] = dwacc[j][v];
  __syncthreads();
  // Warp q sums entries q, q + kWarps, ... over the block's row segments, lanes along channels.
  for (int e = warp; e < NJ; e += kWarps) {
    const int j = e / V, v = e % V;
    const int64_t c = c0 + v;
    if (c0 >= s.C || c >= s.C) continue;
    float a = 0.0f;
#pragma unroll
    for (int q = 0; q < kWarps; ++q) a += red[q][e][lane];
    emit(s, part, b * g.lblocks + lb, dw, dbias, c, j, off, KB, a);
  }
}

// ---- launch -----------------------------------------------------------------------------------

int sm_count() {
  static const int n = [] {
    int v = 0;
    if (cudaDeviceGetAttribute(&v, cudaDevAttrMultiProcessorCount, 0) != cudaSuccess || v < 1) {
      cudaGetLastError();
      v = 132;
    }
    return v;
  }();
  return n;
}

int seg_override() {
  static const int v = [] {
    const char* e = std::getenv("GPT_CONV1D_BLC_SEG");
    int s = e ? std::atoi(e) : 0;
    return (s == 16 || s == 32 || s == 64 || s == 128) ? s : 0;
  }();
  return v;
}

// Rows per warp: the largest of 64, 32, 16 whose grid fills the GPU at least 8 times over
// (then the last, partial wave costs little), or else the one whose waves are fullest (fewer
// rows per warp cost K-1 extra halo rows each, read from L2).
int pick_seg(const Desc& d, int V, int blocks_per_sm) {
  if (int o = seg_override()) return o;
  const int64_t slots = int64_t(sm_count()) * std::max(blocks_per_sm, 1);
  int best = 16;
  double best_eff = -1;
  for (int seg : {64, 32, 16}) {
    const Geo g = geo(d.C, d.L, V, seg);
    const double waves = double(d.B * g.cblocks * g.lblocks) / double(slots);
    if (waves >= 8) return seg;
    const double eff = waves / std::ceil(waves) * double(seg) / double(seg + d.K - 1);
    if (eff > best_eff + 1e-9) { best_eff = eff; best = seg; }
  }
  return best;
}

template <class K>
int occupancy(K kernel) {
#ifdef GPT_CONV1D_EMULATE
  (void)kernel;
  return 4;
#else
  int n = 0;
  if (cudaOccupancyMaxActiveBlocksPerMultiprocessor(&n, kernel, kThreads, 0) != cudaSuccess) {
    cudaGetLastError();
    n = 4;
  }
  return n;
#endif
}

template <class T, int KB, bool SAME, bool WIDE>
int seg_fwd(const Desc& d) {
  static const int occ = occupancy(&blc2_fwd<T, KB, SAME, WIDE>);
  return pick_seg(d, FwdCfg<T, KB, WIDE>::V, occ);
}
template <class T, int KB, bool SAME, bool WIDE>
int seg_bwd(const Desc& d) {
  static const int occ = occupancy(&blc2_bwd<T, KB, SAME, WIDE>);
  return pick_seg(d, BwdCfg<T, KB, WIDE>::V, occ);
}

int64_t grid_blocks(const Desc& d, int V, int seg) {
  const Geo g = geo(d.C, d.L, V, seg);
  return d.B * g.cblocks * g.lblocks;
}

// Vector accesses: every row starts on a vector boundary and so does every pointer.
template <class T, int V>
bool vec_ok(const Desc& d, std::initializer_list<const void*> ptrs) {
  if (d.C % V != 0) return false;
  for (const void* p : ptrs)
    if (reinterpret_cast<uintptr_t>(p) % sizeof(Raw<T, V>) != 0) return false;
  return true;
}

// Third H100 run (docs/benchmarks.md): the wide backward gained 1-4 points of copy speed on
// every 16-bit row (76% / 70% deterministic / 69% with bias+SiLU, against 75 / 69 / 65), while
// the wide forward lost 15-20 (73% against 88%, 67% against 87% with SiLU). So by default the
// backward is wide and the forward is not; GPT_CONV1D_BLC_WIDE=0 makes neither wide, =1 both.
bool wide(Pass pass) {
  static const int mode = [] {
    const char* e = std::getenv("GPT_CONV1D_BLC_WIDE");
    if (!e || !*e) return -1;
    return std::string(e) == "0" ? 0 : 1;
  }();
  return mode < 0 ? pass == Pass::Backward : mode == 1;
}

// Op<T, KB, SAME, WIDE>::run(d, args...) for d's dtype and tap bucket.
template <template <class, int, bool, bool> class Op, class T, bool WIDE, class... A>
auto by_bucket(const Desc& d, A&&... a) {
  const bool same = d.padding == Padding::Same;
  switch (vec_bucket(d) * (same ? -1 : 1)) {
    case 2: return Op<T, 2, false, WIDE>::run(d, a...);
    case 3: return Op<T, 3, false, WIDE>::run(d, a...);
    case 4: return Op<T, 4, false, WIDE>::run(d, a...);
    case 8: return Op<T, 8, false, WIDE>::run(d, a...);
    case -3: return Op<T, 3, true, WIDE>::run(d, a...);
    case -5: return Op<T, 5, true, WIDE>::run(d, a...);
    case -7: return Op<T, 7, true, WIDE>::run(d, a...);
    case -9: return Op<T, 9, true, WIDE>::run(d, a...);
    default: raise_error("conv1d cuda-vec BLC v2: no kernel for this width");
  }
}
// fp32 has no wide variant: it already runs at 93% of copy speed with 4 / 2 channels.
template <template <class, int, bool, bool> class Op, class... A>
auto by_dtype(bool wide, const Desc& d, A&&... a) {
  switch (d.dtype) {
    case DType::F32: return by_bucket<Op, float, false>(d, a...);
    case DType::BF16:
      return wide ? by_bucket<Op, __nv_bfloat16, true>(d, a...) : by_bucket<Op, __nv_bfloat16, false>(d, a...);
    default:
      return wide ? by_bucket<Op, __half, true>(d, a...) : by_bucket<Op, __half, false>(d, a...);
  }
}

template <class T, int KB, bool SAME, bool WIDE>
struct NameOp {
  static std::string run(const Desc& d, Pass pass) {
    const bool fwd = pass == Pass::Forward;
    const int V = fwd ? FwdCfg<T, KB, WIDE>::V : BwdCfg<T, KB, WIDE>::V;
    const int R = fwd ? FwdCfg<T, KB, WIDE>::R : BwdCfg<T, KB, WIDE>::R;
    const int seg = fwd ? seg_fwd<T, KB, SAME, WIDE>(d) : seg_bwd<T, KB, SAME, WIDE>(d);
    return std::string(WIDE ? "cuda-vec: BLC v2 wide, " : "cuda-vec: BLC v2, ") + std::to_string(V) + " channels x " + std::to_string(R) +
           "-row groups per thread, " + std::to_string(seg) + " rows per warp, taps<=" +
           std::to_string(KB);
  }
};

template <class T, int KB, bool SAME, bool WIDE>
struct SegOp {
  static int run(const Desc& d, Pass pass) {
    return pass == Pass::Forward ? seg_fwd<T, KB, SAME, WIDE>(d) : seg_bwd<T, KB, SAME, WIDE>(d);
  }
};

template <class T, int KB, bool SAME, bool WIDE>
struct FwdOp {
  static void run(const Desc& d, void* y, const void* x, const float* w, const float* b,
                  cudaStream_t st) {
    const Shape s = shape_of(d);
    constexpr int V = FwdCfg<T, KB, WIDE>::V;
    const int seg = seg_fwd<T, KB, SAME, WIDE>(d);
    const bool vec = vec_ok<T, V>(d, {x, y});
    auto kern = &blc2_fwd<T, KB, SAME, WIDE>;
    GPT_LAUNCH(kern, unsigned(grid_blocks(d, V, seg)), kThreads, 0, st, s, static_cast<T*>(y),
               static_cast<const T*>(x), w, b, seg, vec);
    check_launch("blc2_fwd");
  }
};

template <class T, int KB, bool SAME, bool WIDE>
struct BwdOp {
  static void run(const Desc& d, void* dx, float* dw, float* db, const void* dy, const void* x,
                  const float* w, const float* b, float* part, cudaStream_t st) {
    const Shape s = shape_of(d);
    constexpr int V = BwdCfg<T, KB, WIDE>::V;
    const int seg = seg_bwd<T, KB, SAME, WIDE>(d);
    const bool vec = vec_ok<T, V>(d, {x, dy, dx});
    auto kern = &blc2_bwd<T, KB, SAME, WIDE>;
    GPT_LAUNCH(kern, unsigned(grid_blocks(d, V, seg)), kThreads, 0, st, s, static_cast<T*>(dx), dw,
               db, static_cast<const T*>(dy), static_cast<const T*>(x), w, b, part, seg, vec);
    check_launch("blc2_bwd");
  }
};

}  // namespace

int blc2_seg(const Desc& d, Pass pass) { return by_dtype<SegOp>(wide(pass), d, pass); }

std::string blc2_name(const Desc& d, Pass pass) { return by_dtype<NameOp>(wide(pass), d, pass); }

int64_t blc2_partials(const Desc& d) {
  return d.B * geo(d.C, d.L, 1, blc2_seg(d, Pass::Backward)).lblocks;
}

void blc2_forward(const Desc& d, void* y, const void* x, const float* w, const float* b,
                  cudaStream_t st) {
  by_dtype<FwdOp>(wide(Pass::Forward), d, y, x, w, b, st);
}

void blc2_backward(const Desc& d, void* dx, float* dw, float* db, const void* dy, const void* x,
                   const float* w, const float* b, float* part, cudaStream_t st) {
  by_dtype<BwdOp>(wide(Pass::Backward), d, dx, dw, db, dy, x, w, b, part, st);
}

}  // namespace gpt::conv1d::cuda
