#pragma once
// The inference forward pass with a KV cache. It reads a GPT's weights and holds only what
// generation needs: the cache, and activations for the tokens being appended. It never
// allocates the training buffers (every layer's activations, gradients, attention maps).
//
// Cache: per layer, k and v, each [batch, heads, capacity, head_dim], all in one buffer.
// Every row of the batch has the same length; the next appended token gets position length().
// Capacity is at most block_size: past it, the caller rebuilds the cache over a window
// (generate() does; see docs/generation.md).
//
// Given a CudaGPT (the same model's weights on the GPU), the cache and the activations live on
// the GPU and only the requested logits come back to the host.
#include <cstdint>
#include <memory>
#include <vector>

#include "core/buffer.h"
#include "model/decode_graph.h"
#include "model/gpt.h"

namespace gpt {

class CudaGPT;

class Decoder {
 public:
  Decoder(const GPT& model, int batch, int capacity, const CudaGPT* gpu = nullptr);
  ~Decoder();

  const GPT& model() const { return model_; }
  int batch() const { return B_; }
  int capacity() const { return cap_; }
  int length() const { return len_; }
  size_t cache_bytes() const { return cache_floats_ * sizeof(float); }
  size_t scratch_bytes() const { return scratch_floats_ * sizeof(float); }
  bool on_gpu() const { return gpu_ != nullptr; }

  void reset() { len_ = 0; }
  // Rollback: forget positions >= len (0 <= len <= length()).
  void truncate(int len);

  // Appends n tokens to every row: tokens[b * n + i]. Returns the logits of each row's last
  // n_logits new positions, [batch, n_logits, V] (1 <= n_logits <= n). Valid until the next call.
  const float* append(const int32_t* tokens, int n, int n_logits = 1);

 private:
  struct Device;  // the GPU's cache and scratch (kv_decoder.cpp)
  void ensure_scratch(int n, int n_logits);

  const GPT& model_;
  const CudaGPT* gpu_;
  int B_, cap_, len_ = 0;
  int64_t layer_floats_;  // B * NH * cap * head_dim
  size_t cache_floats_ = 0, scratch_floats_ = 0;
  Buffer cache_, scratch_;  // CPU
  std::unique_ptr<Device> dev_;  // GPU
  std::vector<float> host_logits_;  // GPU: the logits brought back
  int scratch_n_ = 0, scratch_logits_ = 0;
  DecodeBufs s_{};
};

}  // namespace gpt
