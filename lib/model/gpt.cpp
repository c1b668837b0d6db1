#include "model/gpt.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "core/error.h"
#include "core/rng.h"
#include "model/cpu_ops.h"
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
    if (cfg_.is_conv(l)) {
      add(p + "mixer.conv.weight", {C, cfg_.conv_width});
      if (cfg_.bias) add(p + "mixer.conv.bias", {C});
      add(p + "mixer.c_proj.weight", {C, C});
      if (cfg_.bias) add(p + "mixer.c_proj.bias", {C});
    } else {
      add(p + "attn.c_attn.weight", {C, 3 * C});
      if (cfg_.bias) add(p + "attn.c_attn.bias", {3 * C});
      add(p + "attn.c_proj.weight", {C, C});
      if (cfg_.bias) add(p + "attn.c_proj.bias", {C});
    }
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
    const std::string mix = s + (cfg_.is_conv(l) ? "mixer." : "attn.");
    p.h.push_back({at(s + "ln_1.weight"), at(s + "ln_1.bias"), at(s + "attn.c_attn.weight"),
                   at(s + "attn.c_attn.bias"), at(mix + "c_proj.weight"), at(mix + "c_proj.bias"),
                   at(s + "ln_2.weight"), at(s + "ln_2.bias"), at(s + "mlp.c_fc.weight"),
                   at(s + "mlp.c_fc.bias"), at(s + "mlp.c_proj.weight"), at(s + "mlp.c_proj.bias"),
                   at(s + "mixer.conv.weight"), at(s + "mixer.conv.bias")});
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
    } else if (v.name.ends_with("conv.weight")) {
      // torch's Conv1d default for a depthwise filter (fan-in K) has this spread; 0.02 would
      // make a width-4 filter pass almost nothing at the start.
      const double sd = 1.0 / std::sqrt(3.0 * cfg_.conv_width);
      for (size_t i = 0; i < v.numel; ++i) p[i] = float(sd * rng.normal());
    } else {
      const bool resid = v.name.ends_with("c_proj.weight");
      const double sd = resid ? std_resid : 0.02;
      for (size_t i = 0; i < v.numel; ++i) p[i] = float(sd * rng.normal());
    }
  }
}

const float* GPT::attention(int l) const {
  check(!cfg_.is_conv(l), "layer {} is a short-conv layer and has no attention map", l + 1);
  return a_.layers.at(size_t(l)).att;
}

void GPT::zero_grad() {
  if (grads_.size() != n_params_) {
    grads_.resize(n_params_);
    g_ = bind(grads_.data());
  } else {
    grads_.zero();
  }
}


int64_t layout_acts(const GPTConfig& c, int B, int T, int64_t att_scratch_floats,
                    bool dlogits_in_logits, int loss_chunk, bool fused_attention, float* base,
                    Acts* a) {
  const int64_t N = int64_t(B) * T, C = c.n_embd, V = c.vocab_size;
  const int chunk = effective_loss_chunk(loss_chunk, int(V));
  const int64_t att = int64_t(B) * c.n_head * T * (fused_attention ? 1 : T);
  const bool ln = c.layernorm, mlp = c.mlp;
  Acts tmp;
  Acts& r = a ? *a : tmp;
  int64_t used = 0;
  auto take = [&](int64_t n) { float* p = base ? base + used : nullptr; used += n; return p; };
  r.encoded = take(N * C);
  r.tmp = take(N * C);
  r.layers.assign(size_t(c.n_layer), LayerActs{});
  for (int li = 0; li < c.n_layer; ++li) {
    LayerActs& l = r.layers[size_t(li)];
    if (ln) { l.ln1 = take(N * C); l.ln1_mean = take(N); l.ln1_rstd = take(N); }
    const bool conv = c.is_conv(li);  // no qkv or T x T map to keep
    l.qkv = conv ? nullptr : take(3 * N * C);
    l.att = conv ? nullptr : take(att);
    l.atty = take(N * C);
    l.res1 = take(N * C);
    if (mlp) {
      if (ln) { l.ln2 = take(N * C); l.ln2_mean = take(N); l.ln2_rstd = take(N); }
      l.fch = take(4 * N * C);
      l.fch_act = take(4 * N * C);
      l.res2 = take(N * C);
    } else {
      l.res2 = l.res1;
    }
  }
  r.lnf = r.lnf_mean = r.lnf_rstd = nullptr;
  if (ln) { r.lnf = take(N * C); r.lnf_mean = take(N); r.lnf_rstd = take(N); }
  r.loss_chunk = chunk;
  r.fused_attention = fused_attention;
  r.logits = take(N * (chunk ? chunk : V));
  r.xent_stats = chunk ? take(4 * N) : nullptr;
  r.losses = take(N);
  r.dqkv = take(3 * N * C);
  r.dtmp = take(N * C);
  r.dtmp2 = take(N * C);
  r.dfch = take(4 * N * C);
  r.dlogits = dlogits_in_logits || chunk ? r.logits : take(N * V);
  r.att_scratch = take(att_scratch_floats);
  return used;
}

