#include <cmath>

#include "core/profile.h"
#include "ops/ops.h"

namespace gpt::ops {
namespace {

constexpr float kSqrt2OverPi = 0.7978845608028654f;
constexpr float kInvSqrt2 = 0.7071067811865476f;
constexpr float kInvSqrt2Pi = 0.3989422804014327f;

template <class F>
void map(float* y, const float* x, int64_t n, F f) {
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) y[i] = f(x[i]);
}

template <class F>
void map2(float* dx, const float* dy, const float* x, int64_t n, F f) {
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * f(x[i]);
}

}  // namespace

void activation_forward(float* y, const float* x, int64_t n, Activation a) {
  GPT_PROF("activation_fwd");
  switch (a) {
    case Activation::GeluTanh:
      map(y, x, n, [](float v) {
        return 0.5f * v * (1.0f + std::tanh(kSqrt2OverPi * (v + 0.044715f * v * v * v)));
      });
      break;
    case Activation::Gelu:
      map(y, x, n, [](float v) { return 0.5f * v * (1.0f + std::erf(v * kInvSqrt2)); });
      break;
    case Activation::Tanh: map(y, x, n, [](float v) { return std::tanh(v); }); break;
    case Activation::Relu: map(y, x, n, [](float v) { return v > 0.0f ? v : 0.0f; }); break;
  }
}

void activation_backward(float* dx, const float* dy, const float* x, int64_t n, Activation a) {
  GPT_PROF("activation_bwd");
  switch (a) {
    case Activation::GeluTanh:
      map2(dx, dy, x, n, [](float v) {
        float u = kSqrt2OverPi * (v + 0.044715f * v * v * v);
        float t = std::tanh(u);
        float du = kSqrt2OverPi * (1.0f + 3.0f * 0.044715f * v * v);
        return 0.5f * (1.0f + t) + 0.5f * v * (1.0f - t * t) * du;
      });
      break;
    case Activation::Gelu:
      map2(dx, dy, x, n, [](float v) {
        return 0.5f * (1.0f + std::erf(v * kInvSqrt2)) + v * kInvSqrt2Pi * std::exp(-0.5f * v * v);
      });
      break;
    case Activation::Tanh:
      map2(dx, dy, x, n, [](float v) { float t = std::tanh(v); return 1.0f - t * t; });
      break;
    case Activation::Relu: map2(dx, dy, x, n, [](float v) { return v > 0.0f ? 1.0f : 0.0f; }); break;
  }
}

}  // namespace gpt::ops
