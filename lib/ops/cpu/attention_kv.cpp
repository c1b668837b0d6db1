// Attention over a KV cache: the new queries of each (batch, head) against every cached key.
// One new position (decode) is two matrix-vector products; several (prefill, speculative
// verification) are two GEMMs with the causal mask applied inside the new block.
#include <cblas.h>
#include <omp.h>

#include <cmath>
#include <cstring>

#include "core/profile.h"
#include "ops/cpu/vec_math.h"
#include "ops/ops.h"

namespace gpt::ops {

int64_t attention_kv_scratch_floats(int n, int cap) {
  return int64_t(omp_get_max_threads()) * n * cap;
}

void attention_kv_forward(float* out, float* kcache, float* vcache, const float* qkv, int B, int n,
                          int C, int NH, int cap, int len, float* scratch) {
  GPT_PROF("attention_kv_fwd");
  const int hd = C / NH, T = len + n;
  const float sc = 1.0f / std::sqrt(float(hd));
  const int64_t C3 = 3 * int64_t(C);
#pragma omp parallel for schedule(dynamic, 1)
  for (int bh = 0; bh < B * NH; ++bh) {
    const int b = bh / NH, h = bh % NH;
    const float* Q = qkv + int64_t(b) * n * C3 + h * hd;
    float* K = kcache + int64_t(bh) * cap * hd;
    float* V = vcache + int64_t(bh) * cap * hd;
    for (int i = 0; i < n; ++i) {
      std::memcpy(K + int64_t(len + i) * hd, Q + i * C3 + C, size_t(hd) * sizeof(float));
      std::memcpy(V + int64_t(len + i) * hd, Q + i * C3 + 2 * C, size_t(hd) * sizeof(float));
    }
    float* S = scratch + int64_t(omp_get_thread_num()) * n * cap;  // [n, T]
    float* O = out + int64_t(b) * n * C + h * hd;
    if (n == 1) {
      cblas_sgemv(CblasRowMajor, CblasNoTrans, T, hd, sc, K, hd, Q, 1, 0.0f, S, 1);
      softmax_inplace(S, T);
      cblas_sgemv(CblasRowMajor, CblasTrans, T, hd, 1.0f, V, hd, S, 1, 0.0f, O, 1);
      continue;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, T, hd, sc, Q, int(C3), K, hd, 0.0f, S, T);
    for (int i = 0; i < n; ++i) {
      float* row = S + int64_t(i) * T;
      softmax_inplace(row, len + i + 1);
      for (int j = len + i + 1; j < T; ++j) row[j] = 0.0f;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, hd, T, 1.0f, S, T, V, hd, 0.0f, O, C);
  }
}

}  // namespace gpt::ops
