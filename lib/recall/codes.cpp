#include "recall/codes.h"

#include <cmath>

#include "core/error.h"

namespace gpt::recall {

namespace {
bool is_prime(int q) {
  if (q < 2) return false;
  for (int f = 2; f * f <= q; ++f)
    if (q % f == 0) return false;
  return true;
}
}  // namespace

Code onehot_code(int items) {
  Code c;
  c.kind = "onehot";
  c.items = c.dim = items;
  c.m.assign(size_t(items) * size_t(items), 0.0f);
  for (int a = 0; a < items; ++a) c.m[size_t(a) * size_t(items) + size_t(a)] = 1.0f;
  return c;
}

Code rs_code(int items, double max_coherence) {
  check(items >= 1, "a code needs at least one item");
  check(max_coherence > 0 && max_coherence < 1, "max coherence must be in (0, 1), got {}", max_coherence);
  int best_d = 0, best_q = 0, best_r = 0;
  for (int d = 1; d <= 6; ++d) {
    const int r = int(std::ceil(double(d) / max_coherence - 1e-9));
    int q = std::max(r, 2);
    while (!is_prime(q) || std::pow(double(q), d + 1) < double(items)) ++q;
    if (best_q == 0 || r * q < best_r * best_q) best_d = d, best_q = q, best_r = r;
  }
  Code c;
  c.kind = "rs";
  c.items = items;
  c.dim = best_r * best_q;
  c.coherence = double(best_d) / best_r;
  c.m.assign(size_t(items) * size_t(c.dim), 0.0f);
  const float v = 1.0f / std::sqrt(float(best_r));
  for (int a = 0; a < items; ++a) {
    int coef[8] = {};
    for (int k = 0, t = a; k <= best_d; ++k, t /= best_q) coef[k] = t % best_q;
    for (int x = 0; x < best_r; ++x) {
      int val = 0;  // Horner's rule mod q
      for (int k = best_d; k >= 0; --k) val = (val * x + coef[k]) % best_q;
      c.m[size_t(a) * size_t(c.dim) + size_t(x * best_q + val)] = v;
    }
  }
  return c;
}

Code fourier_code(int positions) {
  check(positions >= 1, "a position code needs at least one position");
  int b = 1;
  while ((1 << b) < positions) ++b;
  Code c;
  c.kind = "fourier";
  c.items = positions;
  c.dim = 2 * b;
  c.self = b;
  c.gap = 2;
  c.m.assign(size_t(positions) * size_t(c.dim), 0.0f);
  for (int i = 0; i < positions; ++i)
    for (int k = 0; k < b; ++k) {
      const double th = M_PI * double(i) / double(1 << k);
      c.m[size_t(i) * size_t(c.dim) + size_t(2 * k)] = float(std::cos(th));
      c.m[size_t(i) * size_t(c.dim) + size_t(2 * k + 1)] = float(std::sin(th));
    }
  return c;
}

std::vector<float> shift_back(const Code& pos) {
  const size_t d = size_t(pos.dim);
  std::vector<float> s(d * d, 0.0f);
  if (pos.kind == "onehot") {
    for (size_t i = 1; i < d; ++i) s[i * d + (i - 1)] = 1.0f;
  } else {
    check(pos.kind == "fourier", "shift_back: no shift for a '{}' code", pos.kind);
    for (size_t k = 0; k < d / 2; ++k) {
      const double th = M_PI / double(1 << k);
      const size_t c = 2 * k, n = 2 * k + 1;
      // (cos a, sin a) -> (cos(a - th), sin(a - th))
      s[c * d + c] = float(std::cos(th));
      s[n * d + c] = float(std::sin(th));
      s[c * d + n] = float(-std::sin(th));
      s[n * d + n] = float(std::cos(th));
    }
  }
  return s;
}

}  // namespace gpt::recall
