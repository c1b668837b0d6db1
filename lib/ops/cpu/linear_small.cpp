// A few rows times a weight matrix, streaming the weights once. OpenBLAS's sgemm packs the
// whole weight matrix on every call, which for M = 2..8 rows costs several times the
// single-row matrix-vector product; here each weight is loaded once and used for all M rows,
// so verifying gamma + 1 speculative tokens costs about what decoding one token costs.
#include "ops/cpu/linear_small.h"

#include <omp.h>

#include <algorithm>

#include "core/error.h"

namespace gpt::ops {
namespace {

constexpr int kCols = 16;  // outputs per register block: M x 16 accumulators
constexpr int kRows = 8;   // weight rows per pass: 8 sequential streams the prefetcher follows

// W [IN,OUT]. y [M,OUT] stays in L1/L2 while W streams through once, 8 rows at a time; each
// 16-column block of y is loaded into registers, updated by those 8 rows for every x row,
// and stored back. (Walking a whole column block down all IN rows instead strides by OUT
// floats and leaves every load waiting on memory.) Threads split the columns.
template <int M>
void rows_in_out(float* y, const float* x, const float* W, int IN, int OUT, bool accumulate) {
  if (!accumulate) std::fill(y, y + int64_t(M) * OUT, 0.0f);
  const int blocks = (OUT + kCols - 1) / kCols;
#pragma omp parallel if (int64_t(IN) * OUT >= (int64_t(1) << 16))
  {
    const int nt = omp_get_num_threads(), t = omp_get_thread_num();
    const int b0 = int(int64_t(blocks) * t / nt), b1 = int(int64_t(blocks) * (t + 1) / nt);
    for (int i0 = 0; i0 < IN; i0 += kRows) {
      const int i1 = std::min(IN, i0 + kRows);
      for (int blk = b0; blk < b1; ++blk) {
        const int o0 = blk * kCols, w = std::min(kCols, OUT - o0);
        if (w == kCols) {
          float acc[M][kCols];
          for (int m = 0; m < M; ++m)
            for (int j = 0; j < kCols; ++j) acc[m][j] = y[int64_t(m) * OUT + o0 + j];
          // The next pass's rows for these columns: short rows give the hardware prefetcher
          // too little to lock on to, and every load here would otherwise wait on memory.
          for (int i = i1; i < std::min(IN, i1 + kRows); ++i) __builtin_prefetch(W + int64_t(i) * OUT + o0);
          for (int i = i0; i < i1; ++i) {
            const float* wr = W + int64_t(i) * OUT + o0;
            for (int m = 0; m < M; ++m) {
              const float xv = x[int64_t(m) * IN + i];
#pragma omp simd
              for (int j = 0; j < kCols; ++j) acc[m][j] += xv * wr[j];
            }
          }
          for (int m = 0; m < M; ++m)
            for (int j = 0; j < kCols; ++j) y[int64_t(m) * OUT + o0 + j] = acc[m][j];
        } else {
          for (int i = i0; i < i1; ++i)
            for (int m = 0; m < M; ++m)
              for (int j = 0; j < w; ++j)
                y[int64_t(m) * OUT + o0 + j] += x[int64_t(m) * IN + i] * W[int64_t(i) * OUT + o0 + j];
        }
      }
    }
  }
}

// W [OUT,IN] (a tied embedding as the LM head): one dot product per (row, output), each
// weight row loaded once for all M rows.
template <int M>
void rows_out_in(float* y, const float* x, const float* W, int IN, int OUT, bool accumulate) {
#pragma omp parallel for schedule(static) if (int64_t(IN) * OUT >= (int64_t(1) << 16))
  for (int o = 0; o < OUT; ++o) {
    const float* wr = W + int64_t(o) * IN;
    float acc[M];
    for (int m = 0; m < M; ++m) {
      float s = 0.0f;
      const float* xr = x + int64_t(m) * IN;
#pragma omp simd reduction(+ : s)
      for (int i = 0; i < IN; ++i) s += xr[i] * wr[i];
      acc[m] = s;
    }
    for (int m = 0; m < M; ++m) y[int64_t(m) * OUT + o] = (accumulate ? y[int64_t(m) * OUT + o] : 0.0f) + acc[m];
  }
}

template <int M>
void dispatch(float* y, const float* x, const float* W, int IN, int OUT, bool w_out_in, bool accumulate) {
  if (w_out_in) rows_out_in<M>(y, x, W, IN, OUT, accumulate);
  else rows_in_out<M>(y, x, W, IN, OUT, accumulate);
}

}  // namespace

void linear_small_rows(float* y, const float* x, const float* W, int M, int IN, int OUT, bool w_out_in,
                       bool accumulate) {
  switch (M) {
    case 2: dispatch<2>(y, x, W, IN, OUT, w_out_in, accumulate); break;
    case 3: dispatch<3>(y, x, W, IN, OUT, w_out_in, accumulate); break;
    case 4: dispatch<4>(y, x, W, IN, OUT, w_out_in, accumulate); break;
    case 5: dispatch<5>(y, x, W, IN, OUT, w_out_in, accumulate); break;
    case 6: dispatch<6>(y, x, W, IN, OUT, w_out_in, accumulate); break;
    case 7: dispatch<7>(y, x, W, IN, OUT, w_out_in, accumulate); break;
    case 8: dispatch<8>(y, x, W, IN, OUT, w_out_in, accumulate); break;
    default: fail("linear_small_rows: {} rows is outside [2, {}]", M, kSmallRowsMax);
  }
}

}  // namespace gpt::ops
