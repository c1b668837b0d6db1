#pragma once
// Helpers shared by the CUDA test files (GPT_HAVE_CUDA builds only): the skip without a GPU, a
// host vector copied up, a NaN-poisoned device buffer (a value the GPU never wrote shows as NaN)
// and a device buffer copied down after a synchronize, so that an asynchronous kernel fault
// fails the case that caused it rather than a later one.
#ifdef GPT_HAVE_CUDA
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "../kernels/ops_cuda.h"

namespace gpt::test {

// "skipping <what>: <why>"; scripts/gpu_check.sh looks for "skipping CUDA".
inline bool gpu_or_skip(const char* what) {
  std::string why;
  if (cuda::available(&why)) return true;
  MESSAGE("skipping " << std::string(what) << ": " << why);
  return false;
}

inline cuda::DeviceBuffer up(const std::vector<float>& v) {
  cuda::DeviceBuffer d(v.size());
  cuda::to_device(d.data(), v.data(), v.size() * sizeof(float));
  return d;
}

inline cuda::DeviceBuffer poisoned(size_t n) {
  cuda::DeviceBuffer d(n);
  cuda::fill_nan(d.data(), n);
  return d;
}

inline std::vector<float> down(const cuda::DeviceBuffer& d) {
  cuda::synchronize();
  std::vector<float> v(d.size());
  cuda::to_host(v.data(), d.data(), v.size() * sizeof(float));
  return v;
}

}  // namespace gpt::test
#endif
