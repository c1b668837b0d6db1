// Optimised CPU forward. The op is memory-bound (about K/4 FLOP per byte in fp32), so the aim
// is one streaming read of x and one write of y: each tile is converted once into an fp32
// buffer that stays in L1 while the K taps read it, then written back in the storage dtype.
//   BCL: one task per (b, c) row, tiles of 512 positions, SIMD over positions.
//   BLC: one task per (b, 64-row tile); a ring of the last K input rows (as wide as the
//        channels allow, up to 4096) slides down the tile, so x is read as whole contiguous
//        rows, each converted once; SIMD over channels.
// Tiles live on the stack: no allocation per call.
#include <algorithm>
#include <cstring>

#include "ops/conv1d.h"

namespace gpt::conv1d::detail {
namespace {

constexpr int64_t kTileL = 512;   // BCL positions per tile
constexpr int kTileR = 64;         // BLC rows per tile
constexpr int kRingFloats = 8192;  // BLC: K rows x channel block (32 KB, stays in L1/L2)
constexpr int kMaxBlockC = 4096;

template <int KC>
void conv_lanes_k(float* out, const float* in, const float* w, int64_t n, float b0) {
  float wr[KC];
  for (int k = 0; k < KC; ++k) wr[k] = w[k];
#pragma omp simd
  for (int64_t t = 0; t < n; ++t) {
    float a = b0;
    for (int k = 0; k < KC; ++k) a += wr[k] * in[t + k];
    out[t] = a;
  }
}

// One BLC output row from K ring rows: out[j] = b0[j] + sum_k wt[k*ld + j] rows[k][j].
template <int KC>
void conv_rows_k(float* out, const float* const* rows, const float* wt, const float* b0, int K,
                 int cn, int ld) {
  if constexpr (KC > 0) {
#pragma omp simd
    for (int j = 0; j < cn; ++j) {
      float a = b0 ? b0[j] : 0.0f;
      for (int k = 0; k < KC; ++k) a += wt[k * ld + j] * rows[k][j];
      out[j] = a;
    }
  } else {
#pragma omp simd
    for (int j = 0; j < cn; ++j) out[j] = b0 ? b0[j] : 0.0f;
    for (int k = 0; k < K; ++k) {
      const float* wk = wt + k * ld;
      const float* xk = rows[k];
#pragma omp simd
      for (int j = 0; j < cn; ++j) out[j] += wk[j] * xk[j];
    }
  }
}

// Row r of batch b, channels [c0, c0+cn) of a BLC tensor as floats; zeros outside [0, L).
void load_row(float* dst, const void* x, const Desc& d, int64_t b, int64_t r, int64_t c0, int cn) {
  if (r < 0 || r >= d.L) {
    std::memset(dst, 0, size_t(cn) * 4);
    return;
  }
  const int64_t s = int64_t(dtype_size(d.dtype));
  to_f32(d.dtype, static_cast<const char*>(x) + ((b * d.L + r) * d.C + c0) * s, dst, cn);
}

void forward_bcl(const Desc& d, void* y, const void* x, const float* w, const float* bias) {
  const int64_t s = int64_t(dtype_size(d.dtype));
  const int pad = pad_left(d);
  const int64_t rows = d.B * d.C;
  const bool stream = numel(d) * s >= kStreamBytes;
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t c = r % d.C;
    const char* xr = static_cast<const char*>(x) + r * d.L * s;
    char* yr = static_cast<char*>(y) + r * d.L * s;
    alignas(64) float xb[kTileL + kMaxWidth];
    alignas(64) float acc[kTileL];
    const float b0 = d.bias ? bias[c] : 0.0f;
    for (int64_t l0 = 0; l0 < d.L; l0 += kTileL) {
      const int64_t n = std::min(kTileL, d.L - l0);
      load_window(xb, xr, d.dtype, d.L, l0 - pad, n + d.K - 1);
      conv_lanes(acc, xb, w + c * d.K, d.K, n, b0);
      if (d.silu) silu_inplace(acc, n);
      if (stream)
        store_stream(d.dtype, acc, yr + l0 * s, n);
      else
        from_f32(d.dtype, acc, yr + l0 * s, n);
    }
  }
  stream_fence();
}

void forward_blc(const Desc& d, void* y, const void* x, const float* w, const float* bias) {
  const int64_t s = int64_t(dtype_size(d.dtype));
  const int pad = pad_left(d);
  const int K = d.K;
  // Widest channel block whose K-row ring fits in kRingFloats, in whole cache lines.
  const int cb = int(std::min<int64_t>({d.C, kMaxBlockC, std::max(16, kRingFloats / K / 16 * 16)}));
  const int64_t tiles = (d.L + kTileR - 1) / kTileR;
  const bool stream = numel(d) * s >= kStreamBytes;
#pragma omp parallel for schedule(static)
  for (int64_t task = 0; task < d.B * tiles; ++task) {
    const int64_t b = task / tiles;
    const int64_t l0 = (task % tiles) * kTileR;
    const int n = int(std::min<int64_t>(kTileR, d.L - l0));
    alignas(64) float ring[kRingFloats];
    alignas(64) float wt[kRingFloats];
    alignas(64) float bb[kMaxBlockC];
    alignas(64) float acc[kMaxBlockC];
    alignas(64) float zeros[kMaxBlockC];
    const float* rows[kMaxWidth];
    const bool direct = d.dtype == DType::F32;  // fp32 rows are read in place, no ring copy
    if (direct) std::memset(zeros, 0, sizeof zeros);
    for (int64_t c0 = 0; c0 < d.C; c0 += cb) {
      const int cn = int(std::min<int64_t>(cb, d.C - c0));
      for (int k = 0; k < K; ++k)
        for (int j = 0; j < cn; ++j) wt[k * cb + j] = w[(c0 + j) * K + k];
      for (int j = 0; j < cn; ++j) bb[j] = d.bias ? bias[c0 + j] : 0.0f;
      // Input row l0 - pad + i lives in ring slot i % K.
      auto row_at = [&](int i) -> const float* {
        const int64_t r = l0 - pad + i;
        if (!direct) return ring + (i % K) * cb;
        return (r < 0 || r >= d.L) ? zeros : static_cast<const float*>(x) + (b * d.L + r) * d.C + c0;
      };
      if (!direct)
        for (int i = 0; i < K - 1; ++i) load_row(ring + (i % K) * cb, x, d, b, l0 - pad + i, c0, cn);
      for (int t = 0; t < n; ++t) {
        const int i = t + K - 1;
        if (!direct) load_row(ring + (i % K) * cb, x, d, b, l0 - pad + i, c0, cn);
        for (int k = 0; k < K; ++k) rows[k] = row_at(t + k);
        conv_rows(acc, rows, wt, bb, K, cn, cb);
        if (d.silu) silu_inplace(acc, cn);
        char* dst = static_cast<char*>(y) + ((b * d.L + l0 + t) * d.C + c0) * s;
        if (stream)
          store_stream(d.dtype, acc, dst, cn);
        else
          from_f32(d.dtype, acc, dst, cn);
      }
    }
  }
  stream_fence();
}

}  // namespace

