#include "model/kv_decoder.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "core/error.h"
#include "core/profile.h"
#include "ops/ops.h"

namespace gpt {
namespace {

// Fresh cache and scratch hold NaN, not zeros: a position or activation read before it was
// written then shows up in every logit it touches, which the tests would catch. It costs one
// pass over memory per allocation, never per token.
void poison(Buffer& b) { std::fill(b.data(), b.data() + b.size(), std::numeric_limits<float>::quiet_NaN()); }

}  // namespace

Decoder::Decoder(const GPT& model, int batch, int capacity) : model_(model), B_(batch), cap_(capacity) {
  const GPTConfig& c = model.config();
  check(batch >= 1, "decoder batch must be at least 1 (got {})", batch);
  check(capacity >= 1 && capacity <= c.block_size,
        "KV cache capacity must be in [1, block_size = {}] (got {})", c.block_size, capacity);
  layer_floats_ = size_t(batch) * size_t(c.n_head) * size_t(capacity) * size_t(c.n_embd / c.n_head);
  cache_.resize(2 * layer_floats_ * size_t(c.n_layer));
  poison(cache_);
}

void Decoder::truncate(int len) {
  check(len >= 0 && len <= len_, "cannot truncate a KV cache of length {} to {}", len_, len);
  len_ = len;
}

void Decoder::ensure_scratch(int n, int n_logits) {
  if (n <= scratch_n_ && n_logits <= scratch_logits_) return;
  n = std::max(n, scratch_n_);
  n_logits = std::max(n_logits, scratch_logits_);
  const GPTConfig& c = model_.config();
  const int64_t N = int64_t(B_) * n, C = c.n_embd, V = c.vocab_size;
  const int64_t rows = int64_t(B_) * n_logits;
  const int64_t total = N * C * 4 /*x, h, atty, tmp*/ + N * 3 * C + N * 4 * C + 2 * N + rows * C +
                        rows * V + ops::attention_kv_scratch_floats(n, cap_);
  scratch_ = Buffer();
  scratch_.resize(size_t(total));
  poison(scratch_);
  float* p = scratch_.data();
  auto take = [&](int64_t k) { float* r = p; p += k; return r; };
  x_ = take(N * C); h_ = take(N * C); atty_ = take(N * C); tmp_ = take(N * C);
  qkv_ = take(3 * N * C); fch_ = take(4 * N * C); mean_ = take(N); rstd_ = take(N);
  last_ = take(rows * C); logits_ = take(rows * V);
  att_ = p;
  scratch_n_ = n;
  scratch_logits_ = n_logits;
}

const float* Decoder::append(const int32_t* tokens, int n, int n_logits) {
  GPT_PROF("decoder_append");
  const GPTConfig& cfg = model_.config();
  const int C = cfg.n_embd, V = cfg.vocab_size, NH = cfg.n_head;
  check(n >= 1, "append needs at least one token (got {})", n);
  check(n_logits >= 1 && n_logits <= n, "append: n_logits must be in [1, {}] (got {})", n, n_logits);
  check(len_ + n <= cap_,
        "the KV cache holds {} positions and has {}; appending {} overflows it (truncate or reset first)",
        cap_, len_, n);
  const int64_t N = int64_t(B_) * n;
  for (int64_t i = 0; i < N; ++i)
    check(tokens[i] >= 0 && tokens[i] < V, "token id {} is outside the model's vocabulary [0, {})", tokens[i], V);
  ensure_scratch(n, n_logits);
  const ParamPtrs& w = model_.weights();
  const float eps = cfg.layer_norm_epsilon;

  ops::embedding_forward(x_, tokens, w.wte, w.wpe, B_, n, C, len_);
  for (int l = 0; l < cfg.n_layer; ++l) {
    const LayerPtrs& lw = w.h[size_t(l)];
    const float* in = x_;
    if (cfg.layernorm) {
      ops::layernorm_forward(h_, mean_, rstd_, x_, lw.ln1w, lw.ln1b, N, C, eps);
      in = h_;
    }
    ops::linear_forward(qkv_, in, lw.qkvw, lw.qkvb, N, C, 3 * C);
    ops::attention_kv_forward(atty_, k_cache(l), v_cache(l), qkv_, B_, n, C, NH, cap_, len_, att_);
    ops::linear_forward(tmp_, atty_, lw.attprojw, lw.attprojb, N, C, C);
    ops::add(x_, x_, tmp_, N * C);
    if (cfg.mlp) {
      in = x_;
      if (cfg.layernorm) {
        ops::layernorm_forward(h_, mean_, rstd_, x_, lw.ln2w, lw.ln2b, N, C, eps);
        in = h_;
      }
      ops::linear_forward(fch_, in, lw.fcw, lw.fcb, N, C, 4 * C);
      ops::activation_forward(fch_, fch_, 4 * N * C, cfg.activation);
      ops::linear_forward(tmp_, fch_, lw.fcprojw, lw.fcprojb, N, 4 * C, C);
      ops::add(x_, x_, tmp_, N * C);
    }
  }
  len_ += n;
  // Only the rows whose logits are wanted go through the final norm and the LM head, which
  // for a large vocabulary is the biggest matmul of a decode step.
  const int64_t rows = int64_t(B_) * n_logits;
  const float* xs = x_;
  if (n_logits < n) {
    for (int b = 0; b < B_; ++b)
      std::memcpy(last_ + int64_t(b) * n_logits * C, x_ + (int64_t(b) * n + n - n_logits) * C,
                  size_t(n_logits) * size_t(C) * sizeof(float));
    xs = last_;
  }
  if (cfg.layernorm) {
    ops::layernorm_forward(h_, mean_, rstd_, xs, w.lnfw, w.lnfb, rows, C, eps);
    xs = h_;
  }
  const float* head = cfg.tie_embeddings ? w.wte : w.lm_head;
  ops::linear_forward(logits_, xs, head, nullptr, rows, C, V, /*w_out_in=*/true);
  return logits_;
}

}  // namespace gpt
