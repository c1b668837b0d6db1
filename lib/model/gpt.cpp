#include "model/gpt.h"

#include <cmath>
#include <cstring>
#include <limits>

#include "core/error.h"
#include "core/rng.h"
#include "ops/ops.h"

namespace gpt {

GPT::GPT(const GPTConfig& cfg) : cfg_(cfg) {
  cfg_.validate();
  layout_params();
  params_.resize(n_params_);
  w_ = bind(params_.data());
}

void GPT::layout_params() {
  const int64_t C = cfg_.n_embd, V = cfg_.vocab_size;
  auto add = [&](std::string name, std::vector<int64_t> shape) {
    ParamView v;
    v.name = std::move(name);
    v.numel = 1;
    for (auto s : shape) v.numel *= size_t(s);
    v.decay = shape.size() >= 2;
    v.shape = std::move(shape);
    v.offset = n_params_;
    n_params_ += v.numel;
    views_.push_back(std::move(v));
  };
  add("wte.weight", {V, C});
  add("wpe.weight", {cfg_.block_size, C});
  for (int l = 0; l < cfg_.n_layer; ++l) {
    std::string p = "h." + std::to_string(l) + ".";
    if (cfg_.layernorm) {
      add(p + "ln_1.weight", {C});
      if (cfg_.bias) add(p + "ln_1.bias", {C});
    }
    add(p + "attn.c_attn.weight", {C, 3 * C});
    if (cfg_.bias) add(p + "attn.c_attn.bias", {3 * C});
    add(p + "attn.c_proj.weight", {C, C});
    if (cfg_.bias) add(p + "attn.c_proj.bias", {C});
    if (cfg_.mlp) {
      if (cfg_.layernorm) {
        add(p + "ln_2.weight", {C});
        if (cfg_.bias) add(p + "ln_2.bias", {C});
      }
      add(p + "mlp.c_fc.weight", {C, 4 * C});
      if (cfg_.bias) add(p + "mlp.c_fc.bias", {4 * C});
      add(p + "mlp.c_proj.weight", {4 * C, C});
      if (cfg_.bias) add(p + "mlp.c_proj.bias", {C});
    }
  }
  if (cfg_.layernorm) {
    add("ln_f.weight", {C});
    if (cfg_.bias) add("ln_f.bias", {C});
  }
  if (!cfg_.tie_embeddings) add("lm_head.weight", {V, C});
}

const ParamView* GPT::find_param(const std::string& name) const {
  for (const auto& v : views_)
    if (v.name == name) return &v;
  return nullptr;
}

ParamPtrs GPT::bind(float* base) const {
  auto at = [&](const std::string& name) -> float* {
    const ParamView* v = find_param(name);
    return v ? base + v->offset : nullptr;
  };
  ParamPtrs p{};
  p.wte = at("wte.weight");
  p.wpe = at("wpe.weight");
  p.lnfw = at("ln_f.weight");
  p.lnfb = at("ln_f.bias");
  p.lm_head = at("lm_head.weight");
  for (int l = 0; l < cfg_.n_layer; ++l) {
    std::string s = "h." + std::to_string(l) + ".";
    p.h.push_back({at(s + "ln_1.weight"), at(s + "ln_1.bias"), at(s + "attn.c_attn.weight"),
                   at(s + "attn.c_attn.bias"), at(s + "attn.c_proj.weight"), at(s + "attn.c_proj.bias"),
                   at(s + "ln_2.weight"), at(s + "ln_2.bias"), at(s + "mlp.c_fc.weight"),
                   at(s + "mlp.c_fc.bias"), at(s + "mlp.c_proj.weight"), at(s + "mlp.c_proj.bias")});
  }
  return p;
}

void GPT::init_weights(uint64_t seed) {
  Rng rng(seed);
  const double std_resid = 0.02 / std::sqrt(2.0 * cfg_.n_layer);
  for (const auto& v : views_) {
    float* p = params_.data() + v.offset;
    const bool is_ln = v.name.find("ln_") != std::string::npos;
    const bool is_bias = v.name.ends_with(".bias");
    if (is_bias) {
      std::fill(p, p + v.numel, 0.0f);
    } else if (is_ln) {
      std::fill(p, p + v.numel, 1.0f);
    } else {
      const bool resid = v.name.ends_with("c_proj.weight");
      const double sd = resid ? std_resid : 0.02;
      for (size_t i = 0; i < v.numel; ++i) p[i] = float(sd * rng.normal());
    }
  }
}

void GPT::zero_grad() {
  if (grads_.size() != n_params_) {
    grads_.resize(n_params_);
    g_ = bind(grads_.data());
  } else {
    grads_.zero();
  }
}

uint64_t GPT::site_seed(int layer, int site) const {
  return splitmix64(dropout_seed_ ^ splitmix64(uint64_t(layer + 1) * 8 + uint64_t(site)));
}

void GPT::ensure_acts(int B, int T) {
  if (B == B_ && T == T_) return;
  const int64_t N = int64_t(B) * T, C = cfg_.n_embd, V = cfg_.vocab_size;
  const int64_t att = int64_t(B) * cfg_.n_head * T * T;
  const bool ln = cfg_.layernorm, mlp = cfg_.mlp;
  int64_t per_layer = 3 * N * C + att + N * C + N * C;  // qkv, att, atty, res1
  if (ln) per_layer += N * C + 2 * N;
  if (mlp) per_layer += 4 * N * C * 2 + N * C + (ln ? N * C + 2 * N : 0);
  int64_t total = N * C /*encoded*/ + N * C /*tmp*/ + (ln ? N * C + 2 * N : 0) + N * V + N +
                  per_layer * cfg_.n_layer;
  acts_ = Buffer();  // free before allocating the new size
  acts_.resize(size_t(total));
  float* p = acts_.data();
  auto take = [&](int64_t n) { float* r = p; p += n; return r; };
  encoded_ = take(N * C);
  tmp_ = take(N * C);
  la_.assign(size_t(cfg_.n_layer), LayerActs{});
  for (auto& a : la_) {
    if (ln) { a.ln1 = take(N * C); a.ln1_mean = take(N); a.ln1_rstd = take(N); }
    a.qkv = take(3 * N * C);
    a.att = take(att);
    a.atty = take(N * C);
    a.res1 = take(N * C);
    if (mlp) {
      if (ln) { a.ln2 = take(N * C); a.ln2_mean = take(N); a.ln2_rstd = take(N); }
      a.fch = take(4 * N * C);
      a.fch_act = take(4 * N * C);
      a.res2 = take(N * C);
    } else {
      a.res2 = a.res1;
    }
  }
  if (ln) { lnf_ = take(N * C); lnf_mean_ = take(N); lnf_rstd_ = take(N); }
  logits_ = take(N * V);
  losses_ = take(N);
  B_ = B;
  T_ = T;
  // Backward scratch: gradients of one layer's intermediates, reused by every layer.
  scratch_ = Buffer();
  scratch_.resize(size_t(3 * N * C + 2 * N * C + 4 * N * C + N * V + ops::attention_scratch_floats(T)));
  float* s = scratch_.data();
  dqkv_ = s; s += 3 * N * C;
  dtmp_ = s; s += N * C;
  dtmp2_ = s; s += N * C;
  dfch_ = s; s += 4 * N * C;
  dlogits_ = s; s += N * V;
  att_scratch_ = s;
}

float GPT::forward(const int32_t* idx, const int32_t* targets, int B, int T, bool train,
                   uint64_t dropout_seed) {
  const int C = cfg_.n_embd, V = cfg_.vocab_size, NH = cfg_.n_head;
  check(B > 0 && T > 0, "forward: batch and sequence length must be positive (got B={}, T={})", B, T);
  check(T <= cfg_.block_size, "sequence length {} exceeds the model's block_size {}", T, cfg_.block_size);
  const int64_t N = int64_t(B) * T;
  for (int64_t i = 0; i < N; ++i)
    check(idx[i] >= 0 && idx[i] < V, "token id {} at position {} is outside the vocabulary [0, {})",
          idx[i], i, V);
  if (targets)
    for (int64_t i = 0; i < N; ++i)
      check(targets[i] >= -1 && targets[i] < V,
            "target id {} at position {} is outside the vocabulary [0, {}) (use -1 to ignore)",
            targets[i], i, V);
  ensure_acts(B, T);
  idx_.assign(idx, idx + N);
  have_targets_ = targets != nullptr;
  if (targets) targets_.assign(targets, targets + N);
  cur_B_ = B;
  cur_T_ = T;
  train_ = train;
  dropout_seed_ = dropout_seed;
  const float p = train ? cfg_.dropout : 0.0f;
  const float eps = cfg_.layer_norm_epsilon;

  ops::embedding_forward(encoded_, idx, w_.wte, w_.wpe, B, T, C);
  if (p > 0.0f) ops::dropout(encoded_, encoded_, N * C, p, site_seed(-1, 0));
  const float* x = encoded_;
  for (int l = 0; l < cfg_.n_layer; ++l) {
    const LayerPtrs& lw = w_.h[size_t(l)];
    LayerActs& a = la_[size_t(l)];
    const float* ln1 = x;
    if (cfg_.layernorm) {
      ops::layernorm_forward(a.ln1, a.ln1_mean, a.ln1_rstd, x, lw.ln1w, lw.ln1b, N, C, eps);
      ln1 = a.ln1;
    }
    ops::linear_forward(a.qkv, ln1, lw.qkvw, lw.qkvb, N, C, 3 * C);
    ops::attention_forward(a.atty, a.att, a.qkv, B, T, C, NH, p, site_seed(l, 1), att_scratch_);
    ops::linear_forward(tmp_, a.atty, lw.attprojw, lw.attprojb, N, C, C);
    if (p > 0.0f) ops::dropout(tmp_, tmp_, N * C, p, site_seed(l, 2));
    ops::add(a.res1, x, tmp_, N * C);
    if (cfg_.mlp) {
      const float* ln2 = a.res1;
      if (cfg_.layernorm) {
        ops::layernorm_forward(a.ln2, a.ln2_mean, a.ln2_rstd, a.res1, lw.ln2w, lw.ln2b, N, C, eps);
        ln2 = a.ln2;
      }
      ops::linear_forward(a.fch, ln2, lw.fcw, lw.fcb, N, C, 4 * C);
      ops::activation_forward(a.fch_act, a.fch, 4 * N * C, cfg_.activation);
      ops::linear_forward(tmp_, a.fch_act, lw.fcprojw, lw.fcprojb, N, 4 * C, C);
      if (p > 0.0f) ops::dropout(tmp_, tmp_, N * C, p, site_seed(l, 3));
      ops::add(a.res2, a.res1, tmp_, N * C);
    }
    x = a.res2;
  }
  const float* xf = x;
  if (cfg_.layernorm) {
    ops::layernorm_forward(lnf_, lnf_mean_, lnf_rstd_, x, w_.lnfw, w_.lnfb, N, C, eps);
    xf = lnf_;
  }
  const float* head = cfg_.tie_embeddings ? w_.wte : w_.lm_head;
  ops::linear_forward(logits_, xf, head, nullptr, N, C, V, /*w_out_in=*/true);
  loss_count_ = 0;
  if (!targets) return std::numeric_limits<float>::quiet_NaN();
  loss_count_ = ops::softmax_xent_forward(losses_, logits_, targets, N, V);
  if (loss_count_ == 0) return std::numeric_limits<float>::quiet_NaN();
  double sum = 0.0;
  for (int64_t i = 0; i < N; ++i) sum += losses_[i];
  return float(sum / double(loss_count_));
}

void GPT::backward(float loss_scale) {
  check(have_targets_, "backward needs a forward pass with targets");
  if (grads_.size() != n_params_) zero_grad();
  const int B = cur_B_, T = cur_T_, C = cfg_.n_embd, V = cfg_.vocab_size, NH = cfg_.n_head;
  const int64_t N = int64_t(B) * T;
  const float p = train_ ? cfg_.dropout : 0.0f;
  const float scale = loss_count_ > 0 ? loss_scale / float(loss_count_) : 0.0f;
  float* dres = dtmp2_;  // d(loss)/d(residual stream), updated in place layer by layer
  float* dx = dtmp_;  // gradient of a sub-block's input before it joins the residual

  ops::softmax_xent_backward(dlogits_, logits_, targets_.data(), N, V, scale);
  const float* xlast = la_.back().res2;
  const float* xf = cfg_.layernorm ? lnf_ : xlast;
  const bool tied = cfg_.tie_embeddings;
  ops::linear_backward(cfg_.layernorm ? dx : dres, tied ? g_.wte : g_.lm_head, nullptr, dlogits_, xf,
                       tied ? w_.wte : w_.lm_head, N, C, V, /*w_out_in=*/true);
  if (cfg_.layernorm) {
    std::memset(dres, 0, size_t(N * C) * sizeof(float));
    ops::layernorm_backward(dres, g_.lnfw, g_.lnfb, dx, xlast, w_.lnfw, lnf_mean_, lnf_rstd_, N, C);
  }
  for (int l = cfg_.n_layer - 1; l >= 0; --l) {
    const LayerPtrs& lw = w_.h[size_t(l)];
    const LayerPtrs& lg = g_.h[size_t(l)];
    LayerActs& a = la_[size_t(l)];
    const float* x_in = l == 0 ? encoded_ : la_[size_t(l - 1)].res2;
    if (cfg_.mlp) {
      const float* dproj = dres;
      if (p > 0.0f) { ops::dropout(tmp_, dres, N * C, p, site_seed(l, 3)); dproj = tmp_; }
      ops::linear_backward(dfch_, lg.fcprojw, lg.fcprojb, dproj, a.fch_act, lw.fcprojw, N, 4 * C, C);
      ops::activation_backward(dfch_, dfch_, a.fch, 4 * N * C, cfg_.activation);
      const float* ln2 = cfg_.layernorm ? a.ln2 : a.res1;
      ops::linear_backward(dx, lg.fcw, lg.fcb, dfch_, ln2, lw.fcw, N, C, 4 * C);
      if (cfg_.layernorm)
        ops::layernorm_backward(dres, lg.ln2w, lg.ln2b, dx, a.res1, lw.ln2w, a.ln2_mean, a.ln2_rstd, N, C);
      else
        ops::add(dres, dres, dx, N * C);
    }
    const float* dproj = dres;
    if (p > 0.0f) { ops::dropout(tmp_, dres, N * C, p, site_seed(l, 2)); dproj = tmp_; }
    ops::linear_backward(dx, lg.attprojw, lg.attprojb, dproj, a.atty, lw.attprojw, N, C, C);
    ops::attention_backward(dqkv_, dx, a.qkv, a.att, B, T, C, NH, p, site_seed(l, 1), att_scratch_);
    const float* ln1 = cfg_.layernorm ? a.ln1 : x_in;
    ops::linear_backward(dx, lg.qkvw, lg.qkvb, dqkv_, ln1, lw.qkvw, N, C, 3 * C);
    if (cfg_.layernorm)
      ops::layernorm_backward(dres, lg.ln1w, lg.ln1b, dx, x_in, lw.ln1w, a.ln1_mean, a.ln1_rstd, N, C);
    else
      ops::add(dres, dres, dx, N * C);
  }
  const float* demb = dres;
  if (p > 0.0f) { ops::dropout(tmp_, dres, N * C, p, site_seed(-1, 0)); demb = tmp_; }
  ops::embedding_backward(g_.wte, g_.wpe, demb, idx_.data(), B, T, C);
}

}  // namespace gpt
