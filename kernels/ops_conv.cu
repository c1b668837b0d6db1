// The model's short-conv mixer on the GPU: training runs the depthwise-conv kernels of the
// conv1d issue in their BLC fp32 form (deterministic backward, as the engine promises); decode
// is one small kernel over the layer's input history.
#include "conv1d_cuda.h"
#include "cuda_common.h"
#include "device_util.cuh"
#include "ops_cuda.h"

namespace gpt::cuda {
namespace {

constexpr int kThreads = 256;

// y[b,i,c] for the n new positions, reading inputs len+i-(K-1) .. len+i from hist [B,cap,C].
__global__ void conv_kv_kernel(float* y, const float* hist, const float* w, const float* bias, int B,
                               int n, int C, int K, int cap, int len) {
  GPT_GRID_STRIDE(i, int64_t(B) * n * C) {
    const int c = int(i % C);
    const int64_t bi = i / C;
    const int b = int(bi / n), pos = len + int(bi % n);
    float acc = bias ? bias[c] : 0.0f;
    for (int k = 0; k < K; ++k) {
      const int t = pos + k - (K - 1);
      if (t >= 0) acc += w[int64_t(c) * K + k] * hist[(int64_t(b) * cap + t) * C + c];
    }
    y[i] = acc;
  }
}

}  // namespace

void short_conv_forward(float* y, const float* x, const float* w, const float* bias, int B, int T,
                        int C, int K) {
  conv1d::cuda::forward(conv1d::model_desc(B, T, C, K, bias != nullptr), conv1d::Impl::CudaVec, y, x, w,
                        bias, nullptr);
}

void short_conv_backward(float* dx, float* dw, float* dbias, const float* dy, const float* x,
                         const float* w, const float* bias, int B, int T, int C, int K) {
  const conv1d::Desc d = conv1d::model_desc(B, T, C, K, dbias != nullptr);
  conv1d::BackwardOptions opt;
  opt.deterministic = true;  // per-block partials reduced in a fixed order: no float atomics
  // The partials' size depends on (B, T); the buffer only grows, so steady training does not
  // allocate.
  static DeviceBuffer ws;
  const size_t need = conv1d::cuda::backward_workspace_bytes(d, conv1d::Impl::CudaVec, opt);
  if (ws.size() * sizeof(float) < need) ws.resize((need + sizeof(float) - 1) / sizeof(float));
  conv1d::cuda::backward(d, conv1d::Impl::CudaVec, dx, dw, dbias, dy, x, w, bias, ws.data(),
                         ws.size() * sizeof(float), opt, nullptr);
}

void short_conv_kv_forward(float* y, float* hist, const float* x, const float* w, const float* bias,
                           int B, int n, int C, int K, int cap, int len) {
  const size_t row = size_t(n) * C * sizeof(float);
  GPT_CUDA_CHECK(cudaMemcpy2DAsync(hist + int64_t(len) * C, size_t(cap) * C * sizeof(float), x, row, row,
                                   size_t(B), cudaMemcpyDeviceToDevice, nullptr));
  GPT_LAUNCH(conv_kv_kernel, blocks_for(int64_t(B) * n * C, kThreads), kThreads, 0, 0, y, hist, w,
             bias, B, n, C, K, cap, len);
  GPT_CUDA_LAUNCHED();
}

}  // namespace gpt::cuda