void conv_rows(float* out, const float* const* rows, const float* wt, const float* b0, int K,
               int cn, int ld) {
  switch (K) {
    case 1: return conv_rows_k<1>(out, rows, wt, b0, K, cn, ld);
    case 2: return conv_rows_k<2>(out, rows, wt, b0, K, cn, ld);
    case 3: return conv_rows_k<3>(out, rows, wt, b0, K, cn, ld);
    case 4: return conv_rows_k<4>(out, rows, wt, b0, K, cn, ld);
    case 5: return conv_rows_k<5>(out, rows, wt, b0, K, cn, ld);
    case 6: return conv_rows_k<6>(out, rows, wt, b0, K, cn, ld);
    case 7: return conv_rows_k<7>(out, rows, wt, b0, K, cn, ld);
    case 8: return conv_rows_k<8>(out, rows, wt, b0, K, cn, ld);
    default: return conv_rows_k<0>(out, rows, wt, b0, K, cn, ld);
  }
}

void conv_lanes(float* out, const float* in, const float* w, int K, int64_t n, float b0) {
  switch (K) {
    case 1: return conv_lanes_k<1>(out, in, w, n, b0);
    case 2: return conv_lanes_k<2>(out, in, w, n, b0);
    case 3: return conv_lanes_k<3>(out, in, w, n, b0);
    case 4: return conv_lanes_k<4>(out, in, w, n, b0);
    case 5: return conv_lanes_k<5>(out, in, w, n, b0);
    case 6: return conv_lanes_k<6>(out, in, w, n, b0);
    case 7: return conv_lanes_k<7>(out, in, w, n, b0);
    case 8: return conv_lanes_k<8>(out, in, w, n, b0);
    default: break;
  }
  // Same summation order as the unrolled paths (bias, then k ascending), so results do not
  // depend on which path ran.
#pragma omp simd
  for (int64_t t = 0; t < n; ++t) out[t] = b0;
  for (int k = 0; k < K; ++k) {
    const float wk = w[k];
    const float* xk = in + k;
#pragma omp simd
    for (int64_t t = 0; t < n; ++t) out[t] += wk * xk[t];
  }
}

void load_window(float* dst, const void* row, DType t, int64_t L, int64_t start, int64_t len) {
  const int64_t lo = std::max<int64_t>(start, 0);
  const int64_t hi = std::min<int64_t>(start + len, L);
  if (hi <= lo) {
    std::memset(dst, 0, size_t(len) * 4);
    return;
  }
  if (lo > start) std::memset(dst, 0, size_t(lo - start) * 4);
  to_f32(t, static_cast<const char*>(row) + lo * int64_t(dtype_size(t)), dst + (lo - start), hi - lo);
  if (start + len > hi) std::memset(dst + (hi - start), 0, size_t(start + len - hi) * 4);
}

void cpu_forward(const Desc& d, void* y, const void* x, const float* w, const float* bias) {
  if (d.layout == Layout::BCL)
    forward_bcl(d, y, x, w, bias);
  else
    forward_blc(d, y, x, w, bias);
}

}  // namespace gpt::conv1d::detail
