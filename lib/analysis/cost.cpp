#include "analysis/cost.h"

#include "core/error.h"

namespace gpt::analysis {

int64_t mul(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_mul_overflow(a, b, &r))
    throw UsageError("sizes too large: a FLOP or byte count overflows 64-bit integers");
  return r;
}

int64_t add(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_add_overflow(a, b, &r))
    throw UsageError("sizes too large: a FLOP or byte count overflows 64-bit integers");
  return r;
}

Cost& Cost::operator+=(const Cost& o) {
  flops = add(flops, o.flops);
  matmul_flops = add(matmul_flops, o.matmul_flops);
  bytes_read = add(bytes_read, o.bytes_read);
  bytes_written = add(bytes_written, o.bytes_written);
  return *this;
}

Cost Cost::times(int64_t k) const {
  return {mul(flops, k), mul(matmul_flops, k), mul(bytes_read, k), mul(bytes_written, k)};
}

Cost gemm(int64_t batch, int64_t M, int64_t N, int64_t K, int s, bool bias) {
  Cost c;
  c.matmul_flops = mul(2, batch, M, N, K);
  c.flops = c.matmul_flops;
  c.bytes_read = mul(s, batch, add(mul(M, K), mul(K, N)));
  c.bytes_written = mul(s, batch, M, N);
  if (bias) {
    c.flops = add(c.flops, mul(batch, M, N));
    c.bytes_read = add(c.bytes_read, mul(s, batch, N));
  }
  return c;
}

Cost gemm_backward(int64_t batch, int64_t M, int64_t N, int64_t K, int s, bool bias) {
  Cost c;
  c.matmul_flops = mul(4, batch, M, N, K);
  c.flops = c.matmul_flops;
  c.bytes_read = mul(s, batch, add(mul(2, M, N), add(mul(K, N), mul(M, K))));
  c.bytes_written = mul(s, batch, add(mul(M, K), mul(K, N)));
  if (bias) {
    c.flops = add(c.flops, mul(batch, M, N));
    c.bytes_written = add(c.bytes_written, mul(s, batch, N));
  }
  return c;
}

Cost elementwise(int64_t n, int64_t flops_per, int64_t reads, int64_t writes, int s) {
  Cost c;
  c.flops = mul(n, flops_per);
  c.bytes_read = mul(s, n, reads);
  c.bytes_written = mul(s, n, writes);
  return c;
}

}  // namespace gpt::analysis
