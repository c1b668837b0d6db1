#pragma once
// The GPT model on the CPU: one buffer for all parameters, one for their gradients and one
// for the activations of a (B, T) batch, each split into named views.
//
// Shapes (B batch, T time, C n_embd, NH heads, V vocab, L layers):
//   wte [V,C]  wpe [block_size,C]                       (HF names wte.weight, wpe.weight)
//   per layer: ln_1 [C] (+b), c_attn [C,3C] (+b [3C]), attn.c_proj [C,C] (+b),
//              ln_2 [C] (+b), c_fc [C,4C] (+b [4C]), mlp.c_proj [4C,C] (+b)
//   ln_f [C] (+b), lm_head [V,C] when untied
// Linear weights are [in, out] as in HF's Conv1D, so the checkpoint is the buffer itself.
#include <cstdint>
#include <string>
#include <vector>

#include "core/buffer.h"
#include "model/config.h"
#include "model/gpt_graph.h"

namespace gpt {

struct ParamView {
  std::string name;  // Hugging Face GPT-2 name, without the "transformer." prefix
  std::vector<int64_t> shape;
  size_t offset = 0;
  size_t numel = 0;
  bool decay = false;  // 2-D tensors (embeddings, matmul weights) get weight decay
};

class GPT {
 public:
  explicit GPT(const GPTConfig& cfg);

  const GPTConfig& config() const { return cfg_; }
  const std::vector<ParamView>& params() const { return views_; }
  const ParamView* find_param(const std::string& name) const;
  size_t num_params() const { return n_params_; }
  float* param_data() { return params_.data(); }
  const float* param_data() const { return params_.data(); }
  float* grad_data() { return grads_.data(); }  // allocated by the first backward/zero_grad
  const ParamPtrs& weights() const { return w_; }

  // GPT-2 init: N(0, 0.02), residual projections N(0, 0.02/sqrt(2 L)), zero biases, unit LN.
  void init_weights(uint64_t seed);

  // Forward over idx[B,T] (B*T ids in [0, V)). With targets (-1 = ignored) it returns the mean
  // loss over counted positions (NaN if none); without, it returns NaN and only fills logits.
  // train=true applies dropout keyed by dropout_seed and keeps what backward needs.
  float forward(const int32_t* idx, const int32_t* targets, int B, int T, bool train = false,
                uint64_t dropout_seed = 0);
  // [B,T,V] from the last forward; not kept by a forward with targets under set_loss_chunk.
  const float* logits() const;
  // Argmax over the vocabulary of each of the last forward's B*T rows (before backward), from
  // the logits or, chunked, from the loss's row stats.
  void argmax(int32_t* out) const;
  // Forwards with targets make the logits and the loss in vocabulary chunks of this many
  // columns, holding [B*T, chunk] logits instead of [B*T, V] (0: the whole vocabulary). The
  // loss and gradients are the same up to float rounding; each step costs one more LM-head
  // product. Forwards without targets always make the whole logits.
  void set_loss_chunk(int chunk);
  int loss_chunk() const { return loss_chunk_; }
  int64_t loss_count() const { return loss_count_; }
  // Attention probabilities [B,NH,T,T] of layer l from the last forward (rows sum to 1 over
  // the causal prefix), for tools that show what a model attends to.
  const float* attention(int l) const;

  // Accumulates d(loss * loss_scale)/d(params) into the gradient buffer, for the batch of the
  // last forward. Call zero_grad() first unless accumulating micro-batches.
  void backward(float loss_scale = 1.0f);
  void zero_grad();

  // Bytes of activations held for the current (B, T), for reports.
  size_t activation_bytes() const { return acts_.size() * sizeof(float); }
  // Pointers to each tensor inside a parameter-shaped buffer (parameters, gradients, moments).
  ParamPtrs bind(float* base) const;

 private:
  void layout_params();
  void ensure_acts(int B, int T, int chunk);

  GPTConfig cfg_;
  std::vector<ParamView> views_;
  size_t n_params_ = 0;
  Buffer params_, grads_;
  ParamPtrs w_{}, g_{};

  // Activations and backward scratch for (B_, T_), one buffer.
  Buffer acts_;
  int B_ = 0, T_ = 0, chunk_ = 0;  // what acts_ is laid out for
  Acts a_{};
  int loss_chunk_ = 0;

  // State of the last forward, needed by backward.
  std::vector<int32_t> idx_, targets_;
  int cur_B_ = 0, cur_T_ = 0;
  bool train_ = false, have_targets_ = false;
  uint64_t dropout_seed_ = 0;
  int64_t loss_count_ = 0;
};

}  // namespace gpt
