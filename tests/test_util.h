#pragma once
#include <unistd.h>

// Shared helpers for the unit tests.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/rng.h"
#include "model/gpt.h"

namespace gpt::test {

inline std::filesystem::path source_dir() { return GPT_SOURCE_DIR; }

// An empty scratch directory under the system temp dir, unique to this process and name.
inline std::filesystem::path scratch_dir(const std::string& prefix, const std::string& name) {
  auto d = std::filesystem::temp_directory_path() / ("gptkit_" + prefix + "_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(d);
  std::filesystem::create_directories(d);
  return d;
}

// Writes bytes to p exactly (damaged and hand-made files in tests).
inline void write_bytes(const std::filesystem::path& p, const std::string& bytes) {
  std::ofstream f(p, std::ios::binary);
  f.write(bytes.data(), std::streamsize(bytes.size()));
}

// max|a - b| / max|b|: the error relative to the reference tensor's scale, which stays
// meaningful for entries near zero (plain elementwise relative error does not).
template <class A, class B>
double scaled_err(const A& a, const B& b) {
  double num = 0.0, den = 0.0;
  for (size_t i = 0; i < b.size(); ++i) {
    double d = std::abs(double(a[i]) - double(b[i]));
    if (!std::isfinite(d)) return INFINITY;  // std::max would silently drop a NaN
    num = std::max(num, d);
    den = std::max(den, std::abs(double(b[i])));
  }
  return den > 0.0 ? num / den : num;
}

inline std::vector<float> randn(size_t n, Rng& rng, double sd = 1.0) {
  std::vector<float> v(n);
  for (auto& x : v) x = float(sd * rng.normal());
  return v;
}

// Weights far larger than GPT-2's init (layernorm gains around 1), so logits are far from
// uniform and a greedy argmax is not decided by rounding.
inline void fill_random_weights(GPT& m, uint64_t seed, double sd = 0.3) {
  Rng r(seed);
  for (const auto& v : m.params()) {
    float* p = m.param_data() + v.offset;
    const bool gain = v.name.find("ln_") != std::string::npos && v.name.ends_with(".weight");
    for (size_t i = 0; i < v.numel; ++i) p[i] = float((gain ? 1.0 : 0.0) + sd * r.normal());
  }
}

}  // namespace gpt::test
