#pragma once
// Deterministic random numbers, identical on every platform and thread count.
// Rng is a small sequential generator (init, data sampling); hash_uniform is counter-based, so
// dropout masks can be regenerated in backward, and in any order, from (seed, index).
#include <cmath>
#include <cstdint>

namespace gpt {

inline uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// A uniform float in [0, 1) from a 64-bit key: 24 random bits, exactly representable.
inline float hash_uniform(uint64_t seed, uint64_t index) {
  return float(splitmix64(seed ^ splitmix64(index)) >> 40) * (1.0f / 16777216.0f);
}

// xoshiro256** seeded by splitmix64; state is four words so it can be checkpointed.
struct Rng {
  uint64_t s[4];
  explicit Rng(uint64_t seed = 0) { reseed(seed); }
  void reseed(uint64_t seed) {
    uint64_t x = seed;
    for (auto& w : s) { x += 0x9e3779b97f4a7c15ull; w = splitmix64(x); }
  }
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t next() {
    uint64_t r = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return r;
  }
  double uniform() { return double(next() >> 11) * (1.0 / 9007199254740992.0); }  // [0,1)
  float uniformf() { return float(next() >> 40) * (1.0f / 16777216.0f); }
  // Uniform integer in [0, n) without modulo bias (Lemire's method).
  uint64_t below(uint64_t n) {
    __uint128_t m = __uint128_t(next()) * n;
    uint64_t lo = uint64_t(m);
    if (lo < n) {
      uint64_t t = -n % n;
      while (lo < t) { m = __uint128_t(next()) * n; lo = uint64_t(m); }
    }
    return uint64_t(m >> 64);
  }
  // Standard normal by Box-Muller (no cached second value, so the state alone is the RNG).
  double normal() {
    double u1 = uniform(), u2 = uniform();
    if (u1 < 1e-300) u1 = 1e-300;
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
};

}  // namespace gpt
