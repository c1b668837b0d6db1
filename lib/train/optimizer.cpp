#include "train/optimizer.h"

#include <algorithm>

#include "core/error.h"

namespace gpt {

AdamW::AdamW(const GPT& model, const ops::AdamWParams& hp) : hp_(hp), n_(int64_t(model.num_params())) {
  m_.resize(model.num_params());
  v_.resize(model.num_params());
}

void AdamW::step(GPT& model, float lr) {
  ++t_;
  ops::AdamWParams h = hp_;
  h.lr = lr;
  const int64_t hi = lo_ + int64_t(m_.size());
  for (const auto& v : model.params()) {
    // The part of this tensor in the owned range (weight decay is per tensor).
    const int64_t a = std::max(int64_t(v.offset), lo_), b = std::min(int64_t(v.offset + v.numel), hi);
    if (a >= b) continue;
    ops::adamw_step(model.param_data() + a, model.grad_data() + a, m_.data() + (a - lo_), v_.data() + (a - lo_),
                    b - a, h, t_, v.decay);
  }
}

void AdamW::shard(int64_t lo, int64_t hi) {
  check(!sharded() && lo >= 0 && lo <= hi && hi <= n_, "AdamW::shard: [{}, {}) of a full optimizer of {} values",
        lo, hi, n_);
  Buffer m(size_t(hi - lo)), v(size_t(hi - lo));
  std::copy(m_.data() + lo, m_.data() + hi, m.data());
  std::copy(v_.data() + lo, v_.data() + hi, v.data());
  m_ = std::move(m);
  v_ = std::move(v);
  lo_ = lo;
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
