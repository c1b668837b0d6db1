#include <algorithm>
#include <cmath>

#include "core/error.h"
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


int64_t xent_chunk_forward(float* losses, float* stats, const float* logits,
                           const int32_t* targets, int64_t N, int v0, int vc, int V) {
  GPT_PROF("xent_chunk_fwd");
  check(vc > 0 && v0 >= 0 && v0 + vc <= V, "xent_chunk_forward: columns [{}, {}) are not inside [0, {})",
        v0, v0 + vc, V);
  const bool first = v0 == 0, last = v0 + vc == V;
  int64_t count = 0;
#pragma omp parallel for schedule(static) reduction(+ : count)
  for (int64_t n = 0; n < N; ++n) {
    float* st = stats + 4 * n;
    if (first) { st[0] = -INFINITY; st[1] = 0.0f; st[2] = 0.0f; st[3] = -1.0f; }
    const float* row = logits + n * vc;
    int arg = 0;
    for (int v = 1; v < vc; ++v) arg = row[v] > row[arg] ? v : arg;
    const float cmax = row[arg];
    // Strictly greater: on a tie the earlier chunk keeps the argmax, as a max over the row would.
    const float mx = cmax > st[0] ? cmax : st[0];
    if (cmax > st[0]) st[3] = float(v0 + arg);
    float sum = 0.0f;
    for (int v = 0; v < vc; ++v) sum += std::exp(row[v] - mx);
    st[1] = (first ? 0.0f : st[1] * std::exp(st[0] - mx)) + sum;
    st[0] = mx;
    const int32_t y = targets ? targets[n] : -1;
    if (y >= v0 && y < v0 + vc) st[2] = row[y - v0];
    if (last && losses) {
      losses[n] = y < 0 ? 0.0f : std::log(st[1]) + st[0] - st[2];
      count += y >= 0;
    }
  }
  return last ? count : 0;
}

void xent_chunk_backward(float* dlogits, const float* logits, const float* stats,
                         const int32_t* targets, int64_t N, int v0, int vc, float scale) {
  GPT_PROF("xent_chunk_bwd");
#pragma omp parallel for schedule(static)
  for (int64_t n = 0; n < N; ++n) {
    const int32_t y = targets[n];
    float* d = dlogits + n * vc;
    if (y < 0) {
      for (int v = 0; v < vc; ++v) d[v] = 0.0f;
      continue;
    }
    const float* row = logits + n * vc;
    const float mx = stats[4 * n], k = scale / stats[4 * n + 1];
    for (int v = 0; v < vc; ++v) d[v] = std::exp(row[v] - mx) * k;
    if (y >= v0 && y < v0 + vc) d[y - v0] -= scale;
  }
}

void xent_chunk_argmax(int32_t* out, const float* stats, int64_t N) {
  for (int64_t n = 0; n < N; ++n) out[n] = int32_t(stats[4 * n + 3]);
}

void argmax_rows(int32_t* out, const float* logits, int64_t N, int V) {
  for (int64_t n = 0; n < N; ++n) {
    const float* row = logits + n * V;
    out[n] = int32_t(std::max_element(row, row + V) - row);
  }
}

}  // namespace gpt::ops
