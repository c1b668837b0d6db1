// The model's short-conv mixer on the depthwise-conv op: the training paths call the
// optimised CPU conv1d in its BLC layout; the decode path is a few taps per new position.
#include <cstring>

#include "core/profile.h"
#include "ops/conv1d.h"
#include "ops/ops.h"

namespace gpt::ops {

void short_conv_forward(float* y, const float* x, const float* w, const float* bias, int B, int T,
                        int C, int K) {
  GPT_PROF("short_conv_fwd");
  conv1d::forward(conv1d::model_desc(B, T, C, K, bias != nullptr), conv1d::Impl::Cpu, y, x, w, bias);
}

void short_conv_backward(float* dx, float* dw, float* dbias, const float* dy, const float* x,
                         const float* w, const float* bias, int B, int T, int C, int K) {
  GPT_PROF("short_conv_bwd");
  conv1d::backward(conv1d::model_desc(B, T, C, K, dbias != nullptr), conv1d::Impl::Cpu, dx, dw, dbias,
                   dy, x, w, bias, nullptr, 0);
}

void short_conv_kv_forward(float* y, float* hist, const float* x, const float* w, const float* bias,
                           int B, int n, int C, int K, int cap, int len) {
  for (int b = 0; b < B; ++b)
    std::memcpy(hist + (int64_t(b) * cap + len) * C, x + int64_t(b) * n * C, size_t(n) * C * sizeof(float));
#pragma omp parallel for collapse(2) schedule(static) if (int64_t(B) * n * C > 16384)
  for (int b = 0; b < B; ++b)
    for (int i = 0; i < n; ++i) {
      float* out = y + (int64_t(b) * n + i) * C;
      for (int c = 0; c < C; ++c) out[c] = bias ? bias[c] : 0.0f;
      for (int k = 0; k < K; ++k) {
        const int t = len + i + k - (K - 1);
        if (t < 0) continue;
        const float* in = hist + (int64_t(b) * cap + t) * C;
        for (int c = 0; c < C; ++c) out[c] += w[int64_t(c) * K + k] * in[c];
      }
    }
}

}  // namespace gpt::ops
