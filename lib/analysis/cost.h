#pragma once
// The unit of the cost model: exact integer FLOP and byte counts for one operation.
//
// Conventions (docs/intensity.md has the long form):
//   - a multiply-add is 2 FLOPs; a GEMM [M,K]x[K,N] is 2*M*N*K;
//   - transcendental functions (exp, tanh, erf, rsqrt) count 1 FLOP each;
//   - "minimum bytes": every input is read from main memory once and every output written
//     once, as if on-chip memory were large enough to reuse everything inside the op; real
//     kernels can only move more.
#include <cstdint>
#include <string>

#include "analysis/dtype.h"

namespace gpt::analysis {

// Overflow-checked integer arithmetic: sizes a user types can exceed int64 products, and a
// wrapped count would be silently wrong. Throws gpt::UsageError.
int64_t mul(int64_t a, int64_t b);
int64_t add(int64_t a, int64_t b);
template <class... T>
int64_t mul(int64_t a, int64_t b, T... rest) {
  return mul(mul(a, b), rest...);
}

struct Cost {
  int64_t flops = 0;
  int64_t matmul_flops = 0;  // the part of flops that are GEMM multiply-adds
  int64_t bytes_read = 0;
  int64_t bytes_written = 0;

  int64_t bytes() const { return add(bytes_read, bytes_written); }
  // FLOP per byte; 0 for an op that moves nothing.
  double intensity() const { return bytes() ? double(flops) / double(bytes()) : 0.0; }
  Cost& operator+=(const Cost& o);
  Cost times(int64_t k) const;
  bool operator==(const Cost&) const = default;
};

// Y[M,N] = X[M,K] @ W[K,N] (+ bias[N]), repeated `batch` times with different operands
// (a batched GEMM such as Q K^T per head). s: bytes per element.
Cost gemm(int64_t batch, int64_t M, int64_t N, int64_t K, int s, bool bias = false);
// Backward of the GEMM above: dX = dY W^T and dW = X^T dY (+ db = column sums of dY).
// Reads dY twice (once per product), X and W; writes dX, dW (and db).
Cost gemm_backward(int64_t batch, int64_t M, int64_t N, int64_t K, int s, bool bias = false);
// An elementwise or row-wise op over n elements: `flops_per` FLOPs per element, reading
// `reads` arrays of n elements and writing `writes` of them.
Cost elementwise(int64_t n, int64_t flops_per, int64_t reads, int64_t writes, int s);

// FLOPs per element of the non-GEMM ops. They are conventions, stated once here; next to the
// GEMMs they are a rounding error in FLOPs, and their bound is set by bytes anyway.
namespace flops_per {
constexpr int kScaleMask = 2;     // multiply by 1/sqrt(d_head), select or add the causal mask
constexpr int kSoftmax = 5;       // max, subtract, exp, sum, divide
constexpr int kSoftmaxBwd = 4;    // dS = P * (dP - rowsum(P * dP)): multiply, sum, subtract, multiply
constexpr int kDropout = 2;       // compare the random draw with p, multiply by mask/(1-p)
constexpr int kLayerNorm = 7;     // sum, subtract mean, square+sum, multiply rstd, weight, bias
constexpr int kLayerNormBwd = 13; // dxhat, dw, db, xhat recompute, two row means, dx
constexpr int kResidual = 1;      // one add
constexpr int kCrossEntropy = 5;  // softmax over the vocabulary (the log of one entry per row is O(rows))
constexpr int kCrossEntropyBwd = 5;  // recompute softmax from saved max/sum, subtract one-hot, scale
constexpr int kAdamW = 12;        // two moment updates, bias corrections, sqrt, divide, decay, step
}  // namespace flops_per

}  // namespace gpt::analysis
