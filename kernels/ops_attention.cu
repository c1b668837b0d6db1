// Causal multi-head attention on the GPU, the unfused way: q, k, v are copied out of the packed
// qkv into head-major [B,NH,T,hd] so that every (batch, head) pair is one strided-batched GEMM,
// the T x T scores go straight into att, and a warp per row does the masked softmax. Plain, and
// checkable against the CPU op line by line; the upper triangle is computed and thrown away.
//
// Row-major vs cuBLAS: a row-major [R,C] matrix read column-major is its transpose (ld C). Each
// product below is written as the row-major formula, then as the column-major call.
//
// Workspace layout (floats, each region rounded up to 64 floats so every region is 256-byte
// aligned), with BTC = B*T*C = B*NH*T*hd and BTT = B*NH*T*T:
//   Q, K, V   3 x BTC    head-major copies of qkv's three parts
//   X         BTT        forward: the dropped-out probabilities; backward: dropped-out
//                        probabilities, then dP, then dS (in place)
//   O / dO    BTC        forward: head-major output; backward: head-major dout
//   dQ,dK,dV  3 x BTC    backward only
#include <cmath>
#include <string>

#include "cuda_common.h"
#include "device_util.cuh"
#include "ops_cuda.h"

namespace gpt::cuda {
namespace {

using dev::hash_uniform;

__device__ __forceinline__ float warp_sum(float v) { return dev::warp_reduce(v, dev::SumOp()); }
__device__ __forceinline__ float warp_max(float v) { return dev::warp_reduce(v, dev::MaxOp()); }

constexpr int64_t kAlign = 64;
int64_t aligned(int64_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

struct Layout {
  int64_t btc, btt;
  int64_t q, k, v, x, o, dq, dk, dv, total;
  Layout(int B, int T, int C, int NH) {
    btc = int64_t(B) * T * C;
    btt = int64_t(B) * NH * T * T;
    const int64_t a = aligned(btc), b = aligned(btt);
    q = 0; k = a; v = 2 * a;
    x = 3 * a;
    o = x + b;
    dq = o + a; dk = dq + a; dv = dk + a;
    total = dv + a;
  }
};

void check_heads(const char* op, int C, int NH) {
  if (NH <= 0 || C % NH != 0)
    raise_error(std::string(op) + ": C = " + std::to_string(C) + " is not a multiple of NH = " +
                std::to_string(NH));
}

// dst[B,NH,T,hd] <- the C columns starting at src of each [B*T] row of width ld.
__global__ void split_heads(float* dst, const float* src, int64_t ld, int B, int T, int C,
                            int NH) {
  const int hd = C / NH;
  const int64_t n = int64_t(B) * T * C;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t row = i / C;  // b * T + t
    const int c = int(i % C);
    const int64_t b = row / T, t = row % T;
    const int h = c / hd, d = c % hd;
    dst[((b * NH + h) * T + t) * hd + d] = src[row * ld + c];
  }
}

// The inverse: dst's C columns of each row of width ld <- src[B,NH,T,hd].
__global__ void merge_heads(float* dst, int64_t ld, const float* src, int B, int T, int C,
                            int NH) {
  const int hd = C / NH;
  const int64_t n = int64_t(B) * T * C;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t row = i / C;
    const int c = int(i % C);
    const int64_t b = row / T, t = row % T;
    const int h = c / hd, d = c % hd;
    dst[row * ld + c] = src[((b * NH + h) * T + t) * hd + d];
  }
}

constexpr int kRowThreads = 256;  // 8 warps, a row each
constexpr int kRowsPerBlock = kRowThreads / 32;

// One warp per row r = bh*T + t of att (scaled scores on entry). Softmax over j <= t as the CPU's
// softmax_inplace (max, exp, sum, times 1/sum), zeros above the diagonal. With pd, also the
// dropped-out copy, keyed by the flat index r*T + j = bh*T*T + t*T + j as on the CPU.
__global__ void causal_softmax(float* att, float* pd, int64_t rows, int T, float p,
                               float keep_scale, uint64_t seed) {
  const int64_t r = blockIdx.x * int64_t(kRowsPerBlock) + threadIdx.x / 32;
  if (r >= rows) return;  // the whole warp leaves together
  const int lane = threadIdx.x % 32;
  const int t = int(r % T);
  float* a = att + r * T;
  float mx = -INFINITY;
  for (int j = lane; j <= t; j += 32) mx = fmaxf(mx, a[j]);
  mx = warp_max(mx);
  float sum = 0.0f;
  for (int j = lane; j <= t; j += 32) sum += expf(a[j] - mx);
  sum = warp_sum(sum);
  const float inv = 1.0f / sum;
  for (int j = lane; j < T; j += 32) {
    const float v = j <= t ? expf(a[j] - mx) * inv : 0.0f;
    a[j] = v;
    if (pd) pd[r * T + j] = hash_uniform(seed, uint64_t(r) * T + j) >= p ? v * keep_scale : 0.0f;
  }
}

// pd = att * keep * keep_scale over the flat [B,NH,T,T] array: the flat index is the CPU's key.
__global__ void dropout_att(float* pd, const float* att, int64_t n, float p, float keep_scale,
                            uint64_t seed) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x)
    pd[i] = hash_uniform(seed, uint64_t(i)) >= p ? att[i] * keep_scale : 0.0f;
}

