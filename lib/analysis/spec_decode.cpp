#include "analysis/spec_decode.h"

#include <cmath>

#include "core/error.h"
#include "core/rng.h"

namespace gpt::analysis {

void validate_spec(double alpha, int64_t gamma, double c) {
  if (!(alpha >= 0.0 && alpha <= 1.0))
    throw UsageError(fmt::format("alpha must be in [0, 1], got {}", alpha));
  if (gamma < 1) throw UsageError(fmt::format("gamma must be at least 1, got {}", gamma));
  if (gamma > 1024) throw UsageError(fmt::format("gamma must be at most 1024, got {}", gamma));
  if (!(c >= 0.0) || !std::isfinite(c)) throw UsageError(fmt::format("c must be a finite number >= 0, got {}", c));
}

double expected_tokens(double alpha, int64_t gamma) {
  if (alpha >= 1.0) return double(gamma + 1);
  // The geometric sum 1 + a + ... + a^gamma, written to stay accurate as alpha -> 1.
  return -std::expm1(double(gamma + 1) * std::log(alpha)) / (1.0 - alpha);
}

double expected_accepted(double alpha, int64_t gamma) { return expected_tokens(alpha, gamma) - 1.0; }

double spec_speedup(double alpha, int64_t gamma, double c, double v) {
  return expected_tokens(alpha, gamma) / (double(gamma) * c + v);
}

double op_inflation(double alpha, int64_t gamma, double c_hat) {
  return (double(gamma) * c_hat + double(gamma) + 1.0) / expected_tokens(alpha, gamma);
}

double accept_rate(double alpha, int64_t gamma) { return expected_accepted(alpha, gamma) / double(gamma); }

double efficiency(double alpha, int64_t gamma) { return expected_tokens(alpha, gamma) / double(gamma + 1); }

static double bisect(double target, int64_t gamma, double (*f)(double, int64_t)) {
  double lo = 0.0, hi = 1.0;
  for (int i = 0; i < 200 && hi - lo > 1e-13; ++i) {
    double mid = 0.5 * (lo + hi);
    (f(mid, gamma) < target ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

double alpha_from_tokens_per_call(double tokens, int64_t gamma) {
  validate_spec(0.5, gamma, 0);
  if (!(tokens >= 1.0 && tokens <= double(gamma + 1)))
    throw UsageError(fmt::format("tokens per target call must be in [1, {}] for gamma {}, got {}", gamma + 1,
                                 gamma, tokens));
  if (tokens == double(gamma + 1)) return 1.0;
  return bisect(tokens, gamma, expected_tokens);
}

double alpha_from_accept_rate(double rate, int64_t gamma) {
  validate_spec(0.5, gamma, 0);
  if (!(rate >= 0.0 && rate <= 1.0))
    throw UsageError(fmt::format("acceptance rate (accepted/drafted) must be in [0, 1], got {}", rate));
  if (rate == 1.0) return 1.0;
  return bisect(rate, gamma, accept_rate);
}

int64_t best_gamma(double alpha, double c, double v, int64_t max_gamma) {
  int64_t best = 1;
  double best_s = spec_speedup(alpha, 1, c, v);
  for (int64_t g = 2; g <= max_gamma; ++g) {
    double s = spec_speedup(alpha, g, c, v);
    if (s > best_s * (1 + 1e-12)) { best = g; best_s = s; }
  }
  return best;
}

double simulate_tokens_per_call(double alpha, int64_t gamma, int64_t trials, uint64_t seed) {
  Rng rng(seed);
  int64_t total = 0;
  for (int64_t t = 0; t < trials; ++t) {
    int64_t accepted = 0;
    while (accepted < gamma && rng.uniform() < alpha) ++accepted;
    total += accepted + 1;  // the target always contributes one token (correction or bonus)
  }
  return double(total) / double(trials);
}

}  // namespace gpt::analysis
