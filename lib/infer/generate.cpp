#include "infer/generate.h"

#include <algorithm>

#include "core/error.h"

namespace gpt {

void generate_naive(GPT& model, std::vector<std::vector<int32_t>>& seqs, int max_new,
                    const SamplingParams& sp, std::vector<Rng>& rngs) {
  const int V = model.config().vocab_size, bs = model.config().block_size;
  std::vector<float> probs;
  for (size_t s = 0; s < seqs.size(); ++s) {
    auto& seq = seqs[s];
    check(!seq.empty(), "the prompt is empty; give at least one token");
    for (int i = 0; i < max_new; ++i) {
      const int T = std::min<int>(int(seq.size()), bs);
      model.forward(seq.data() + seq.size() - size_t(T), nullptr, 1, T);
      const float* last = model.logits() + int64_t(T - 1) * V;
      float u = sp.temperature == 0.0f ? 0.0f : rngs[s].uniformf();
      seq.push_back(sample_token(last, V, sp, u, probs));
    }
  }
}

}  // namespace gpt
