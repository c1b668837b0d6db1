#pragma once
// The inference forward pass with a KV cache. It reads a GPT's weights and holds only what
// generation needs: the cache, and activations for the tokens being appended. It never
// allocates the training buffers (every layer's activations, gradients, attention maps).
//
// Cache: per layer, k and v, each [batch, heads, capacity, head_dim], all in one buffer.
// Every row of the batch has the same length; the next appended token gets position length().
// Capacity is at most block_size: past it, the caller rebuilds the cache over a window
// (generate() does; see docs/generation.md).
#include <cstdint>

#include "core/buffer.h"
#include "model/gpt.h"

namespace gpt {

class Decoder {
 public:
  Decoder(const GPT& model, int batch, int capacity);

  const GPT& model() const { return model_; }
  int batch() const { return B_; }
  int capacity() const { return cap_; }
  int length() const { return len_; }
  size_t cache_bytes() const { return cache_.size() * sizeof(float); }
  size_t scratch_bytes() const { return scratch_.size() * sizeof(float); }

  void reset() { len_ = 0; }
  // Rollback: forget positions >= len (0 <= len <= length()).
  void truncate(int len);

  // Appends n tokens to every row: tokens[b * n + i]. Returns the logits of each row's last
  // n_logits new positions, [batch, n_logits, V] (1 <= n_logits <= n). Valid until the next call.
  const float* append(const int32_t* tokens, int n, int n_logits = 1);

 private:
  void ensure_scratch(int n, int n_logits);
  float* k_cache(int l) { return cache_.data() + size_t(l) * 2 * layer_floats_; }
  float* v_cache(int l) { return k_cache(l) + layer_floats_; }

  const GPT& model_;
  int B_, cap_, len_ = 0;
  size_t layer_floats_;  // B * NH * cap * head_dim
  Buffer cache_, scratch_;
  int scratch_n_ = 0, scratch_logits_ = 0;
  float *x_ = nullptr, *h_ = nullptr, *qkv_ = nullptr, *atty_ = nullptr, *tmp_ = nullptr;
  float *fch_ = nullptr, *mean_ = nullptr, *rstd_ = nullptr, *last_ = nullptr, *logits_ = nullptr;
  float* att_ = nullptr;
};

}  // namespace gpt
