// The naive kernels of the kernel lab: one thread per output straight from the definition,
// every tap a global load. They are the GPU baseline the tiled and vec kernels are judged
// against; dw here is one thread per (c, k) walking all of B*L, so it is slow by design.
#include <algorithm>

#include "conv1d_cuda.h"

namespace gpt::conv1d::cuda {
namespace {

template <bool BLC>
__device__ __forceinline__ int64_t at(const Shape& s, int64_t b, int64_t c, int64_t l) {
  return BLC ? (b * s.L + l) * s.C + c : (b * s.C + c) * s.L + l;
}

template <class T, bool BLC>
__device__ float pre_act(const Shape& s, const T* x, const float* w, const float* bias, int64_t b,
                         int64_t c, int64_t l) {
  float acc = s.bias ? bias[c] : 0.0f;
  for (int k = 0; k < s.K; ++k) {
    int64_t src = l + k - s.pad;
    if (src >= 0 && src < s.L) acc += w[c * s.K + k] * St<T>::to(x[at<BLC>(s, b, c, src)]);
  }
  return acc;
}

// dL/d(pre-activation) at (b, c, l); 0 outside [0, L).
template <class T, bool BLC>
__device__ float grad_pre(const Shape& s, const T* dy, const T* x, const float* w,
                          const float* bias, int64_t b, int64_t c, int64_t l) {
  if (l < 0 || l >= s.L) return 0.0f;
  float g = St<T>::to(dy[at<BLC>(s, b, c, l)]);
  if (s.silu) g *= silu_grad<T>(pre_act<T, BLC>(s, x, w, bias, b, c, l));
  return g;
}

template <bool BLC>
__device__ void decode(const Shape& s, int64_t i, int64_t& b, int64_t& c, int64_t& l) {
  if (BLC) {
    c = i % s.C; l = (i / s.C) % s.L; b = i / (s.C * s.L);
  } else {
    l = i % s.L; c = (i / s.L) % s.C; b = i / (s.L * s.C);
  }
}

template <class T, bool BLC>
__global__ void naive_fwd(Shape s, T* y, const T* x, const float* w, const float* bias) {
  const int64_t n = s.B * s.C * s.L;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    int64_t b, c, l;
    decode<BLC>(s, i, b, c, l);
    float a = pre_act<T, BLC>(s, x, w, bias, b, c, l);
    if (s.silu) a = silu<T>(a);
    y[i] = St<T>::from(a);
  }
}

template <class T, bool BLC>
__global__ void naive_dx(Shape s, T* dx, const T* dy, const T* x, const float* w,
                         const float* bias) {
  const int64_t n = s.B * s.C * s.L;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    int64_t b, c, j;
    decode<BLC>(s, i, b, c, j);
    float acc = 0.0f;
    for (int k = 0; k < s.K; ++k)
      acc += w[c * s.K + k] * grad_pre<T, BLC>(s, dy, x, w, bias, b, c, j - k + s.pad);
    dx[i] = St<T>::from(acc);
  }
}

// Thread t = c*(K+1) + k sums g * x over all (b, l); k == K is the bias. One thread adds all
// B*L terms in a row, which in fp32 drifts past 1e-5 of the result by ~64K terms (seen on an
// H100 at B*L = 65536), so this one serial sum is kept in double.
template <class T, bool BLC>
__global__ void naive_dw(Shape s, float* dw, float* dbias, const T* dy, const T* x,
                         const float* w, const float* bias) {
  const int64_t n = s.C * (s.K + 1);
  for (int64_t t = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; t < n;
       t += int64_t(gridDim.x) * blockDim.x) {
    const int64_t c = t / (s.K + 1);
    const int k = int(t % (s.K + 1));
    double acc = 0.0;
    for (int64_t b = 0; b < s.B; ++b)
      for (int64_t l = 0; l < s.L; ++l) {
        float g = grad_pre<T, BLC>(s, dy, x, w, bias, b, c, l);
        if (k == s.K) {
          acc += g;
        } else {
          int64_t src = l + k - s.pad;
          if (src >= 0 && src < s.L) acc += g * St<T>::to(x[at<BLC>(s, b, c, src)]);
        }
      }
    if (k < s.K)
      dw[c * s.K + k] = float(acc);
    else if (s.bias)
      dbias[c] = float(acc);
  }
}

int grid_for(int64_t n, int threads) { return int(std::min<int64_t>((n + threads - 1) / threads, 1 << 20)); }

template <class T>
void fwd_t(const Desc& d, void* y, const void* x, const float* w, const float* b, cudaStream_t st) {
  Shape s = shape_of(d);
  auto kern = d.layout == Layout::BLC ? &naive_fwd<T, true> : &naive_fwd<T, false>;
  GPT_LAUNCH(kern, grid_for(numel(d), 256), 256, 0, st, s, static_cast<T*>(y),
             static_cast<const T*>(x), w, b);
  check_launch("naive_fwd");
}

template <class T>
void bwd_t(const Desc& d, void* dx, float* dw, float* db, const void* dy, const void* x,
           const float* w, const float* b, cudaStream_t st) {
  Shape s = shape_of(d);
  auto* dxp = static_cast<T*>(dx);
  auto* dyp = static_cast<const T*>(dy);
  auto* xp = static_cast<const T*>(x);
  const bool blc = d.layout == Layout::BLC;
  auto kdx = blc ? &naive_dx<T, true> : &naive_dx<T, false>;
  GPT_LAUNCH(kdx, grid_for(numel(d), 256), 256, 0, st, s, dxp, dyp, xp, w, b);
  check_launch("naive_dx");
  auto kdw = blc ? &naive_dw<T, true> : &naive_dw<T, false>;
  GPT_LAUNCH(kdw, grid_for(d.C * (d.K + 1), 128), 128, 0, st, s, dw, db, dyp, xp, w, b);
  check_launch("naive_dw");
}

}  // namespace

void naive_forward(const Desc& d, void* y, const void* x, const float* w, const float* b,
                   cudaStream_t st) {
  switch (d.dtype) {
    case DType::F32: return fwd_t<float>(d, y, x, w, b, st);
    case DType::BF16: return fwd_t<__nv_bfloat16>(d, y, x, w, b, st);
    case DType::F16: return fwd_t<__half>(d, y, x, w, b, st);
  }
}

void naive_backward(const Desc& d, void* dx, float* dw, float* db, const void* dy, const void* x,
                    const float* w, const float* b, cudaStream_t st) {
  switch (d.dtype) {
    case DType::F32: return bwd_t<float>(d, dx, dw, db, dy, x, w, b, st);
    case DType::BF16: return bwd_t<__nv_bfloat16>(d, dx, dw, db, dy, x, w, b, st);
    case DType::F16: return bwd_t<__half>(d, dx, dw, db, dy, x, w, b, st);
  }
}

}  // namespace gpt::conv1d::cuda