// Softmax backward per row, as the CPU: g = dropout'(dPd), dS = P * (g - sum_j g P) * scale,
// zeros above the diagonal (so the dQ and dK GEMMs over all T keys see only the causal part).
__global__ void causal_softmax_bwd(float* ds, const float* att, int64_t rows, int T, float p,
                                   float keep_scale, uint64_t seed, float sc) {
  const int64_t r = blockIdx.x * int64_t(kRowsPerBlock) + threadIdx.x / 32;
  if (r >= rows) return;
  const int lane = threadIdx.x % 32;
  const int t = int(r % T);
  float* g = ds + r * T;
  const float* P = att + r * T;
  float dot = 0.0f;
  for (int j = lane; j <= t; j += 32) {
    float x = g[j];
    if (p > 0.0f) {
      x = hash_uniform(seed, uint64_t(r) * T + j) >= p ? x * keep_scale : 0.0f;
      g[j] = x;
    }
    dot += x * P[j];
  }
  dot = warp_sum(dot);
  // Each lane rereads only the entries it wrote above.
  for (int j = lane; j < T; j += 32) g[j] = j <= t ? P[j] * (g[j] - dot) * sc : 0.0f;
}

// Strided-batched row-major products over the B*NH heads, all matrices contiguous per head.
// S[T,T] = alpha * A[T,hd] B[T,hd]^T: column-major S^T = B A^T, B read as B^T (so op T), A read
// as A^T (op N).
void gemm_abt(float* S, const float* A, const float* Bm, int T, int hd, int batch, float alpha) {
  const float zero = 0.0f;
  GPT_CUBLAS_CHECK(cublasSgemmStridedBatched(
      cublas(), CUBLAS_OP_T, CUBLAS_OP_N, T, T, hd, &alpha, Bm, hd, int64_t(T) * hd, A, hd,
      int64_t(T) * hd, &zero, S, T, int64_t(T) * T, batch));
}
// Y[T,hd] = P[T,T] V[T,hd]: column-major Y^T = V^T P^T, both read as they lie (op N).
void gemm_pv(float* Y, const float* P, const float* V, int T, int hd, int batch) {
  const float one = 1.0f, zero = 0.0f;
  GPT_CUBLAS_CHECK(cublasSgemmStridedBatched(
      cublas(), CUBLAS_OP_N, CUBLAS_OP_N, hd, T, T, &one, V, hd, int64_t(T) * hd, P, T,
      int64_t(T) * T, &zero, Y, hd, int64_t(T) * hd, batch));
}
// Y[T,hd] = P[T,T]^T G[T,hd]: column-major Y^T = G^T P, G read as G^T (op N), P read as P^T
// (so op T).
void gemm_ptg(float* Y, const float* P, const float* G, int T, int hd, int batch) {
  const float one = 1.0f, zero = 0.0f;
  GPT_CUBLAS_CHECK(cublasSgemmStridedBatched(
      cublas(), CUBLAS_OP_N, CUBLAS_OP_T, hd, T, T, &one, G, hd, int64_t(T) * hd, P, T,
      int64_t(T) * T, &zero, Y, hd, int64_t(T) * hd, batch));
}

