// The reference depthwise conv1d: the definition written as plain loops with double sums.
// Every other implementation is checked against this one, so it favours obviousness over speed
// (OpenMP over channels only so that checking large benchmark shapes stays affordable).
#include <algorithm>
#include <cmath>
#include <vector>

#include "core/half.h"
#include "ops/conv1d.h"

namespace gpt::conv1d::detail {
namespace {

struct View {
  const Desc& d;
  int64_t index(int64_t b, int64_t c, int64_t l) const {
    return d.layout == Layout::BCL ? (b * d.C + c) * d.L + l : (b * d.L + l) * d.C + c;
  }
  void decode(int64_t i, int64_t& b, int64_t& c, int64_t& l) const {
    if (d.layout == Layout::BCL) {
      l = i % d.L; c = (i / d.L) % d.C; b = i / (d.L * d.C);
    } else {
      c = i % d.C; l = (i / d.C) % d.L; b = i / (d.C * d.L);
    }
  }
};

double load(const void* p, DType t, int64_t i) {
  switch (t) {
    case DType::F32: return static_cast<const float*>(p)[i];
    case DType::BF16: return bf16_to_f32(static_cast<const uint16_t*>(p)[i]);
    case DType::F16: return f16_to_f32(static_cast<const uint16_t*>(p)[i]);
  }
  return 0;
}

void store(void* p, DType t, int64_t i, double v) {
  float f = float(v);
  switch (t) {
    case DType::F32: static_cast<float*>(p)[i] = f; break;
    case DType::BF16: static_cast<uint16_t*>(p)[i] = f32_to_bf16(f); break;
    case DType::F16: static_cast<uint16_t*>(p)[i] = f32_to_f16(f); break;
  }
}

double sigmoid(double v) { return 1.0 / (1.0 + std::exp(-v)); }

// Pre-activation at (b, c, l): bias + sum_k w[c,k] x[b,c,l+k-pad].
double pre_act(const Desc& d, const View& v, const void* x, const float* w, const float* bias,
               int64_t b, int64_t c, int64_t l) {
  int pad = pad_left(d);
  double acc = d.bias ? bias[c] : 0.0;
  for (int k = 0; k < d.K; ++k) {
    int64_t src = l + k - pad;
    if (src >= 0 && src < d.L) acc += double(w[c * d.K + k]) * load(x, d.dtype, v.index(b, c, src));
  }
  return acc;
}

}  // namespace

void ref_forward(const Desc& d, void* y, const void* x, const float* w, const float* bias,
                 DType out_dtype) {
  View v{d};
  const int64_t n = numel(d);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    int64_t b, c, l;
    v.decode(i, b, c, l);
    double a = pre_act(d, v, x, w, bias, b, c, l);
    if (d.silu) a *= sigmoid(a);
    store(y, out_dtype, i, a);
  }
}

// y[l] gets w[k] x[l+k-pad], so with g = dL/d(pre-activation):
//   dx[j] = sum_k w[k] g[j-k+pad],  dw[k] = sum_{b,l} g[l] x[l+k-pad],  dbias = sum_{b,l} g[l].
void ref_backward(const Desc& d, void* dx, float* dw, float* dbias, const void* dy, const void* x,
                  const float* w, const float* bias, DType out_dtype) {
  View v{d};
  const int pad = pad_left(d);
  const int64_t n = numel(d);
  std::vector<double> g(static_cast<size_t>(n));
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    double gy = load(dy, d.dtype, i);
    if (d.silu) {
      int64_t b, c, l;
      v.decode(i, b, c, l);
      double a = pre_act(d, v, x, w, bias, b, c, l);
      double s = sigmoid(a);
      gy *= s * (1.0 + a * (1.0 - s));
    }
    g[size_t(i)] = gy;
  }
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    int64_t b, c, j;
    v.decode(i, b, c, j);
    double acc = 0;
    for (int k = 0; k < d.K; ++k) {
      int64_t l = j - k + pad;
      if (l >= 0 && l < d.L) acc += double(w[c * d.K + k]) * g[size_t(v.index(b, c, l))];
    }
    store(dx, out_dtype, i, acc);
  }
  // Channels in blocks so that BLC rows are read contiguously; each channel sums in (b, l) order.
  const int64_t CB = d.layout == Layout::BCL ? 1 : 64;
#pragma omp parallel for schedule(static)
  for (int64_t c0 = 0; c0 < d.C; c0 += CB) {
    int64_t cn = std::min(CB, d.C - c0);
    std::vector<double> acc(static_cast<size_t>(cn * (d.K + 1)), 0.0);
    for (int64_t b = 0; b < d.B; ++b)
      for (int64_t l = 0; l < d.L; ++l)
        for (int64_t j = 0; j < cn; ++j) {
          int64_t c = c0 + j;
          double gl = g[size_t(v.index(b, c, l))];
          double* a = &acc[size_t(j * (d.K + 1))];
          for (int k = 0; k < d.K; ++k) {
            int64_t src = l + k - pad;
            if (src >= 0 && src < d.L) a[k] += gl * load(x, d.dtype, v.index(b, c, src));
          }
          a[d.K] += gl;
        }
    for (int64_t j = 0; j < cn; ++j) {
      for (int k = 0; k < d.K; ++k) dw[(c0 + j) * d.K + k] = float(acc[size_t(j * (d.K + 1) + k)]);
      if (d.bias) dbias[c0 + j] = float(acc[size_t(j * (d.K + 1) + d.K)]);
    }
  }
}

}  // namespace gpt::conv1d::detail
