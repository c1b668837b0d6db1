#include "infer/sampler.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/error.h"

namespace gpt {

void SamplingParams::validate() const {
  check(temperature >= 0.0f && std::isfinite(temperature), "temperature must be >= 0, got {}", temperature);
  check(top_k >= 0, "top-k must be >= 0 (0 keeps all), got {}", top_k);
  check(top_p > 0.0f && top_p <= 1.0f, "top-p must be in (0, 1], got {}", top_p);
}

int32_t sample_token(const float* logits, int V, const SamplingParams& p, float u, std::vector<float>& probs) {
  probs.assign(size_t(V), 0.0f);
  if (p.temperature == 0.0f) {
    int32_t best = int32_t(std::max_element(logits, logits + V) - logits);
    probs[size_t(best)] = 1.0f;
    return best;
  }
  // Indices sorted by logit (descending; ties by id so the result is deterministic).
  std::vector<int32_t> order(static_cast<size_t>(V));
  std::iota(order.begin(), order.end(), 0);
  int keep = p.top_k > 0 ? std::min(p.top_k, V) : V;
  auto by_logit = [&](int32_t a, int32_t b) { return logits[a] > logits[b] || (logits[a] == logits[b] && a < b); };
  std::partial_sort(order.begin(), order.begin() + keep, order.end(), by_logit);
  const float mx = logits[order[0]];
  double sum = 0;
  std::vector<double> e(static_cast<size_t>(keep));
  for (int i = 0; i < keep; ++i) sum += e[size_t(i)] = std::exp(double(logits[order[size_t(i)]] - mx) / p.temperature);
  if (p.top_p < 1.0f) {
    double mass = 0;
    int n = 0;
    while (n < keep) {
      mass += e[size_t(n)] / sum;
      ++n;
      if (mass >= p.top_p) break;
    }
    keep = n;
    sum = 0;
    for (int i = 0; i < keep; ++i) sum += e[size_t(i)];
  }
  int32_t pick = order[size_t(keep - 1)];
  double acc = 0, target = double(u) * sum;
  bool picked = false;
  for (int i = 0; i < keep; ++i) {
    probs[size_t(order[size_t(i)])] = float(e[size_t(i)] / sum);
    acc += e[size_t(i)];
    if (!picked && target < acc) { pick = order[size_t(i)]; picked = true; }
  }
  return pick;
}

void sampling_distribution(const float* logits, int V, const SamplingParams& p, std::vector<float>& probs) {
  sample_token(logits, V, p, 0.0f, probs);
}

}  // namespace gpt