unsigned row_blocks(int64_t rows) { return unsigned((rows + kRowsPerBlock - 1) / kRowsPerBlock); }

}  // namespace

int64_t attention_workspace_floats(int B, int T, int C, int NH) {
  return Layout(B, T, C, NH).total;
}

void attention_forward(float* out, float* att, const float* qkv, int B, int T, int C, int NH,
                       float p, uint64_t seed, float* workspace) {
  if (B <= 0 || T <= 0 || C <= 0) return;
  check_heads("attention_forward", C, NH);
  const int hd = C / NH, batch = B * NH;
  const float sc = 1.0f / std::sqrt(float(hd));
  const Layout L(B, T, C, NH);
  float *Q = workspace + L.q, *K = workspace + L.k, *V = workspace + L.v;
  float* X = workspace + L.x;
  float* O = workspace + L.o;
  const int64_t C3 = 3 * int64_t(C);
  const unsigned gb = blocks_for(L.btc, 256);
  GPT_LAUNCH(split_heads, gb, 256, 0, 0, Q, qkv, C3, B, T, C, NH);
  GPT_CUDA_LAUNCHED();
  GPT_LAUNCH(split_heads, gb, 256, 0, 0, K, qkv + C, C3, B, T, C, NH);
  GPT_CUDA_LAUNCHED();
  GPT_LAUNCH(split_heads, gb, 256, 0, 0, V, qkv + 2 * C, C3, B, T, C, NH);
  GPT_CUDA_LAUNCHED();

  gemm_abt(att, Q, K, T, hd, batch, sc);  // att = sc * Q K^T, the whole square
  const int64_t rows = int64_t(batch) * T;
  const bool drop = p > 0.0f;
  const float keep_scale = 1.0f / (1.0f - p);  // as the CPU's dropout_tile
  GPT_LAUNCH(causal_softmax, row_blocks(rows), kRowThreads, 0, 0, att, drop ? X : nullptr, rows, T,
             p, keep_scale, seed);
  GPT_CUDA_LAUNCHED();
  gemm_pv(O, drop ? X : att, V, T, hd, batch);
  GPT_LAUNCH(merge_heads, gb, 256, 0, 0, out, C, O, B, T, C, NH);
  GPT_CUDA_LAUNCHED();
}

