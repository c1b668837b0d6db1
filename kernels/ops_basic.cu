// Elementwise ops, the two reductions and AdamW: the arithmetic of lib/ops/cpu/activation.cpp and
// elementwise.cpp, statement for statement, so fp32 results agree with the CPU to rounding.
// Pointers that ops.h lets alias (dx/dy, y/a, y/x) are deliberately not __restrict__.
#include <cmath>

#include "cuda_common.h"
#include "device_util.cuh"
#include "ops_cuda.h"

namespace gpt::cuda {
namespace {

constexpr int kThreads = 256;

constexpr float kSqrt2OverPi = 0.7978845608028654f;
constexpr float kInvSqrt2 = 0.7071067811865476f;
constexpr float kInvSqrt2Pi = 0.3989422804014327f;

template <Activation A>
__device__ __forceinline__ float act(float v) {
  if constexpr (A == Activation::GeluTanh)
    return 0.5f * v * (1.0f + tanhf(kSqrt2OverPi * (v + 0.044715f * v * v * v)));
  else if constexpr (A == Activation::Gelu)
    return 0.5f * v * (1.0f + erff(v * kInvSqrt2));
  else if constexpr (A == Activation::Tanh)
    return tanhf(v);
  else
    return v > 0.0f ? v : 0.0f;
}

template <Activation A>
__device__ __forceinline__ float act_grad(float v) {
  if constexpr (A == Activation::GeluTanh) {
    float u = kSqrt2OverPi * (v + 0.044715f * v * v * v);
    float t = tanhf(u);
    float du = kSqrt2OverPi * (1.0f + 3.0f * 0.044715f * v * v);
    return 0.5f * (1.0f + t) + 0.5f * v * (1.0f - t * t) * du;
  } else if constexpr (A == Activation::Gelu) {
    return 0.5f * (1.0f + erff(v * kInvSqrt2)) + v * kInvSqrt2Pi * expf(-0.5f * v * v);
  } else if constexpr (A == Activation::Tanh) {
    float t = tanhf(v);
    return 1.0f - t * t;
  } else {
    return v > 0.0f ? 1.0f : 0.0f;
  }
}

template <Activation A>
__global__ void act_fwd_kernel(float* y, const float* x, int64_t n) {
  GPT_GRID_STRIDE(i, n) y[i] = act<A>(x[i]);
}

template <Activation A>
__global__ void act_bwd_kernel(float* dx, const float* dy, const float* x, int64_t n) {
  GPT_GRID_STRIDE(i, n) dx[i] = dy[i] * act_grad<A>(x[i]);
}

template <Activation A>
void launch_act_fwd(float* y, const float* x, int64_t n) {
  GPT_LAUNCH(act_fwd_kernel<A>, blocks_for(n, kThreads), kThreads, 0, 0, y, x, n);
  GPT_CUDA_LAUNCHED();
}
template <Activation A>
void launch_act_bwd(float* dx, const float* dy, const float* x, int64_t n) {
  GPT_LAUNCH(act_bwd_kernel<A>, blocks_for(n, kThreads), kThreads, 0, 0, dx, dy, x, n);
  GPT_CUDA_LAUNCHED();
}

__global__ void dropout_kernel(float* y, const float* x, int64_t n, float p, float s,
                               uint64_t seed) {
  GPT_GRID_STRIDE(i, n) y[i] = dev::hash_uniform(seed, uint64_t(i)) >= p ? x[i] * s : 0.0f;
}

__global__ void add_kernel(float* y, const float* a, const float* b, int64_t n) {
  GPT_GRID_STRIDE(i, n) y[i] = a[i] + b[i];
}

__global__ void scale_kernel(float* x, int64_t n, float s) {
  GPT_GRID_STRIDE(i, n) x[i] *= s;
}

// A fixed grid, not one sized to the device, so the partial sums and hence the bits of the
// norm are the same on every GPU.
constexpr int kNormBlocks = 256;
constexpr int kNormThreads = 256;
__device__ double g_norm_partial[kNormBlocks];

__global__ void sumsq_kernel(const float* g, int64_t n) {
  __shared__ double sh[32];
  double s = 0.0;
  GPT_GRID_STRIDE(i, n) s += double(g[i]) * g[i];
  s = dev::block_reduce(s, dev::SumOp{}, 0.0, sh);
  if (threadIdx.x == 0) g_norm_partial[blockIdx.x] = s;
}

constexpr int kSumThreads = 1024;
__global__ void sum_kernel(float* out, const float* v, int64_t n) {
  __shared__ double sh[32];
  double s = 0.0;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) s += v[i];
  s = dev::block_reduce(s, dev::SumOp{}, 0.0, sh);
  if (threadIdx.x == 0) *out = float(s);
}

__global__ void adamw_kernel(float* p, const float* g, float* m, float* v, int64_t n, float b1,
                             float b2, float eps, float step_size, float bc2_sqrt, float shrink) {
  GPT_GRID_STRIDE(i, n) {
    float gi = g[i];
    float mi = b1 * m[i] + (1.0f - b1) * gi;
    float vi = b2 * v[i] + (1.0f - b2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    p[i] = p[i] * shrink - step_size * mi / (sqrtf(vi) / bc2_sqrt + eps);
  }
}

}  // namespace

void activation_forward(float* y, const float* x, int64_t n, Activation a) {
  if (n <= 0) return;
  switch (a) {
    case Activation::GeluTanh: launch_act_fwd<Activation::GeluTanh>(y, x, n); return;
    case Activation::Gelu: launch_act_fwd<Activation::Gelu>(y, x, n); return;
    case Activation::Tanh: launch_act_fwd<Activation::Tanh>(y, x, n); return;
    case Activation::Relu: launch_act_fwd<Activation::Relu>(y, x, n); return;
  }
  raise_error("activation_forward: unknown activation");
}

void activation_backward(float* dx, const float* dy, const float* x, int64_t n, Activation a) {
  if (n <= 0) return;
  switch (a) {
    case Activation::GeluTanh: launch_act_bwd<Activation::GeluTanh>(dx, dy, x, n); return;
    case Activation::Gelu: launch_act_bwd<Activation::Gelu>(dx, dy, x, n); return;
    case Activation::Tanh: launch_act_bwd<Activation::Tanh>(dx, dy, x, n); return;
    case Activation::Relu: launch_act_bwd<Activation::Relu>(dx, dy, x, n); return;
  }
  raise_error("activation_backward: unknown activation");
}

void dropout(float* y, const float* x, int64_t n, float p, uint64_t seed) {
  if (n <= 0) return;
  if (p <= 0.0f) {
    if (y != x) copy(y, x, size_t(n) * sizeof(float));
    return;
  }
  const float s = 1.0f / (1.0f - p);  // computed here as on the CPU, so x * s has the same bits
  GPT_LAUNCH(dropout_kernel, blocks_for(n, kThreads), kThreads, 0, 0, y, x, n, p, s, seed);
  GPT_CUDA_LAUNCHED();
}

void add(float* y, const float* a, const float* b, int64_t n) {
  if (n <= 0) return;
  GPT_LAUNCH(add_kernel, blocks_for(n, kThreads), kThreads, 0, 0, y, a, b, n);
  GPT_CUDA_LAUNCHED();
}

void scale(float* x, int64_t n, float s) {
  if (n <= 0) return;
  GPT_LAUNCH(scale_kernel, blocks_for(n, kThreads), kThreads, 0, 0, x, n, s);
  GPT_CUDA_LAUNCHED();
}

double l2_norm(const float* g, int64_t n) {
  if (n <= 0) return 0.0;
  GPT_LAUNCH(sumsq_kernel, kNormBlocks, kNormThreads, 0, 0, g, n);
  GPT_CUDA_LAUNCHED();
  double part[kNormBlocks];
  // Synchronous on the default stream: waits for the kernel, and reports its faults.
  GPT_CUDA_CHECK(cudaMemcpyFromSymbol(part, g_norm_partial, sizeof(part)));
  double total = 0.0;
  for (double s : part) total += s;
  return std::sqrt(total);
}

void sum(float* out, const float* v, int64_t n) {
  GPT_LAUNCH(sum_kernel, 1, kSumThreads, 0, 0, out, v, n < 0 ? 0 : n);
  GPT_CUDA_LAUNCHED();
}

void adamw_step(float* p, const float* g, float* m, float* v, int64_t n, const ops::AdamWParams& h,
                int64_t step, bool decay) {
  if (n <= 0) return;
  // Host scalars in float exactly as ops::adamw_step computes them.
  const float bc1 = 1.0f - std::pow(h.beta1, float(step));
  const float bc2_sqrt = std::sqrt(1.0f - std::pow(h.beta2, float(step)));
  const float step_size = h.lr / bc1;
  const float shrink = decay ? 1.0f - h.lr * h.weight_decay : 1.0f;
  GPT_LAUNCH(adamw_kernel, blocks_for(n, kThreads), kThreads, 0, 0, p, g, m, v, n, h.beta1,
             h.beta2, h.eps, step_size, bc2_sqrt, shrink);
  GPT_CUDA_LAUNCHED();
}

}  // namespace gpt::cuda
