#include "core/profile.h"
#include "ops/ops.h"

namespace gpt::ops {

void embedding_forward(float* y, const int32_t* idx, const float* wte, const float* wpe, int B,
                       int T, int C, int pos0) {
  GPT_PROF("embedding_fwd");
#pragma omp parallel for schedule(static)
  for (int64_t bt = 0; bt < int64_t(B) * T; ++bt) {
    const float* te = wte + int64_t(idx[bt]) * C;
    const float* pe = wpe + int64_t(pos0 + bt % T) * C;
    float* yr = y + bt * C;
    for (int c = 0; c < C; ++c) yr[c] = te[c] + pe[c];
  }
}

void embedding_backward(float* dwte, float* dwpe, const float* dy, const int32_t* idx, int B,
                        int T, int C) {
  GPT_PROF("embedding_bwd");
  // Threads own column blocks, and rows are summed in (b, t) order: no races, no atomics, and
  // the same bits for any thread count even when tokens repeat.
#pragma omp parallel for schedule(static)
  for (int c0 = 0; c0 < C; c0 += 16) {
    int c1 = c0 + 16 < C ? c0 + 16 : C;
    for (int b = 0; b < B; ++b)
      for (int t = 0; t < T; ++t) {
        const float* g = dy + (int64_t(b) * T + t) * C;
        float* te = dwte + int64_t(idx[b * T + t]) * C;
        float* pe = dwpe + int64_t(t) * C;
        for (int c = c0; c < c1; ++c) {
          te[c] += g[c];
          pe[c] += g[c];
        }
      }
  }
}

}  // namespace gpt::ops