void attention_backward(float* dqkv, const float* dout, const float* qkv, const float* att, int B,
                        int T, int C, int NH, float p, uint64_t seed, float* workspace) {
  if (B <= 0 || T <= 0 || C <= 0) return;
  check_heads("attention_backward", C, NH);
  const int hd = C / NH, batch = B * NH;
  const float sc = 1.0f / std::sqrt(float(hd));
  const Layout L(B, T, C, NH);
  float *Q = workspace + L.q, *K = workspace + L.k, *V = workspace + L.v;
  float* X = workspace + L.x;
  float* dO = workspace + L.o;
  float *dQ = workspace + L.dq, *dK = workspace + L.dk, *dV = workspace + L.dv;
  const int64_t C3 = 3 * int64_t(C);
  const unsigned gb = blocks_for(L.btc, 256);
  GPT_LAUNCH(split_heads, gb, 256, 0, 0, Q, qkv, C3, B, T, C, NH);
  GPT_CUDA_LAUNCHED();
  GPT_LAUNCH(split_heads, gb, 256, 0, 0, K, qkv + C, C3, B, T, C, NH);
  GPT_CUDA_LAUNCHED();
  GPT_LAUNCH(split_heads, gb, 256, 0, 0, V, qkv + 2 * C, C3, B, T, C, NH);
  GPT_CUDA_LAUNCHED();
  GPT_LAUNCH(split_heads, gb, 256, 0, 0, dO, dout, C, B, T, C, NH);
  GPT_CUDA_LAUNCHED();

  const bool drop = p > 0.0f;
  const float keep_scale = drop ? 1.0f / (1.0f - p) : 1.0f;
  const float* Pd = att;
  if (drop) {
    GPT_LAUNCH(dropout_att, blocks_for(L.btt, 256), 256, 0, 0, X, att, L.btt, p, keep_scale, seed);
    GPT_CUDA_LAUNCHED();
    Pd = X;
  }
  gemm_ptg(dV, Pd, dO, T, hd, batch);  // dV = Pd^T dO; X is free again after this
  gemm_abt(X, dO, V, T, hd, batch, 1.0f);  // dPd = dO V^T
  const int64_t rows = int64_t(batch) * T;
  GPT_LAUNCH(causal_softmax_bwd, row_blocks(rows), kRowThreads, 0, 0, X, att, rows, T, p,
             keep_scale, seed, sc);
  GPT_CUDA_LAUNCHED();
  gemm_pv(dQ, X, K, T, hd, batch);   // dQ = dS K (the scale is inside dS)
  gemm_ptg(dK, X, Q, T, hd, batch);  // dK = dS^T Q

  GPT_LAUNCH(merge_heads, gb, 256, 0, 0, dqkv, C3, dQ, B, T, C, NH);
  GPT_CUDA_LAUNCHED();
  GPT_LAUNCH(merge_heads, gb, 256, 0, 0, dqkv + C, C3, dK, B, T, C, NH);
  GPT_CUDA_LAUNCHED();
  GPT_LAUNCH(merge_heads, gb, 256, 0, 0, dqkv + 2 * C, C3, dV, B, T, C, NH);
  GPT_CUDA_LAUNCHED();
}

// ---- decode over a KV cache ------------------------------------------------------------------

namespace {

constexpr int kKvThreads = 256;

// kcache/vcache[b, h, len + i, :] <- the k and v parts of new row (b, i).
__global__ void kv_append(float* kcache, float* vcache, const float* qkv, int B, int n, int C,
                          int NH, int cap, int len) {
  const int hd = C / NH;
  const int64_t total = int64_t(B) * n * C;
  const int64_t C3 = 3 * int64_t(C);
  for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < total;
       e += int64_t(gridDim.x) * blockDim.x) {
    const int64_t row = e / C;  // b * n + i
    const int c = int(e % C);
    const int64_t b = row / n, i = row % n;
    const int h = c / hd, d = c % hd;
    const int64_t dst = ((b * NH + h) * cap + len + i) * hd + d;
    kcache[dst] = qkv[row * C3 + C + c];
    vcache[dst] = qkv[row * C3 + 2 * C + c];
  }
}

// Block-wide reductions in a fixed order (device_util.cuh); red needs 32 floats.
__device__ __forceinline__ float block_max(float v, float* red) {
  return dev::block_reduce(v, dev::MaxOp(), -INFINITY, red);
}
__device__ __forceinline__ float block_sum(float v, float* red) {
  return dev::block_reduce(v, dev::SumOp(), 0.0f, red);
}

