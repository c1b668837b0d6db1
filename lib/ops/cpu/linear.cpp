#include <cblas.h>
#include <omp.h>

#include "core/profile.h"
#include "ops/cpu/linear_small.h"
#include "ops/ops.h"

namespace gpt::ops {

void linear_forward(float* y, const float* x, const float* W, const float* b, int64_t N, int IN,
                    int OUT, bool w_out_in) {
  GPT_PROF("linear_fwd");
  float beta = 0.0f;
  if (b) {
#pragma omp parallel for schedule(static)
    for (int64_t n = 0; n < N; ++n)
      for (int o = 0; o < OUT; ++o) y[n * OUT + o] = b[o];
    beta = 1.0f;
  }
  if (N == 1) {
    // One row (batch-1 decode) is a matrix-vector product: a GEMM with M = 1 does not stream
    // the weights at the memory bandwidth in the OpenBLAS we link.
    if (w_out_in)
      cblas_sgemv(CblasRowMajor, CblasNoTrans, OUT, IN, 1.0f, W, IN, x, 1, beta, y, 1);
    else
      cblas_sgemv(CblasRowMajor, CblasTrans, IN, OUT, 1.0f, W, OUT, x, 1, beta, y, 1);
    return;
  }
  if (N <= kSmallRowsMax) {
    linear_small_rows(y, x, W, int(N), IN, OUT, w_out_in, /*accumulate=*/b != nullptr);
    return;
  }
  auto rows = [&](int64_t n0, int64_t n1) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, w_out_in ? CblasTrans : CblasNoTrans, int(n1 - n0),
                OUT, IN, 1.0f, x + n0 * IN, IN, W, w_out_in ? IN : OUT, beta, y + n0 * OUT, OUT);
  };
  // OpenBLAS splits a training-sized GEMM (768 x 384 x 128) across two threads at ~57% of
  // the sgemm peak; one single-threaded GEMM per block of rows runs at ~80%. The blocks are
  // fixed by N and the thread count, so a run stays reproducible at a given thread count.
  int nt = omp_get_max_threads();
  if (nt > 1 && !omp_in_parallel() && N >= 64 * nt) {
    int64_t chunk = (N + nt - 1) / nt;
#pragma omp parallel for schedule(static) num_threads(nt)
    for (int t = 0; t < nt; ++t) {
      int64_t n0 = t * chunk, n1 = n0 + chunk < N ? n0 + chunk : N;
      if (n0 < n1) rows(n0, n1);
    }
    return;
  }
  rows(0, N);
}

void linear_backward(float* dx, float* dW, float* db, const float* dy, const float* x,
                     const float* W, int64_t N, int IN, int OUT, bool w_out_in) {
  GPT_PROF("linear_bwd");
  auto grad_x = [&] {  // dx[N,IN] = dy[N,OUT] @ W^T
    cblas_sgemm(CblasRowMajor, CblasNoTrans, w_out_in ? CblasNoTrans : CblasTrans, int(N), IN, OUT,
                1.0f, dy, OUT, W, w_out_in ? IN : OUT, 0.0f, dx, IN);
  };
  auto grad_w = [&] {
    if (w_out_in)  // dW[OUT,IN] += dy^T @ x
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, OUT, IN, int(N), 1.0f, dy, OUT, x, IN,
                  1.0f, dW, IN);
    else  // dW[IN,OUT] += x^T @ dy
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, IN, OUT, int(N), 1.0f, x, IN, dy, OUT,
                  1.0f, dW, OUT);
  };
  // The two products have the same FLOPs. With two threads, running them side by side
  // (each single-threaded: OpenBLAS does not nest inside a parallel region) avoids splitting
  // small GEMMs across threads, which costs more than it gains at these sizes.
  if (dx && omp_get_max_threads() == 2 && !omp_in_parallel()) {
#pragma omp parallel sections num_threads(2)
    {
#pragma omp section
      grad_x();
#pragma omp section
      grad_w();
    }
  } else {
    if (dx) grad_x();
    grad_w();
  }
  if (db) {
    // Column sums in fixed row order per column block: the same bits for any thread count.
#pragma omp parallel for schedule(static)
    for (int o0 = 0; o0 < OUT; o0 += 64) {
      int o1 = o0 + 64 < OUT ? o0 + 64 : OUT;
      float acc[64] = {0};
      for (int64_t n = 0; n < N; ++n) {
        const float* row = dy + n * OUT;
        for (int o = o0; o < o1; ++o) acc[o - o0] += row[o];
      }
      for (int o = o0; o < o1; ++o) db[o] += acc[o - o0];
    }
  }
}

}  // namespace gpt::ops
