// Optimised CPU backward. Per tile of outputs [l0, l0+n):
//   g  = dy * silu'(pre) on [l0-GL, l0+n+pad), GL = K-1-pad (pre recomputed from x, not saved)
//   dx = g correlated with the taps, i.e. a forward conv of g with the flipped taps
//   dw[k] += sum_t g[t] x[t+k-pad],  dbias += sum_t g[t]   (over the tile's own positions only)
// Each channel's dw/dbias is summed in (b, l) order by one thread, so results are bitwise the
// same for any thread count and need no workspace or atomics:
//   BCL: one task per channel (all batches), tile sums added into doubles.
//   BLC: channel blocks split across threads; each streams its block down L row by row, and
//        32-row fp32 sums are added into dw in row order.
#include <omp.h>

#include <algorithm>
#include <cstring>

#include "ops/conv1d.h"

namespace gpt::conv1d::detail {
namespace {

constexpr int64_t kTileL = 512;
constexpr int kRingRow = 4096;  // BLC: floats per ring (K rows x channel block)
constexpr int kFlushRows = 32;  // BLC: rows summed in fp32 before they are added into dw

// sums[k] += sum_t g[t] x[t+k] for k < K and sums[K] += sum_t g[t], in one pass over the tile
// with 8 lanes per tap (K+1 separate passes cost a quarter of the backward at K=4).
template <int KC>
void tap_sums_k(double* sums, const float* g, const float* x, int64_t n) {
  float acc[KC + 1][8] = {};
  int64_t t = 0;
  for (; t + 8 <= n; t += 8)
    for (int k = 0; k <= KC; ++k)
#pragma omp simd
      for (int j = 0; j < 8; ++j) acc[k][j] += g[t + j] * (k < KC ? x[t + j + k] : 1.0f);
  for (int k = 0; k <= KC; ++k) {
    float s = 0;
    for (int j = 0; j < 8; ++j) s += acc[k][j];
    for (int64_t u = t; u < n; ++u) s += g[u] * (k < KC ? x[u + k] : 1.0f);
    sums[k] += s;
  }
}

void tap_sums(double* sums, const float* g, const float* x, int K, int64_t n) {
  switch (K) {
    case 1: return tap_sums_k<1>(sums, g, x, n);
    case 2: return tap_sums_k<2>(sums, g, x, n);
    case 3: return tap_sums_k<3>(sums, g, x, n);
    case 4: return tap_sums_k<4>(sums, g, x, n);
    case 5: return tap_sums_k<5>(sums, g, x, n);
    case 6: return tap_sums_k<6>(sums, g, x, n);
    case 7: return tap_sums_k<7>(sums, g, x, n);
    case 8: return tap_sums_k<8>(sums, g, x, n);
    default: break;
  }
  for (int k = 0; k <= K; ++k) {
    float s = 0;
    if (k < K) {
#pragma omp simd reduction(+ : s)
      for (int64_t t = 0; t < n; ++t) s += g[t] * x[t + k];
    } else {
#pragma omp simd reduction(+ : s)
      for (int64_t t = 0; t < n; ++t) s += g[t];
    }
    sums[k] += s;
  }
}

void backward_bcl(const Desc& d, void* dx, float* dw, float* dbias, const void* dy, const void* x,
                  const float* w, const float* bias) {
  const int64_t s = int64_t(dtype_size(d.dtype));
  const int K = d.K, pad = pad_left(d), GL = K - 1 - pad;
  const bool stream = numel(d) * s >= kStreamBytes;
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < d.C; ++c) {
    alignas(64) float xb[kTileL + 2 * kMaxWidth];
    alignas(64) float gb[kTileL + kMaxWidth];
    alignas(64) float pre[kTileL + kMaxWidth];
    alignas(64) float acc[kTileL];
    float wf[kMaxWidth];
    const float* wc = w + c * K;
    for (int k = 0; k < K; ++k) wf[k] = wc[K - 1 - k];
    const float b0 = d.bias ? bias[c] : 0.0f;
    double dwc[kMaxWidth + 1] = {};  // [K] is dbias
    for (int64_t b = 0; b < d.B; ++b) {
      const int64_t row = (b * d.C + c) * d.L * s;
      const char* xr = static_cast<const char*>(x) + row;
      const char* dyr = static_cast<const char*>(dy) + row;
      char* dxr = static_cast<char*>(dx) + row;
      for (int64_t l0 = 0; l0 < d.L; l0 += kTileL) {
        const int64_t n = std::min(kTileL, d.L - l0);
        const int64_t ng = n + K - 1;
        load_window(gb, dyr, d.dtype, d.L, l0 - GL, ng);
        load_window(xb, xr, d.dtype, d.L, l0 - (K - 1), n + 2 * (K - 1));
        if (d.silu) {
          conv_lanes(pre, xb, wc, K, ng, b0);
          silu_grad(gb, gb, pre, ng);  // g is 0 outside [0, L) because dy was loaded as 0 there
        }
        conv_lanes(acc, gb, wf, K, n, 0.0f);
        if (stream)
          store_stream(d.dtype, acc, dxr + l0 * s, n);
        else
          from_f32(d.dtype, acc, dxr + l0 * s, n);
        tap_sums(dwc, gb + GL, xb + GL, K, n);
      }
    }
    for (int k = 0; k < K; ++k) dw[c * K + k] = float(dwc[k]);
    if (d.bias) dbias[c] = float(dwc[K]);
  }
  stream_fence();
}

// Streams down L with two rings of K rows (x for the pre-activation, g for dx) over a block of
// channels, so every row is read whole and once. Each thread owns a contiguous channel range.
void backward_blc(const Desc& d, void* dx, float* dw, float* dbias, const void* dy, const void* x,
                  const float* w, const float* bias) {
  const int64_t s = int64_t(dtype_size(d.dtype));
  const int K = d.K, pad = pad_left(d);
  const bool stream = numel(d) * s >= kStreamBytes;
#pragma omp parallel
  {
    const int64_t nth = omp_get_num_threads();
    // Channel blocks of whole cache lines, small enough for the rings to stay in L1/L2.
    const int64_t share = (d.C + nth - 1) / nth;
    const int cb = int(std::max<int64_t>(16, std::min<int64_t>(kRingRow / K, (share + 15) / 16 * 16)));
    const int64_t nblk = (d.C + cb - 1) / cb;
    alignas(64) float xr[kRingRow];
    alignas(64) float gr[kRingRow];
    alignas(64) float wt[kRingRow];
    alignas(64) float part[2 * kRingRow];  // (K+1) x cb
    alignas(64) float pre[kRingRow];
    alignas(64) float bb[kRingRow];
    const float* rows[kMaxWidth];
#pragma omp for schedule(static)
    for (int64_t blk = 0; blk < nblk; ++blk) {
      const int64_t c0 = blk * cb;
      const int cn = int(std::min<int64_t>(cb, d.C - c0));
      for (int k = 0; k < K; ++k)
        for (int j = 0; j < cn; ++j) wt[k * cb + j] = w[(c0 + j) * K + k];
      for (int j = 0; j < cn; ++j) bb[j] = d.bias ? bias[c0 + j] : 0.0f;
      std::memset(part, 0, sizeof(float) * size_t((K + 1) * cb));
      int since_flush = 0;
      auto flush = [&] {
        for (int j = 0; j < cn; ++j) {
          for (int k = 0; k < K; ++k) dw[(c0 + j) * K + k] += part[k * cb + j];
          if (d.bias) dbias[c0 + j] += part[K * cb + j];
        }
        std::memset(part, 0, sizeof(float) * size_t((K + 1) * cb));
        since_flush = 0;
      };
      for (int64_t c = c0; c < c0 + cn; ++c) {
        for (int k = 0; k < K; ++k) dw[c * K + k] = 0.0f;
        if (d.bias) dbias[c] = 0.0f;
      }
      auto slot = [&](int64_t r) { return int(((r % K) + K) % K) * cb; };  // ring slot of row r
      auto load = [&](float* dst, const void* src, int64_t b, int64_t r) {
        if (r < 0 || r >= d.L)
          std::memset(dst, 0, size_t(cn) * 4);
        else
          to_f32(d.dtype, static_cast<const char*>(src) + ((b * d.L + r) * d.C + c0) * s, dst, cn);
      };
      for (int64_t b = 0; b < d.B; ++b) {
        // g(p) is needed for p in [-GL, L + pad); x rows for pre(p) are p-pad .. p-pad+K-1.
        const int64_t p0 = -(K - 1 - pad);
        for (int i = 0; i < K - 1; ++i) load(xr + slot(p0 - pad + i), x, b, p0 - pad + i);
        for (int k = 0; k < K; ++k) std::memset(gr + k * cb, 0, size_t(cn) * 4);
        for (int64_t p = p0; p < d.L + pad; ++p) {
          load(xr + slot(p - pad + K - 1), x, b, p - pad + K - 1);
          for (int k = 0; k < K; ++k) rows[k] = xr + slot(p - pad + k);
          float* g = gr + slot(p);
          const bool own = p >= 0 && p < d.L;
          load(g, dy, b, p);
          if (own) {
            if (d.silu) {
              conv_rows(pre, rows, wt, bb, K, cn, cb);
              silu_grad(g, g, pre, cn);
            }
            for (int k = 0; k < K; ++k) {
              float* pk = part + k * cb;
              const float* xk = rows[k];
#pragma omp simd
              for (int j = 0; j < cn; ++j) pk[j] += g[j] * xk[j];
            }
            float* pb = part + K * cb;
#pragma omp simd
            for (int j = 0; j < cn; ++j) pb[j] += g[j];
            if (++since_flush == kFlushRows) flush();
          }
          const int64_t t = p - pad;  // dx[t] = sum_k w[k] g[t - k + pad]: g rows p-K+1 .. p
          if (t >= 0 && t < d.L) {
            for (int k = 0; k < K; ++k) rows[k] = gr + slot(p - k);
            conv_rows(pre, rows, wt, nullptr, K, cn, cb);
            char* dst = static_cast<char*>(dx) + ((b * d.L + t) * d.C + c0) * s;
            if (stream)
              store_stream(d.dtype, pre, dst, cn);
            else
              from_f32(d.dtype, pre, dst, cn);
          }
        }
      }
      if (since_flush) flush();
    }
    stream_fence();
  }
}

}  // namespace

void cpu_backward(const Desc& d, void* dx, float* dw, float* dbias, const void* dy, const void* x,
                  const float* w, const float* bias) {
  if (d.layout == Layout::BCL)
    backward_bcl(d, dx, dw, dbias, dy, x, w, bias);
  else
    backward_blc(d, dx, dw, dbias, dy, x, w, bias);
}

}  // namespace gpt::conv1d::detail
