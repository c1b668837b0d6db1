#include <cmath>

#include "core/profile.h"
#include "ops/ops.h"

namespace gpt::ops {

void layernorm_forward(float* y, float* mean, float* rstd, const float* x, const float* w,
                       const float* b, int64_t N, int C, float eps) {
  GPT_PROF("layernorm_fwd");
#pragma omp parallel for schedule(static)
  for (int64_t n = 0; n < N; ++n) {
    const float* xr = x + n * C;
    float s = 0.0f;
    for (int c = 0; c < C; ++c) s += xr[c];
    float m = s / float(C);
    float v = 0.0f;
    for (int c = 0; c < C; ++c) { float d = xr[c] - m; v += d * d; }
    float r = 1.0f / std::sqrt(v / float(C) + eps);
    float* yr = y + n * C;
    if (b)
      for (int c = 0; c < C; ++c) yr[c] = (xr[c] - m) * r * w[c] + b[c];
    else
      for (int c = 0; c < C; ++c) yr[c] = (xr[c] - m) * r * w[c];
    mean[n] = m;
    rstd[n] = r;
  }
}

void layernorm_backward(float* dx, float* dw, float* db, const float* dy, const float* x,
                        const float* w, const float* mean, const float* rstd, int64_t N, int C) {
  GPT_PROF("layernorm_bwd");
#pragma omp parallel
  {
#pragma omp for schedule(static) nowait
    for (int64_t n = 0; n < N; ++n) {
      const float* dyr = dy + n * C;
      const float* xr = x + n * C;
      float m = mean[n], r = rstd[n];
      // dx = r * (g - mean(g) - xhat * mean(g * xhat)), with g = dy * w.
      float sg = 0.0f, sgx = 0.0f;
      for (int c = 0; c < C; ++c) {
        float g = dyr[c] * w[c];
        sg += g;
        sgx += g * (xr[c] - m) * r;
      }
      sg /= float(C);
      sgx /= float(C);
      float* dxr = dx + n * C;
      for (int c = 0; c < C; ++c) dxr[c] += r * (dyr[c] * w[c] - sg - (xr[c] - m) * r * sgx);
    }
    // Parameter grads: each thread owns a block of columns and sums rows in order.
#pragma omp for schedule(static)
    for (int c0 = 0; c0 < C; c0 += 32) {
      int c1 = c0 + 32 < C ? c0 + 32 : C;
      float aw[32] = {0}, ab[32] = {0};
      for (int64_t n = 0; n < N; ++n) {
        const float* dyr = dy + n * C;
        const float* xr = x + n * C;
        float m = mean[n], r = rstd[n];
        for (int c = c0; c < c1; ++c) {
          aw[c - c0] += dyr[c] * (xr[c] - m) * r;
          ab[c - c0] += dyr[c];
        }
      }
      for (int c = c0; c < c1; ++c) {
        dw[c] += aw[c - c0];
        if (db) db[c] += ab[c - c0];
      }
    }
  }
}

}  // namespace gpt::ops
