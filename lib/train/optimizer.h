#pragma once
// AdamW over the model's single parameter buffer, as nanoGPT configures torch.optim.AdamW:
// decoupled weight decay on 2-D tensors only; m and v live in one buffer each.
#include <cstdint>

#include "core/buffer.h"
#include "model/gpt.h"
#include "ops/ops.h"

namespace gpt {

class AdamW {
 public:
  AdamW(const GPT& model, const ops::AdamWParams& hp);
  // Applies one update with learning rate lr (the schedule's value for this step) to the
  // parameters this optimizer owns: all of them, or after shard() only [lo, hi).
  void step(GPT& model, float lr);
  int64_t steps() const { return t_; }
  void set_steps(int64_t t) { t_ = t; }
  ops::AdamWParams& hparams() { return hp_; }
  // m and v of the owned range: element i is parameter lo() + i.
  float* m() { return m_.data(); }
  float* v() { return v_.data(); }
  size_t size() const { return m_.size(); }
  // ZeRO-1: keep the moments of parameters [lo, hi) of the flat buffer only (from a full
  // optimizer, e.g. one just loaded from a checkpoint). The update is elementwise, so a
  // sharded step gives the same bits on its range as the full step.
  void shard(int64_t lo, int64_t hi);
  bool sharded() const { return int64_t(m_.size()) != n_; }
  int64_t lo() const { return lo_; }
  int64_t num_params() const { return n_; }

 private:
  ops::AdamWParams hp_;
  Buffer m_, v_;
  int64_t t_ = 0, n_ = 0, lo_ = 0;
};

// Global-norm clipping as torch.nn.utils.clip_grad_norm_: returns the norm before clipping and
// scales the gradients by max_norm / (norm + 1e-6) when that is below 1. max_norm <= 0: no clip.
double clip_grad_norm(GPT& model, double max_norm);

}  // namespace gpt
