#pragma once
// Picking the next token from logits. Order: temperature scales the logits, top-k keeps the
// k largest, top-p keeps the smallest prefix (by descending probability) whose mass reaches p;
// then one uniform draw u in [0,1) walks the renormalised distribution. Greedy (temperature 0)
// takes the argmax and uses no draw, so a sampled run consumes exactly one u per token.
#include <cstdint>
#include <vector>

namespace gpt {

struct SamplingParams {
  float temperature = 1.0f;
  int top_k = 0;       // 0: all
  float top_p = 1.0f;  // 1: all
  void validate() const;
};

// probs[V] receives the final distribution (zeros outside the kept set); returns its sample.
int32_t sample_token(const float* logits, int V, const SamplingParams& p, float u, std::vector<float>& probs);
// The final distribution alone (one-hot at the argmax when greedy).
void sampling_distribution(const float* logits, int V, const SamplingParams& p, std::vector<float>& probs);

}  // namespace gpt
