// Causal attention as batched GEMMs per (batch, head), parallel over the pairs. Rows are
// processed in blocks of kBlk so that the work above the diagonal is mostly skipped: a row
// block [r0, r1) only needs keys [0, r1). Inside the parallel region OpenBLAS runs
// single-threaded, so there is one level of parallelism.
#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <cmath>

#include "core/rng.h"
#include "core/profile.h"
#include "ops/cpu/vec_math.h"
#include "ops/ops.h"

namespace gpt::ops {
namespace {

constexpr int kBlk = 64;

// Pd = P * keep / (1 - p) for the whole T x T tile (P is zero above the diagonal).
void dropout_tile(float* pd, const float* P, int T, float p, uint64_t seed, uint64_t base) {
  float s = 1.0f / (1.0f - p);
  for (int64_t i = 0; i < int64_t(T) * T; ++i)
    pd[i] = hash_uniform(seed, base + uint64_t(i)) >= p ? P[i] * s : 0.0f;
}

}  // namespace

int64_t attention_scratch_floats(int T) { return int64_t(omp_get_max_threads()) * 2 * T * T; }

void attention_forward(float* out, float* att, const float* qkv, int B, int T, int C, int NH,
                       float p, uint64_t seed, float* scratch) {
  GPT_PROF("attention_fwd");
  const int hd = C / NH;
  const float sc = 1.0f / std::sqrt(float(hd));
  const int64_t C3 = 3 * int64_t(C);
#pragma omp parallel for schedule(dynamic, 1)
  for (int bh = 0; bh < B * NH; ++bh) {
    const int b = bh / NH, h = bh % NH;
    const float* Q = qkv + int64_t(b) * T * C3 + h * hd;
    const float* K = Q + C;
    const float* V = Q + 2 * C;
    float* P = att + int64_t(bh) * T * T;
    for (int r0 = 0; r0 < T; r0 += kBlk) {
      int r1 = std::min(T, r0 + kBlk);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, r1 - r0, r1, hd, sc, Q + r0 * C3,
                  int(C3), K, int(C3), 0.0f, P + int64_t(r0) * T, T);
    }
    for (int t = 0; t < T; ++t) {
      float* row = P + int64_t(t) * T;
      softmax_inplace(row, t + 1);
      for (int j = t + 1; j < T; ++j) row[j] = 0.0f;
    }
    const float* Pd = P;
    if (p > 0.0f) {
      float* tile = scratch + int64_t(omp_get_thread_num()) * 2 * T * T;
      dropout_tile(tile, P, T, p, seed, uint64_t(bh) * T * T);
      Pd = tile;
    }
    float* O = out + int64_t(b) * T * C + h * hd;
    for (int r0 = 0; r0 < T; r0 += kBlk) {
      int r1 = std::min(T, r0 + kBlk);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, r1 - r0, hd, r1, 1.0f,
                  Pd + int64_t(r0) * T, T, V, int(C3), 0.0f, O + int64_t(r0) * C, C);
    }
  }
}

void attention_backward(float* dqkv, const float* dout, const float* qkv, const float* att, int B,
                        int T, int C, int NH, float p, uint64_t seed, float* scratch) {
  GPT_PROF("attention_bwd");
  const int hd = C / NH;
  const float sc = 1.0f / std::sqrt(float(hd));
  const int64_t C3 = 3 * int64_t(C);
  const float keep_scale = p > 0.0f ? 1.0f / (1.0f - p) : 1.0f;
#pragma omp parallel for schedule(dynamic, 1)
  for (int bh = 0; bh < B * NH; ++bh) {
    const int b = bh / NH, h = bh % NH;
    const float* Q = qkv + int64_t(b) * T * C3 + h * hd;
    const float* K = Q + C;
    const float* V = Q + 2 * C;
    float* dQ = dqkv + int64_t(b) * T * C3 + h * hd;
    float* dK = dQ + C;
    float* dV = dQ + 2 * C;
    const float* dO = dout + int64_t(b) * T * C + h * hd;
    const float* P = att + int64_t(bh) * T * T;
    float* s0 = scratch + int64_t(omp_get_thread_num()) * 2 * T * T;
    float* dS = s0 + int64_t(T) * T;
    const uint64_t base = uint64_t(bh) * T * T;
    const float* Pd = P;
    if (p > 0.0f) {
      dropout_tile(s0, P, T, p, seed, base);
      Pd = s0;
    }
    // dV[j] = sum_{t>=j} Pd[t,j] dO[t]
    for (int j0 = 0; j0 < T; j0 += kBlk) {
      int j1 = std::min(T, j0 + kBlk);
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, j1 - j0, hd, T - j0, 1.0f,
                  Pd + int64_t(j0) * T + j0, T, dO + int64_t(j0) * C, C, 0.0f, dV + j0 * C3, int(C3));
    }
    for (int r0 = 0; r0 < T; r0 += kBlk) {
      int r1 = std::min(T, r0 + kBlk);
      // dPd = dO V^T for keys [0, r1)
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, r1 - r0, r1, hd, 1.0f,
                  dO + int64_t(r0) * C, C, V, int(C3), 0.0f, dS + int64_t(r0) * T, T);
      for (int t = r0; t < r1; ++t) {
        float* g = dS + int64_t(t) * T;
        const float* pr = P + int64_t(t) * T;
        if (p > 0.0f)
          for (int j = 0; j <= t; ++j)
            g[j] = hash_uniform(seed, base + uint64_t(t) * T + j) >= p ? g[j] * keep_scale : 0.0f;
        float dot = 0.0f;
        for (int j = 0; j <= t; ++j) dot += g[j] * pr[j];
        for (int j = 0; j <= t; ++j) g[j] = pr[j] * (g[j] - dot) * sc;
        for (int j = t + 1; j < r1; ++j) g[j] = 0.0f;
      }
      // dQ[t] = sum_j dS[t,j] K[j]
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, r1 - r0, hd, r1, 1.0f,
                  dS + int64_t(r0) * T, T, K, int(C3), 0.0f, dQ + r0 * C3, int(C3));
    }
    // dK[j] = sum_{t>=j} dS[t,j] Q[t]
    for (int j0 = 0; j0 < T; j0 += kBlk) {
      int j1 = std::min(T, j0 + kBlk);
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, j1 - j0, hd, T - j0, 1.0f,
                  dS + int64_t(j0) * T + j0, T, Q + j0 * C3, int(C3), 0.0f, dK + j0 * C3, int(C3));
    }
  }
}

}  // namespace gpt::ops
