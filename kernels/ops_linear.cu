// Linear layers through cuBLAS. The tensors are row-major; cuBLAS is column-major, and a
// row-major [R,C] matrix read column-major is its transpose [C,R] with leading dimension C.
// So every row-major product Y = A @ B is issued as the column-major Y^T = B^T A^T, with no copy.
// TF32 is whatever the shared handle's math mode says (set_tf32); nothing here overrides it.
#include <climits>
#include <string>

#include "cuda_common.h"
#include "ops_cuda.h"

namespace gpt::cuda {
namespace {

__global__ void broadcast_rows(float* y, const float* b, int64_t N, int OUT) {
  const int64_t n = N * OUT;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x)
    y[i] = b[i % OUT];
}

constexpr int kSumCols = 32;  // one warp across adjacent columns: coalesced row reads
constexpr int kSumLanes = 16;  // row lanes per column

// db[o] += sum_n dy[n, o]. Each row lane sums rows lane, lane + kSumLanes, ... in order and the
// lanes are combined in lane order, so the result does not depend on scheduling (no atomics).
__global__ void column_sum_add(float* db, const float* dy, int64_t N, int OUT) {
  __shared__ float part[kSumLanes][kSumCols + 1];
  const int o = blockIdx.x * kSumCols + threadIdx.x;
  float acc = 0.0f;
  if (o < OUT)
    for (int64_t n = threadIdx.y; n < N; n += kSumLanes) acc += dy[n * OUT + o];
  part[threadIdx.y][threadIdx.x] = acc;
  __syncthreads();
  if (threadIdx.y == 0 && o < OUT) {
    float s = 0.0f;
    for (int l = 0; l < kSumLanes; ++l) s += part[l][threadIdx.x];
    db[o] += s;
  }
}

int rows_as_int(int64_t N) {
  if (N > INT_MAX) raise_error("linear: " + std::to_string(N) + " rows exceed cuBLAS's int range");
  return int(N);
}

}  // namespace

void linear_forward(float* y, const float* x, const float* W, const float* b, int64_t N, int IN,
                    int OUT, bool w_out_in) {
  if (N <= 0 || OUT <= 0) return;
  const int n = rows_as_int(N);
  float beta = 0.0f;
  if (b) {
    // Bias first and beta = 1, the same order of operations as the CPU op.
    GPT_LAUNCH(broadcast_rows, blocks_for(N * OUT, 256), 256, 0, 0, y, b, N, OUT);
    GPT_CUDA_LAUNCHED();
    beta = 1.0f;
  }
  if (IN <= 0) {
    if (!b) fill_zero(y, size_t(N) * OUT * sizeof(float));
    return;
  }
  const float one = 1.0f;
  // Y^T[OUT,N] = M[OUT,IN] X^T[IN,N], M[o,i] the weight from input i to output o.
  // [IN,OUT] row-major read column-major is already M (ld OUT); [OUT,IN] reads as M^T (ld IN).
  GPT_CUBLAS_CHECK(cublasSgemm(cublas(), w_out_in ? CUBLAS_OP_T : CUBLAS_OP_N, CUBLAS_OP_N, OUT, n,
                               IN, &one, W, w_out_in ? IN : OUT, x, IN, &beta, y, OUT));
}

void linear_backward(float* dx, float* dW, float* db, const float* dy, const float* x,
                     const float* W, int64_t N, int IN, int OUT, bool w_out_in) {
  if (N <= 0) return;  // dx has no rows; dW and db gain nothing
  const int n = rows_as_int(N);
  const float one = 1.0f, zero = 0.0f;
  if (dx && IN > 0) {
    if (OUT <= 0) {
      fill_zero(dx, size_t(N) * IN * sizeof(float));
    } else {
      // dx^T[IN,N] = M^T[IN,OUT] dy^T[OUT,N]. [IN,OUT] row-major reads as M, so transpose it;
      // [OUT,IN] row-major reads as M^T already.
      GPT_CUBLAS_CHECK(cublasSgemm(cublas(), w_out_in ? CUBLAS_OP_N : CUBLAS_OP_T, CUBLAS_OP_N, IN,
                                   n, OUT, &one, W, w_out_in ? IN : OUT, dy, OUT, &zero, dx, IN));
    }
  }
  if (IN > 0 && OUT > 0) {
    if (w_out_in)
      // dW[OUT,IN] += dy^T x; column-major that is dW^T[IN,OUT] += x^T[IN,N] dy[N,OUT], where
      // x reads as x^T (ld IN) and dy reads as dy^T (ld OUT), hence op T on dy.
      GPT_CUBLAS_CHECK(cublasSgemm(cublas(), CUBLAS_OP_N, CUBLAS_OP_T, IN, OUT, n, &one, x, IN, dy,
                                   OUT, &one, dW, IN));
    else
      // dW[IN,OUT] += x^T dy; column-major dW^T[OUT,IN] += dy^T[OUT,N] x[N,IN].
      GPT_CUBLAS_CHECK(cublasSgemm(cublas(), CUBLAS_OP_N, CUBLAS_OP_T, OUT, IN, n, &one, dy, OUT, x,
                                   IN, &one, dW, OUT));
  }
  if (db && OUT > 0) {
    dim3 block(kSumCols, kSumLanes);
    GPT_LAUNCH(column_sum_add, unsigned((OUT + kSumCols - 1) / kSumCols), block, 0, 0, db, dy, N,
               OUT);
    GPT_CUDA_LAUNCHED();
  }
}

}  // namespace gpt::cuda
