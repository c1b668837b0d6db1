#include <cmath>
#include <algorithm>
#include <vector>

#include "core/rng.h"
#include "core/profile.h"
#include "ops/ops.h"

namespace gpt::ops {

void dropout(float* y, const float* x, int64_t n, float p, uint64_t seed) {
  GPT_PROF("dropout");
  if (p <= 0.0f) {
    if (y != x)
#pragma omp parallel for simd schedule(static)
      for (int64_t i = 0; i < n; ++i) y[i] = x[i];
    return;
  }
  const float s = 1.0f / (1.0f - p);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) y[i] = hash_uniform(seed, uint64_t(i)) >= p ? x[i] * s : 0.0f;
}

void add(float* y, const float* a, const float* b, int64_t n) {
  GPT_PROF("residual_add");
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) y[i] = a[i] + b[i];
}

double l2_norm(const float* g, int64_t n) {
  GPT_PROF("grad_norm");
  // Fixed chunks summed in order: the same bits for any thread count.
  constexpr int64_t kChunk = 1 << 14;
  const int64_t nchunks = (n + kChunk - 1) / kChunk;
  double total = 0.0;
  std::vector<double> part(size_t(nchunks), 0.0);
#pragma omp parallel for schedule(static)
  for (int64_t k = 0; k < nchunks; ++k) {
    int64_t e = std::min(n, (k + 1) * kChunk);
    double s = 0.0;
#pragma omp simd reduction(+ : s)
    for (int64_t i = k * kChunk; i < e; ++i) s += double(g[i]) * g[i];
    part[size_t(k)] = s;
  }
  for (double s : part) total += s;
  return std::sqrt(total);
}

void scale(float* x, int64_t n, float s) {
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) x[i] *= s;
}

void adamw_step(float* p, const float* g, float* m, float* v, int64_t n, const AdamWParams& h,
                int64_t step, bool decay) {
  GPT_PROF("adamw");
  const float bc1 = 1.0f - std::pow(h.beta1, float(step));
  const float bc2_sqrt = std::sqrt(1.0f - std::pow(h.beta2, float(step)));
  const float step_size = h.lr / bc1;
  const float shrink = decay ? 1.0f - h.lr * h.weight_decay : 1.0f;
  const float b1 = h.beta1, b2 = h.beta2, eps = h.eps;
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    float gi = g[i];
    float mi = b1 * m[i] + (1.0f - b1) * gi;
    float vi = b2 * v[i] + (1.0f - b2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    p[i] = p[i] * shrink - step_size * mi / (std::sqrt(vi) / bc2_sqrt + eps);
  }
}

}  // namespace gpt::ops
