#pragma once
// The machine's own limits, measured in the same run as a benchmark: the sgemm rate of the
// BLAS we link, and the copy bandwidth. MFU and "% of copy" figures are relative to these.
#include <cstddef>

namespace gpt {

// Best-of-reps GFLOP/s of an n x n x n sgemm at the current OpenMP thread count.
double measure_sgemm_gflops(int n = 1536, int reps = 5);
// Best-of-reps GB/s (read + write bytes) of memcpy over a buffer of `bytes`.
double measure_copy_gbps(size_t bytes = size_t(256) << 20, int reps = 5);

}  // namespace gpt
