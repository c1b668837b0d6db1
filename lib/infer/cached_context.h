#pragma once
// A Decoder kept in step with a batch of growing sequences, under the block_size window rule
// (docs/generation.md). It remembers which tokens its cache holds: each call appends only the
// tokens that are new, rolls back cached tokens that no longer match (rejected speculative
// drafts), and rebuilds the cache when the window has moved past block_size.
#include <cstdint>
#include <vector>

#include "model/kv_decoder.h"

namespace gpt {

class CachedContext {
 public:
  // use_cache = false re-encodes the whole window on every call: the naive path.
  // gpu: run on the GPU through this copy of model's weights (null: the CPU).
  CachedContext(const GPT& model, int batch, int capacity, bool use_cache = true,
                const CudaGPT* gpu = nullptr);

  // Logits [batch, n_out, V] after each of the last n_out tokens of every sequence (all of one
  // length), each conditioned on the last block_size tokens that end with the sequence.
  // Positions within those n_out are always recomputed, never taken from the cache.
  const float* logits(const std::vector<std::vector<int32_t>>& seqs, int n_out = 1);

  int forwards() const { return forwards_; }
  int rebuilds() const { return rebuilds_; }  // forwards after the first that re-encoded a window
  size_t cache_bytes() const { return dec_.cache_bytes(); }
  const Decoder& decoder() const { return dec_; }

 private:
  Decoder dec_;
  bool use_cache_;
  int start_ = 0;  // sequence index of cache position 0
  std::vector<std::vector<int32_t>> cached_;  // the tokens the cache holds, per row
  std::vector<int32_t> toks_;
  int forwards_ = 0, rebuilds_ = 0;
};

}  // namespace gpt
