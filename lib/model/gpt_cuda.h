#pragma once
// The GPT model on one GPU: parameters, gradients, AdamW moments and activations live in device
// memory, and the graph is the CPU engine's own (model/gpt_graph.h) run with gpt::cuda ops. It is
// made from a host GPT, which gives the layout and the starting weights; the download_* calls
// copy device state back (for checkpoints). Built without CUDA, the constructor throws.
#include <cstdint>
#include <memory>

#include "model/gpt.h"
#include "ops/adamw_params.h"

namespace gpt {

class CudaGPT {
 public:
  // Uploads model's parameters and takes its loss_chunk. Throws gpt::Error without CUDA support or a usable GPU.
  // training = false holds the parameters alone (no gradients or moments), for inference.
  explicit CudaGPT(const GPT& model, bool training = true);
  ~CudaGPT();
  CudaGPT(const CudaGPT&) = delete;
  CudaGPT& operator=(const CudaGPT&) = delete;

  const GPTConfig& config() const;
  size_t num_params() const;

  // Attention through the fused flash-style kernels (kernels/ops_attention_fused.cu): the same
  // function, no [B,NH,T,T] activations. Throws for a head size above 128.
  void set_fused_attention(bool on);
  bool fused_attention() const;

  // As GPT::forward/backward; idx and targets are host arrays.
  float forward(const int32_t* idx, const int32_t* targets, int B, int T, bool train = false,
                uint64_t dropout_seed = 0);
  void backward(float loss_scale = 1.0f);
  void zero_grad();
  int64_t loss_count() const;
  // The last forward's logits [B,T,V] copied to the host. The LM head's gradient overwrites
  // the logits on the device (they are never held twice), so call this before backward.
  const float* logits_host();
  // GPT::argmax of the last forward, on the host (before backward).
  void argmax_host(int32_t* out);

  // clip_grad_norm and AdamW::step of the CPU engine (train/optimizer.h), on the device.
  double clip_grad_norm(double max_norm);
  void adamw_step(const ops::AdamWParams& hp, float lr);
  int64_t adam_steps() const;
  void set_adam_steps(int64_t t);

  void upload_params(const float* host);
  void download_params(float* host) const;
  void download_grads(float* host) const;
  void upload_grads(const float* host);
  void upload_moments(const float* m, const float* v);
  void download_moments(float* m, float* v) const;
  size_t device_bytes() const;  // this model's buffers, plus the process's bf16 matmul scratch
  // Pointers to each parameter tensor in device memory (for the KV-cache decoder).
  const ParamPtrs& device_weights() const;  // parameters, gradients, moments and activations

 private:
  struct Impl;
  std::unique_ptr<Impl> d_;
};

}  // namespace gpt
