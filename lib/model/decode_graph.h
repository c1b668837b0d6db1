#pragma once
// The inference forward with a KV cache, written once over an op set (see gpt_graph.h): the
// Decoder runs it with gpt::ops on the CPU and with gpt::cuda on the GPU.
#include <cstdint>

#include "model/gpt_graph.h"

namespace gpt {

// Activations of n new tokens per row (N = B*n rows): x is the residual stream, h a layernorm
// output, last/logits only the n_logits rows per sequence whose logits are wanted.
struct DecodeBufs {
  float *x, *h, *qkv, *atty, *tmp, *fch, *mean, *rstd, *last, *logits, *att;
};

// Lays the buffers out at base (null: only counts); returns the floats used.
inline int64_t layout_decode(const GPTConfig& c, int B, int n, int n_logits, int64_t att_floats,
                             float* base, DecodeBufs* s) {
  const int64_t N = int64_t(B) * n, C = c.n_embd, V = c.vocab_size, rows = int64_t(B) * n_logits;
  int64_t used = 0;
  auto take = [&](int64_t k) { float* p = base ? base + used : nullptr; used += k; return p; };
  DecodeBufs r{};
  r.x = take(N * C); r.h = take(N * C); r.atty = take(N * C); r.tmp = take(N * C);
  r.qkv = take(3 * N * C); r.fch = take(4 * N * C); r.mean = take(N); r.rstd = take(N);
  r.last = take(rows * C); r.logits = take(rows * V); r.att = take(att_floats);
  if (s) *s = r;
  return used;
}

// Appends tokens[B,n] at positions len..len+n-1 of the cache (per layer l: k at
// cache + 2*l*layer_floats, v right after) and writes the logits of each row's last n_logits
// positions to s.logits [B, n_logits, V].
template <class Ops>
void decode_graph(const GPTConfig& cfg, const ParamPtrs& w, DecodeBufs& s, float* cache,
                  int64_t layer_floats, const int32_t* tokens, int B, int n, int n_logits, int len,
                  int cap) {
  const int C = cfg.n_embd, V = cfg.vocab_size, NH = cfg.n_head;
  const int64_t N = int64_t(B) * n;
  const float eps = cfg.layer_norm_epsilon;
  Ops::embedding_forward(s.x, tokens, w.wte, w.wpe, B, n, C, len);
  for (int l = 0; l < cfg.n_layer; ++l) {
    const LayerPtrs& lw = w.h[size_t(l)];
    float* kc = cache + int64_t(l) * 2 * layer_floats;
    const float* in = s.x;
    if (cfg.layernorm) {
      Ops::layernorm_forward(s.h, s.mean, s.rstd, s.x, lw.ln1w, lw.ln1b, N, C, eps);
      in = s.h;
    }
    if (cfg.is_conv(l)) {  // the layer's k slot [B,cap,C] holds its inputs so far
      Ops::short_conv_kv_forward(s.atty, kc, in, lw.convw, lw.convb, B, n, C, cfg.conv_width, cap, len);
    } else {
      Ops::linear_forward(s.qkv, in, lw.qkvw, lw.qkvb, N, C, 3 * C, false);
      Ops::attention_kv_forward(s.atty, kc, kc + layer_floats, s.qkv, B, n, C, NH, cap, len, s.att);
    }
    Ops::linear_forward(s.tmp, s.atty, lw.attprojw, lw.attprojb, N, C, C, false);
    Ops::add(s.x, s.x, s.tmp, N * C);
    if (cfg.mlp) {
      in = s.x;
      if (cfg.layernorm) {
        Ops::layernorm_forward(s.h, s.mean, s.rstd, s.x, lw.ln2w, lw.ln2b, N, C, eps);
        in = s.h;
      }
      Ops::linear_forward(s.fch, in, lw.fcw, lw.fcb, N, C, 4 * C, false);
      Ops::activation_forward(s.fch, s.fch, 4 * N * C, cfg.activation);
      Ops::linear_forward(s.tmp, s.fch, lw.fcprojw, lw.fcprojb, N, 4 * C, C, false);
      Ops::add(s.x, s.x, s.tmp, N * C);
    }
  }
  // Only the rows whose logits are wanted go through the final norm and the LM head, which
  // for a large vocabulary is the biggest matmul of a decode step.
  const int64_t rows = int64_t(B) * n_logits;
  const float* xs = s.x;
  if (n_logits < n) {
    for (int b = 0; b < B; ++b)
      Ops::copy(s.last + int64_t(b) * n_logits * C, s.x + (int64_t(b) * n + n - n_logits) * C,
                int64_t(n_logits) * C);
    xs = s.last;
  }
  if (cfg.layernorm) {
    Ops::layernorm_forward(s.h, s.mean, s.rstd, xs, w.lnfw, w.lnfb, rows, C, eps);
    xs = s.h;
  }
  const float* head = cfg.tie_embeddings ? w.wte : w.lm_head;
  Ops::linear_forward(s.logits, xs, head, nullptr, rows, C, V, /*w_out_in=*/true);
}

}  // namespace gpt
