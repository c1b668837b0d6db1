// Linear layers through cuBLAS. The tensors are row-major; cuBLAS is column-major, and a
// row-major [R,C] matrix read column-major is its transpose [C,R] with leading dimension C.
// So every row-major product Y = A @ B is issued as the column-major Y^T = B^T A^T, with no copy.
// TF32 is whatever the shared handle's math mode says (set_tf32); nothing here overrides it.
//
// bf16 matmuls (set_bf16_matmuls): each product's two operands are rounded to bf16 (nearest
// even) into a scratch buffer and multiplied by cublasGemmEx with fp32 accumulation and an fp32
// result (autocast's bf16 matmul, whose result would be bf16); every tensor kept stays fp32.
#include <array>
#include <climits>
#include <cstdint>
#include <string>
#include <utility>

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

bool g_bf16 = false;

// Round to nearest even, NaN kept a NaN: lib/core/half.h's f32_to_bf16, on the device.
__global__ void round_to_bf16_kernel(uint16_t* dst, const float* src, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    const uint32_t u = __float_as_uint(src[i]);
    dst[i] = (u & 0x7fffffffu) > 0x7f800000u ? uint16_t((u >> 16) | 0x40)
                                             : uint16_t((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
  }
}

DeviceBuffer& bf16_scratch() {
  static DeviceBuffer* scratch = new DeviceBuffer();  // never freed: no teardown-order hazard
  return *scratch;
}

// A product's operand: the fp32 tensor, and with bf16 matmuls on its rounded copy.
struct Operand {
  const float* f;
  const uint16_t* h = nullptr;
};

// Rounds the given tensors (null ones skipped) to bf16 into the scratch buffer, which only
// grows and is kept for the process (every step needs it again), each copy 128-byte aligned.
// Once per linear call, so that backward's two products share dy's copy. Everything runs on
// the default stream, so the next call's rounding cannot overwrite a copy a GEMM still reads.
std::array<Operand, 3> operands(std::array<std::pair<const float*, int64_t>, 3> t) {
  std::array<Operand, 3> r{};
  int64_t at[3], total = 0;
  for (int i = 0; i < 3; ++i) {
    r[size_t(i)].f = t[size_t(i)].first;
    at[i] = total;
    if (g_bf16 && t[size_t(i)].first) total += (t[size_t(i)].second + 63) / 64 * 64;
  }
  if (total == 0) return r;
  DeviceBuffer& scratch = bf16_scratch();
  if (scratch.size() < size_t(total / 2)) {
    scratch = DeviceBuffer();
    scratch.resize(size_t(total / 2));
  }
  uint16_t* base = reinterpret_cast<uint16_t*>(scratch.data());
  for (int i = 0; i < 3; ++i) {
    const auto [src, n] = t[size_t(i)];
    if (!src) continue;
    round_to_bf16(base + at[i], src, n);
    r[size_t(i)].h = base + at[i];
  }
  return r;
}

// C[m,n] (column-major, fp32) = alpha op(A) op(B) + beta C: cublasSgemm on the fp32 tensors, or
// with bf16 copies cublasGemmEx on them with fp32 accumulation.
void gemm(cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k, float alpha, Operand A,
          int lda, Operand B, int ldb, float beta, float* C, int ldc) {
  if (!A.h) {
    GPT_CUBLAS_CHECK(cublasSgemm(cublas(), ta, tb, m, n, k, &alpha, A.f, lda, B.f, ldb, &beta, C, ldc));
    return;
  }
  GPT_CUBLAS_CHECK(cublasGemmEx(cublas(), ta, tb, m, n, k, &alpha, A.h, CUDA_R_16BF, lda, B.h,
                                CUDA_R_16BF, ldb, &beta, C, CUDA_R_32F, ldc, CUBLAS_COMPUTE_32F,
                                CUBLAS_GEMM_DEFAULT));
}

}  // namespace

void round_to_bf16(uint16_t* dst, const float* src, int64_t n) {
  GPT_LAUNCH(round_to_bf16_kernel, blocks_for(n, 256), 256, 0, 0, dst, src, n);
  GPT_CUDA_LAUNCHED();
}

void set_bf16_matmuls(bool on) { g_bf16 = on; }
bool bf16_matmuls() { return g_bf16; }
size_t bf16_scratch_bytes() { return bf16_scratch().size() * sizeof(float); }

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
  const auto [w, xo, unused] = operands({{{W, int64_t(IN) * OUT}, {x, N * IN}, {nullptr, 0}}});
  gemm(w_out_in ? CUBLAS_OP_T : CUBLAS_OP_N, CUBLAS_OP_N, OUT, n, IN, one, w, w_out_in ? IN : OUT,
       xo, IN, beta, y, OUT);
}

void linear_backward(float* dx, float* dW, float* db, const float* dy, const float* x,
                     const float* W, int64_t N, int IN, int OUT, bool w_out_in) {
  if (N <= 0) return;  // dx has no rows; dW and db gain nothing
  const int n = rows_as_int(N);
  const float one = 1.0f, zero = 0.0f;
  const bool want_dx = dx && IN > 0 && OUT > 0, want_dw = IN > 0 && OUT > 0;
  const auto [w, g, xo] = operands({{{want_dx ? W : nullptr, int64_t(IN) * OUT},
                                     {want_dx || want_dw ? dy : nullptr, N * OUT},
                                     {want_dw ? x : nullptr, N * IN}}});
  if (dx && IN > 0) {
    if (OUT <= 0) {
      fill_zero(dx, size_t(N) * IN * sizeof(float));
    } else {
      // dx^T[IN,N] = M^T[IN,OUT] dy^T[OUT,N]. [IN,OUT] row-major reads as M, so transpose it;
      // [OUT,IN] row-major reads as M^T already.
      gemm(w_out_in ? CUBLAS_OP_N : CUBLAS_OP_T, CUBLAS_OP_N, IN, n, OUT, one, w,
           w_out_in ? IN : OUT, g, OUT, zero, dx, IN);
    }
  }
  if (IN > 0 && OUT > 0) {
    if (w_out_in)
      // dW[OUT,IN] += dy^T x; column-major that is dW^T[IN,OUT] += x^T[IN,N] dy[N,OUT], where
      // x reads as x^T (ld IN) and dy reads as dy^T (ld OUT), hence op T on dy.
      gemm(CUBLAS_OP_N, CUBLAS_OP_T, IN, OUT, n, one, xo, IN, g, OUT, one, dW, IN);
    else
      // dW[IN,OUT] += x^T dy; column-major dW^T[OUT,IN] += dy^T[OUT,N] x[N,IN].
      gemm(CUBLAS_OP_N, CUBLAS_OP_T, OUT, IN, n, one, g, OUT, xo, IN, one, dW, OUT);
  }
  if (db && OUT > 0) {
    dim3 block(kSumCols, kSumLanes);
    GPT_LAUNCH(column_sum_add, unsigned((OUT + kSumCols - 1) / kSumCols), block, 0, 0, db, dy, N,
               OUT);
    GPT_CUDA_LAUNCHED();
  }
}

}  // namespace gpt::cuda
