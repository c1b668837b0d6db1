#include <cmath>

#include "core/profile.h"
#include "ops/ops.h"

namespace gpt::ops {

int64_t softmax_xent_forward(float* losses, const float* logits, const int32_t* targets, int64_t N,
                             int V) {
  GPT_PROF("xent_fwd");
  int64_t count = 0;
#pragma omp parallel for schedule(static) reduction(+ : count)
  for (int64_t n = 0; n < N; ++n) {
    int32_t y = targets[n];
    if (y < 0) { losses[n] = 0.0f; continue; }
    const float* row = logits + n * V;
    float mx = row[0];
    for (int v = 1; v < V; ++v) mx = row[v] > mx ? row[v] : mx;
    float sum = 0.0f;
    for (int v = 0; v < V; ++v) sum += std::exp(row[v] - mx);
    losses[n] = std::log(sum) + mx - row[y];
    ++count;
  }
  return count;
}

void softmax_xent_backward(float* dlogits, const float* logits, const int32_t* targets, int64_t N,
                           int V, float scale) {
  GPT_PROF("xent_bwd");
#pragma omp parallel for schedule(static)
  for (int64_t n = 0; n < N; ++n) {
    int32_t y = targets[n];
    float* d = dlogits + n * V;
    if (y < 0) {
      for (int v = 0; v < V; ++v) d[v] = 0.0f;
      continue;
    }
    const float* row = logits + n * V;
    float mx = row[0];
    for (int v = 1; v < V; ++v) mx = row[v] > mx ? row[v] : mx;
    float sum = 0.0f;
    for (int v = 0; v < V; ++v) { d[v] = std::exp(row[v] - mx); sum += d[v]; }
    float k = scale / sum;
    for (int v = 0; v < V; ++v) d[v] *= k;
    d[y] -= scale;
  }
}

}  // namespace gpt::ops
