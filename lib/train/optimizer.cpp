#include "train/optimizer.h"

namespace gpt {

AdamW::AdamW(const GPT& model, const ops::AdamWParams& hp) : hp_(hp) {
  m_.resize(model.num_params());
  v_.resize(model.num_params());
}

void AdamW::step(GPT& model, float lr) {
  ++t_;
  ops::AdamWParams h = hp_;
  h.lr = lr;
  for (const auto& v : model.params())
    ops::adamw_step(model.param_data() + v.offset, model.grad_data() + v.offset, m_.data() + v.offset,
                    v_.data() + v.offset, int64_t(v.numel), h, t_, v.decay);
}

double clip_grad_norm(GPT& model, double max_norm) {
  double norm = ops::l2_norm(model.grad_data(), int64_t(model.num_params()));
  if (max_norm > 0.0) {
    double coef = max_norm / (norm + 1e-6);
    if (coef < 1.0) ops::scale(model.grad_data(), int64_t(model.num_params()), float(coef));
  }
  return norm;
}

}  // namespace gpt
