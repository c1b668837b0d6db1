#pragma once
// Row kernels compiled with -ffast-math (see CMakeLists.txt) so that expf vectorises through
// libmvec. Callers must not rely on NaN propagation inside these rows.
namespace gpt::ops {

// row[0..n) <- softmax(row[0..n)), in place.
void softmax_inplace(float* row, int n);

}  // namespace gpt::ops
