// Causal multi-head attention, fused flash-style: the T x T scores and probabilities never reach
// memory. Forward streams the keys and values of one (batch, head) through shared memory in
// tiles and keeps an online softmax per query row (running max m, running sum l); all it keeps
// for backward is lse = m + log l per row, B*NH*T floats instead of B*NH*T*T. Backward makes
// each probability again as exp(score - lse).
//
// One thread owns one row (a query in the forward and dQ kernels, a key in the dK/dV kernel)
// with its head vector in registers; the other side's rows pass through shared memory, where
// every thread of a warp reads the same element (a broadcast). HD is the head size rounded up
// to a compiled size; the padding is zero, so it adds nothing to any dot product.
//
// Backward is two kernels, dK/dV over key rows and dQ over query rows, rather than one that adds
// dQ with atomics, so the sums run in a fixed order and two runs give the same bits.
//
// Dropout on the probabilities is keyed exactly as in the unfused op (hash_uniform(seed,
// bh*T*T + i*T + j)): the same entries are dropped on the CPU, the unfused and the fused path.
// The softmax sum l uses the undropped probabilities, as the unfused op's softmax does.
//
// fp32 on CUDA cores, not tensor cores: a first version, built and tested against the CPU op
// under the host emulation (tests/emu); it has not yet been timed on a GPU (docs/cuda.md).
#include <cmath>
#include <string>

#include "cuda_common.h"
#include "device_util.cuh"
#include "ops_cuda.h"

