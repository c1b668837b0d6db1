#pragma once
// Autoregressive generation of a batch of equally long sequences.
//
// Context window: the model sees at most block_size tokens, so every step conditions on the
// last min(length, block_size) tokens. With the KV cache, a step appends one token to the
// cache while the window still starts where the cache does; once the sequence outgrows
// block_size the window slides by one each step, every position changes, and the cache is
// rebuilt over the new window (a prefill). Without the cache every step is such a rebuild.
// Both paths therefore compute the same logits (docs/generation.md).
#include <cstdint>
#include <functional>
#include <vector>

#include "core/rng.h"
#include "infer/sampler.h"
#include "model/gpt.h"

namespace gpt {

class CudaGPT;

struct GenerateOptions {
  int max_new = 0;
  SamplingParams sampling;
  bool kv_cache = true;
  const CudaGPT* gpu = nullptr;  // decode on the GPU through this copy of the weights
  // Called every step with the logits [batch, V] the tokens are sampled from (for tests).
  std::function<void(const float*)> on_logits;
  // Called after every step with the token just appended to each sequence.
  std::function<void(const std::vector<int32_t>&)> on_step;
};

struct GenerateStats {
  double prefill_ms = 0;  // the first forward: the prompt (its last block_size tokens)
  double decode_ms = 0;   // every later forward, plus sampling
  int forwards = 0;       // forward passes over the batch
  int rebuilds = 0;       // forwards after the first that re-encoded a whole window
  size_t kv_cache_bytes = 0;  // 0 without the cache
};

// Appends opt.max_new tokens to every sequence (all of one length, at least one token), drawing
// one uniform from rngs[s] per token of sequence s unless decoding greedily.
GenerateStats generate(const GPT& model, std::vector<std::vector<int32_t>>& seqs,
                       const GenerateOptions& opt, std::vector<Rng>& rngs);

// The reference path the cached one is tested against: every step runs the training forward
// (GPT::forward) over the window, one sequence at a time.
void generate_naive(GPT& model, std::vector<std::vector<int32_t>>& seqs, int max_new,
                    const SamplingParams& sp, std::vector<Rng>& rngs);

// Per-token negative log-likelihood of ids[1..] under the model (ids[0] has no context).
// Texts longer than block_size + 1 are scored in windows of block_size that advance by
// block_size / 2, each scoring only its tokens not scored before, so every token after the
// first window has at least block_size / 2 tokens of context.
struct ScoreResult {
  std::vector<double> nll;  // nll[t - 1] for token t
  double mean_loss = 0, perplexity = 0;
  int forwards = 0;
};
ScoreResult score(const GPT& model, const std::vector<int32_t>& ids, const CudaGPT* gpu = nullptr);

}  // namespace gpt