// One block per (b, h, i): new position i attends to cached keys [0, len + i]. S is this
// block's row of scores in the workspace ([B*NH*n, cap]). Dynamic shared memory: q (hd floats)
// then G partial sums of the output (G * hd floats), G = groups of keys summed side by side.
__global__ void kv_attend(float* out, const float* kcache, const float* vcache, const float* qkv,
                          float* scores, int n, int C, int NH, int cap, int len, int G, float sc) {
  GPT_DYNAMIC_SMEM(sm);
  __shared__ float red[32];
  const int hd = C / NH;
  const int64_t blk = blockIdx.x;  // (b * NH + h) * n + i
  const int i = int(blk % n);
  const int64_t bh = blk / n;
  const int64_t b = bh / NH;
  const int h = int(bh % NH);
  const int nk = len + i + 1;
  const int64_t C3 = 3 * int64_t(C);
  float* q = sm;
  float* part = sm + hd;
  float* S = scores + blk * cap;
  const float* K = kcache + bh * cap * hd;
  const float* V = vcache + bh * cap * hd;

  const float* qsrc = qkv + (b * n + i) * C3 + int64_t(h) * hd;
  for (int d = threadIdx.x; d < hd; d += blockDim.x) q[d] = qsrc[d];
  __syncthreads();

  // Scores, a warp per key.
  const int lane = threadIdx.x % 32, w = threadIdx.x / 32, nw = blockDim.x / 32;
  for (int j = w; j < nk; j += nw) {
    const float* kr = K + int64_t(j) * hd;
    float acc = 0.0f;
    for (int d = lane; d < hd; d += 32) acc += q[d] * kr[d];
    acc = warp_sum(acc);
    if (lane == 0) S[j] = sc * acc;
  }
  __syncthreads();  // block_max reads S written by other warps

  float mx = -INFINITY;
  for (int j = threadIdx.x; j < nk; j += blockDim.x) mx = fmaxf(mx, S[j]);
  mx = block_max(mx, red);
  float sum = 0.0f;
  for (int j = threadIdx.x; j < nk; j += blockDim.x) {
    const float e = expf(S[j] - mx);
    S[j] = e;
    sum += e;
  }
  sum = block_sum(sum, red);
  const float inv = 1.0f / sum;
  for (int j = threadIdx.x; j < nk; j += blockDim.x) S[j] *= inv;
  __syncthreads();

  // out[d] = sum_j P[j] V[j, d]: group g sums keys g, g + G, ... for every d, in order; the
  // groups are then added in group order, so the result is fixed for given shapes.
  for (int e = threadIdx.x; e < G * hd; e += blockDim.x) {
    const int g = e / hd, d = e % hd;
    float acc = 0.0f;
    for (int j = g; j < nk; j += G) acc += S[j] * V[int64_t(j) * hd + d];
    part[e] = acc;
  }
  __syncthreads();
  float* o = out + (b * n + i) * int64_t(C) + int64_t(h) * hd;
  for (int d = threadIdx.x; d < hd; d += blockDim.x) {
    float acc = 0.0f;
    for (int g = 0; g < G; ++g) acc += part[g * hd + d];
    o[d] = acc;
  }
}

}  // namespace

int64_t attention_kv_workspace_floats(int B, int n, int NH, int cap) {
  return int64_t(B) * NH * n * cap;
}

void attention_kv_forward(float* out, float* kcache, float* vcache, const float* qkv, int B, int n,
                          int C, int NH, int cap, int len, float* workspace) {
  if (B <= 0 || n <= 0 || C <= 0) return;
  check_heads("attention_kv_forward", C, NH);
  if (len < 0 || int64_t(len) + n > cap)
    raise_error("attention_kv_forward: " + std::to_string(n) + " new positions after " +
                std::to_string(len) + " do not fit a cache of " + std::to_string(cap));
  const int hd = C / NH;
  const float sc = 1.0f / std::sqrt(float(hd));
  GPT_LAUNCH(kv_append, blocks_for(int64_t(B) * n * C, 256), 256, 0, 0, kcache, vcache, qkv, B, n,
             C, NH, cap, len);
  GPT_CUDA_LAUNCHED();
  const int G = hd >= kKvThreads ? 1 : kKvThreads / hd;
  const size_t shmem = size_t(hd + G * hd) * sizeof(float);
  if (shmem > 48 * 1024)
    raise_error("attention_kv_forward: head size " + std::to_string(hd) + " is too large");
  const int64_t blocks = int64_t(B) * NH * n;
  GPT_LAUNCH(kv_attend, unsigned(blocks), kKvThreads, shmem, 0, out, kcache, vcache, qkv,
             workspace, n, C, NH, cap, len, G, sc);
  GPT_CUDA_LAUNCHED();
}

}  // namespace gpt::cuda