namespace gpt::cuda {
namespace {

using dev::hash_uniform;

__device__ __forceinline__ int imin(int a, int b) { return a < b ? a : b; }
__device__ __forceinline__ int imax(int a, int b) { return a > b ? a : b; }

constexpr int kRows = 64;  // rows a block owns, one per thread
constexpr int kTile = 32;  // rows of the other side per shared-memory tile

// Element d of row t's q (part 0), k (1) or v (2) for head h, from packed qkv[B*T, 3C].
__device__ __forceinline__ const float* qkv_row(const float* qkv, int64_t bt, int part, int C,
                                                int h, int hd) {
  return qkv + bt * 3 * int64_t(C) + int64_t(part) * C + int64_t(h) * hd;
}

// Loads rows r0 .. r0+kTile-1 (those below T) of one [*, hd] strided source into dst[kTile][HD],
// zero elsewhere, the whole block cooperating (consecutive threads, consecutive elements).
template <int HD>
__device__ __forceinline__ void load_tile(float (*dst)[HD], const float* src, int64_t ld, int r0,
                                          int T, int hd) {
  for (int e = threadIdx.x; e < kTile * HD; e += blockDim.x) {
    const int r = e / HD, d = e % HD;
    dst[r][d] = (r0 + r < T && d < hd) ? src[int64_t(r0 + r) * ld + d] : 0.0f;
  }
}

// The key and value rows j0 .. j0+kTile-1 of head h of the sequence starting at row bt0, between
// two barriers: the previous tiles are no longer read, and the new ones are whole.
template <int HD>
__device__ __forceinline__ void load_kv_tiles(float (*ks)[HD], float (*vs)[HD], const float* qkv,
                                              int64_t bt0, int C, int h, int hd, int j0, int T) {
  __syncthreads();
  load_tile<HD>(ks, qkv_row(qkv, bt0, 1, C, h, hd), 3 * int64_t(C), j0, T, hd);
  load_tile<HD>(vs, qkv_row(qkv, bt0, 2, C, h, hd), 3 * int64_t(C), j0, T, hd);
  __syncthreads();
}

template <int HD>
__device__ __forceinline__ float dot(const float* a, const float* b) {
  float s = 0.0f;
#pragma unroll
  for (int d = 0; d < HD; ++d) s += a[d] * b[d];
  return s;
}

// The keep factor of probability (i, j) of head bh: 1 without dropout, else 0 or 1/(1-p).
__device__ __forceinline__ float keep_factor(float p, float keep_scale, uint64_t seed, int64_t bh,
                                             int T, int i, int j) {
  if (p <= 0.0f) return 1.0f;
  return hash_uniform(seed, (uint64_t(bh) * T + i) * uint64_t(T) + j) >= p ? keep_scale : 0.0f;
}

// Which head (bh = b*NH + h) and which kRows-row tile of it this block owns: the grid is
// ceil(T / kRows) * B*NH blocks, block = tile + tiles * bh (one dimension, as the emulation runs).
struct BlockRows {
  int64_t bh, b;
  int h, tile;
};
__device__ __forceinline__ BlockRows block_rows(int T, int NH) {
  const int tiles = (T + kRows - 1) / kRows;
  const int64_t bh = blockIdx.x / tiles;
  return {bh, bh / NH, int(bh % NH), int(blockIdx.x % tiles)};
}

// block_rows' grid, kRows threads; thread = query row i.
template <int HD>
__global__ void fused_forward(float* out, float* lse, const float* qkv, int T, int C, int NH,
                              float sc, float p, float keep_scale, uint64_t seed) {
  __shared__ float ks[kTile][HD];
  __shared__ float vs[kTile][HD];
  const int hd = C / NH;
  const BlockRows br = block_rows(T, NH);
  const int64_t bh = br.bh, b = br.b;
  const int h = br.h, tile = br.tile;
  const int i = tile * kRows + threadIdx.x;
  const bool live = i < T;

  float q[HD], o[HD];
  const float* qsrc = qkv_row(qkv, b * T + (live ? i : 0), 0, C, h, hd);
#pragma unroll
  for (int d = 0; d < HD; ++d) {
    q[d] = d < hd ? qsrc[d] : 0.0f;
    o[d] = 0.0f;
  }
  float m = -INFINITY, l = 0.0f;
  // Keys up to the block's last query row; the bound is the same for the whole block.
  const int last = imin(T - 1, tile * kRows + kRows - 1);
  for (int j0 = 0; j0 <= last; j0 += kTile) {
    load_kv_tiles<HD>(ks, vs, qkv, b * T, C, h, hd, j0, T);
    if (!live) continue;
    const int jn = imin(kTile, i - j0 + 1);  // causal: keys j <= i
    for (int jj = 0; jj < jn; ++jj) {
      const float s = sc * dot<HD>(q, ks[jj]);
      if (s > m) {  // a new max: rescale what is summed so far (exp(-inf) = 0 the first time)
        const float r = expf(m - s);
        l *= r;
#pragma unroll
        for (int d = 0; d < HD; ++d) o[d] *= r;
        m = s;
      }
      const float e = expf(s - m);
      l += e;
      const float w = e * keep_factor(p, keep_scale, seed, bh, T, i, j0 + jj);
#pragma unroll
      for (int d = 0; d < HD; ++d) o[d] += w * vs[jj][d];
    }
  }
  if (!live) return;
  const float inv = 1.0f / l;  // l >= 1: the row's max term is exp(0)
  float* dst = out + (b * T + i) * int64_t(C) + int64_t(h) * hd;
#pragma unroll
  for (int d = 0; d < HD; ++d)  // over HD, not hd: a run-time index would put o in local memory
    if (d < hd) dst[d] = o[d] * inv;
  lse[bh * T + i] = m + logf(l);
}

// D[bh*T + i] = dout_i . out_i over the head's columns: sum_j P_ij dP_ij of the softmax
// backward (with dropout, dP is taken after the mask, and the identity still holds).
__global__ void fused_rowdot(float* D, const float* dout, const float* out, int B, int T, int C,
                             int NH) {
  const int hd = C / NH;
  const int64_t n = int64_t(B) * NH * T;
  for (int64_t r = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; r < n;
       r += int64_t(gridDim.x) * blockDim.x) {
    const int64_t bh = r / T, i = r % T;
    const int64_t b = bh / NH, h = bh % NH;
    const int64_t at = (b * T + i) * C + h * hd;
    float s = 0.0f;
    for (int d = 0; d < hd; ++d) s += dout[at + d] * out[at + d];
    D[r] = s;
  }
}

// block_rows' grid, kRows threads; thread = key row j. Walks the query rows i >= j:
//   dV_j += Pd_ij dO_i,   dK_j += dS_ij q_i,   dS_ij = sc * P_ij (keep_ij dO_i.v_j - D_i).
template <int HD>
__global__ void fused_backward_kv(float* dqkv, const float* dout, const float* qkv,
                                  const float* lse, const float* D, int T, int C, int NH, float sc,
                                  float p, float keep_scale, uint64_t seed) {
  __shared__ float qs[kTile][HD];
  __shared__ float gs[kTile][HD];  // dout rows
  __shared__ float ls[kTile], ds[kTile];
  const int hd = C / NH;
  const BlockRows br = block_rows(T, NH);
  const int64_t bh = br.bh, b = br.b;
  const int h = br.h, tile = br.tile;
  const int j0b = tile * kRows;
  const int j = j0b + threadIdx.x;
  const bool live = j < T;
  const int64_t ld = 3 * int64_t(C);

  float k[HD], v[HD], dk[HD], dv[HD];
  const float* ksrc = qkv_row(qkv, b * T + (live ? j : 0), 1, C, h, hd);
  const float* vsrc = qkv_row(qkv, b * T + (live ? j : 0), 2, C, h, hd);
#pragma unroll
  for (int d = 0; d < HD; ++d) {
    k[d] = d < hd ? ksrc[d] : 0.0f;
    v[d] = d < hd ? vsrc[d] : 0.0f;
    dk[d] = dv[d] = 0.0f;
  }
  // Query rows from the block's first key on, in tiles aligned to kTile.
  for (int i0 = j0b / kTile * kTile; i0 < T; i0 += kTile) {
    __syncthreads();
    load_tile<HD>(qs, qkv_row(qkv, b * T, 0, C, h, hd), ld, i0, T, hd);
    load_tile<HD>(gs, dout + b * T * int64_t(C) + int64_t(h) * hd, C, i0, T, hd);
    for (int r = threadIdx.x; r < kTile; r += blockDim.x) {
      ls[r] = i0 + r < T ? lse[bh * T + i0 + r] : 0.0f;
      ds[r] = i0 + r < T ? D[bh * T + i0 + r] : 0.0f;
    }
    __syncthreads();
    if (!live) continue;
    const int in = imin(kTile, T - i0);
    for (int ii = imax(0, j - i0); ii < in; ++ii) {  // causal: queries i >= j
      const int i = i0 + ii;
      const float P = expf(sc * dot<HD>(qs[ii], k) - ls[ii]);
      const float kf = keep_factor(p, keep_scale, seed, bh, T, i, j);
      const float pd = P * kf;
      const float dS = sc * P * (kf * dot<HD>(gs[ii], v) - ds[ii]);
#pragma unroll
      for (int d = 0; d < HD; ++d) {
        dv[d] += pd * gs[ii][d];
        dk[d] += dS * qs[ii][d];
      }
    }
  }
  if (!live) return;
  float* dst = dqkv + (b * T + j) * ld + int64_t(h) * hd;
#pragma unroll
  for (int d = 0; d < HD; ++d)
    if (d < hd) {
      dst[C + d] = dk[d];
      dst[2 * int64_t(C) + d] = dv[d];
    }
}

// block_rows' grid, kRows threads; thread = query row i. dQ_i = sum_{j<=i} dS_ij k_j.
template <int HD>
__global__ void fused_backward_q(float* dqkv, const float* dout, const float* qkv,
                                 const float* lse, const float* D, int T, int C, int NH, float sc,
                                 float p, float keep_scale, uint64_t seed) {
  __shared__ float ks[kTile][HD];
  __shared__ float vs[kTile][HD];
  const int hd = C / NH;
  const BlockRows br = block_rows(T, NH);
  const int64_t bh = br.bh, b = br.b;
  const int h = br.h, tile = br.tile;
  const int i = tile * kRows + threadIdx.x;
  const bool live = i < T;
  const int64_t ld = 3 * int64_t(C);

  float q[HD], g[HD], dq[HD];
  const int64_t row = b * T + (live ? i : 0);
  const float* qsrc = qkv_row(qkv, row, 0, C, h, hd);
  const float* gsrc = dout + row * C + int64_t(h) * hd;
#pragma unroll
  for (int d = 0; d < HD; ++d) {
    q[d] = d < hd ? qsrc[d] : 0.0f;
    g[d] = d < hd ? gsrc[d] : 0.0f;
    dq[d] = 0.0f;
  }
  const float li = live ? lse[bh * T + i] : 0.0f;
  const float Di = live ? D[bh * T + i] : 0.0f;
  const int last = imin(T - 1, tile * kRows + kRows - 1);
  for (int j0 = 0; j0 <= last; j0 += kTile) {
    load_kv_tiles<HD>(ks, vs, qkv, b * T, C, h, hd, j0, T);
    if (!live) continue;
    const int jn = imin(kTile, i - j0 + 1);
    for (int jj = 0; jj < jn; ++jj) {
      const float P = expf(sc * dot<HD>(q, ks[jj]) - li);
      const float kf = keep_factor(p, keep_scale, seed, bh, T, i, j0 + jj);
      const float dS = sc * P * (kf * dot<HD>(g, vs[jj]) - Di);
#pragma unroll
      for (int d = 0; d < HD; ++d) dq[d] += dS * ks[jj][d];
    }
  }
  if (!live) return;
  float* dst = dqkv + (b * T + i) * ld + int64_t(h) * hd;
#pragma unroll
  for (int d = 0; d < HD; ++d)
    if (d < hd) dst[d] = dq[d];
}

// The compiled head size for hd: 16, 32, 64 or 128 (0: too large).
int head_tile(int hd) { return hd <= 16 ? 16 : hd <= 32 ? 32 : hd <= 64 ? 64 : hd <= 128 ? 128 : 0; }

int check_shapes(const char* op, int C, int NH) {
  if (NH <= 0 || C % NH != 0)
    raise_error(std::string(op) + ": C = " + std::to_string(C) + " is not a multiple of NH = " +
                std::to_string(NH));
  const int HD = head_tile(C / NH);
  if (HD == 0)
    raise_error(std::string(op) + ": head size " + std::to_string(C / NH) +
                " is above the fused kernels' 128; use the unfused attention (fused_attention: false)");
  return HD;
}

}  // namespace

bool attention_fused_supports(int C, int NH) { return NH > 0 && C % NH == 0 && head_tile(C / NH) > 0; }

int64_t attention_fused_workspace_floats(int B, int T, int NH) { return int64_t(B) * NH * T; }

void attention_fused_forward(float* out, float* lse, const float* qkv, int B, int T, int C, int NH,
                             float p, uint64_t seed) {
  if (B <= 0 || T <= 0 || C <= 0) return;
  const int HD = check_shapes("attention_fused_forward", C, NH);
  const float sc = 1.0f / std::sqrt(float(C / NH));
  const float ks = p > 0.0f ? 1.0f / (1.0f - p) : 1.0f;
  const unsigned grid = unsigned((T + kRows - 1) / kRows) * unsigned(B * NH);
  switch (HD) {
    case 16: GPT_LAUNCH(fused_forward<16>, grid, kRows, 0, 0, out, lse, qkv, T, C, NH, sc, p, ks, seed); break;
    case 32: GPT_LAUNCH(fused_forward<32>, grid, kRows, 0, 0, out, lse, qkv, T, C, NH, sc, p, ks, seed); break;
    case 64: GPT_LAUNCH(fused_forward<64>, grid, kRows, 0, 0, out, lse, qkv, T, C, NH, sc, p, ks, seed); break;
    default: GPT_LAUNCH(fused_forward<128>, grid, kRows, 0, 0, out, lse, qkv, T, C, NH, sc, p, ks, seed); break;
  }
  GPT_CUDA_LAUNCHED();
}

void attention_fused_backward(float* dqkv, const float* dout, const float* qkv, const float* out,
                              const float* lse, int B, int T, int C, int NH, float p,
                              uint64_t seed, float* workspace) {
  if (B <= 0 || T <= 0 || C <= 0) return;
  const int HD = check_shapes("attention_fused_backward", C, NH);
  const float sc = 1.0f / std::sqrt(float(C / NH));
  const float ks = p > 0.0f ? 1.0f / (1.0f - p) : 1.0f;
  float* D = workspace;
  GPT_LAUNCH(fused_rowdot, blocks_for(int64_t(B) * NH * T, 256), 256, 0, 0, D, dout, out, B, T, C,
             NH);
  GPT_CUDA_LAUNCHED();
  const unsigned grid = unsigned((T + kRows - 1) / kRows) * unsigned(B * NH);
#define GPT_FUSED_BWD(HDV)                                                                        \
  GPT_LAUNCH(fused_backward_kv<HDV>, grid, kRows, 0, 0, dqkv, dout, qkv, lse, D, T, C, NH, sc, p, \
             ks, seed);                                                                           \
  GPT_CUDA_LAUNCHED();                                                                            \
  GPT_LAUNCH(fused_backward_q<HDV>, grid, kRows, 0, 0, dqkv, dout, qkv, lse, D, T, C, NH, sc, p,  \
             ks, seed);                                                                           \
  GPT_CUDA_LAUNCHED()
  switch (HD) {
    case 16: GPT_FUSED_BWD(16); break;
    case 32: GPT_FUSED_BWD(32); break;
    case 64: GPT_FUSED_BWD(64); break;
    default: GPT_FUSED_BWD(128); break;
  }
#undef GPT_FUSED_BWD
}

}  // namespace gpt::cuda
