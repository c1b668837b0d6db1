#pragma once
// Autoregressive generation by full recomputation (no KV cache): every step runs the model
// over the last block_size tokens. This is the simple path the cached one is checked against.
#include <cstdint>
#include <vector>

#include "core/rng.h"
#include "infer/sampler.h"
#include "model/gpt.h"

namespace gpt {

// Appends max_new tokens to each of the sequences (one Rng each, one draw per token).
void generate_naive(GPT& model, std::vector<std::vector<int32_t>>& seqs, int max_new,
                    const SamplingParams& sp, std::vector<Rng>& rngs);

}  // namespace gpt