void check_batch(const GPTConfig& c, const int32_t* idx, const int32_t* targets, int B, int T) {
  const int V = c.vocab_size;
  check(B > 0 && T > 0, "forward: batch and sequence length must be positive (got B={}, T={})", B, T);
  check(T <= c.block_size, "sequence length {} exceeds the model's block_size {}", T, c.block_size);
  const int64_t N = int64_t(B) * T;
  for (int64_t i = 0; i < N; ++i)
    check(idx[i] >= 0 && idx[i] < V, "token id {} at position {} is outside the vocabulary [0, {})",
          idx[i], i, V);
  if (targets)
    for (int64_t i = 0; i < N; ++i)
      check(targets[i] >= -1 && targets[i] < V,
            "target id {} at position {} is outside the vocabulary [0, {}) (use -1 to ignore)",
            targets[i], i, V);
}

void GPT::ensure_acts(int B, int T, int chunk) {
  if (B == B_ && T == T_ && chunk == chunk_) return;
  const int64_t scratch = std::max(ops::attention_scratch_floats(T), conv_scratch_floats(cfg_));
  const int64_t total = layout_acts(cfg_, B, T, scratch, false, chunk, false, nullptr, nullptr);
  acts_ = Buffer();  // free before allocating the new size
  acts_.resize(size_t(total));
  layout_acts(cfg_, B, T, scratch, false, chunk, false, acts_.data(), &a_);
  B_ = B;
  T_ = T;
  chunk_ = chunk;
}

void GPT::set_loss_chunk(int chunk) {
  check(chunk >= 0, "loss_chunk must be 0 (the whole vocabulary) or a positive column count, got {}", chunk);
  loss_chunk_ = chunk;
}

const float* GPT::logits() const {
  check(a_.loss_chunk == 0, "the logits of a forward with targets are not kept when the loss is chunked "
        "(set_loss_chunk); use argmax(), or a forward without targets");
  return a_.logits;
}

void GPT::argmax(int32_t* out) const {
  check(cur_B_ > 0, "argmax: no forward pass yet");
  const int64_t N = int64_t(cur_B_) * cur_T_;
  if (a_.loss_chunk > 0) return ops::xent_chunk_argmax(out, a_.xent_stats, N);
  ops::argmax_rows(out, a_.logits, N, cfg_.vocab_size);
}

float GPT::forward(const int32_t* idx, const int32_t* targets, int B, int T, bool train,
                   uint64_t dropout_seed) {
  check_batch(cfg_, idx, targets, B, T);
  const int64_t N = int64_t(B) * T;
  ensure_acts(B, T, targets ? effective_loss_chunk(loss_chunk_, cfg_.vocab_size) : 0);
  idx_.assign(idx, idx + N);
  have_targets_ = targets != nullptr;
  if (targets) targets_.assign(targets, targets + N);
  cur_B_ = B;
  cur_T_ = T;
  train_ = train;
  dropout_seed_ = dropout_seed;
  const float p = train ? cfg_.dropout : 0.0f;

  forward_graph<CpuOps>(cfg_, w_, a_, idx, B, T, p, dropout_seed);
  loss_count_ = 0;
  if (!targets) return std::numeric_limits<float>::quiet_NaN();
  loss_count_ = loss_graph<CpuOps>(cfg_, w_, a_, targets, N);
  if (loss_count_ == 0) return std::numeric_limits<float>::quiet_NaN();
  double sum = 0.0;
  for (int64_t i = 0; i < N; ++i) sum += a_.losses[i];
  return float(sum / double(loss_count_));
}

void GPT::backward(float loss_scale) {
  check(have_targets_, "backward needs a forward pass with targets");
  if (grads_.size() != n_params_) zero_grad();
  const int B = cur_B_, T = cur_T_;
  const float p = train_ ? cfg_.dropout : 0.0f;
  const float scale = loss_count_ > 0 ? loss_scale / float(loss_count_) : 0.0f;
  backward_graph<CpuOps>(cfg_, w_, g_, a_, idx_.data(), targets_.data(), B, T, p, dropout_seed_, scale);
}

}  // namespace gpt
