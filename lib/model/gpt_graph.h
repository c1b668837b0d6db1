#pragma once
// The model's forward and backward graph, written once over an op set: gpt::ops on the CPU
// (model/gpt.cpp) and gpt::cuda on the GPU (model/gpt_cuda.cpp), so the two engines cannot
// drift apart. An op set is a struct of static functions with the signatures of ops/ops.h
// plus zero(p, n); every pointer handed to it lives where that op set computes.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "core/error.h"
#include "core/rng.h"
#include "model/config.h"

namespace gpt {

// Pointers to one layer's tensors inside a parameter-shaped buffer (null when absent).
struct LayerPtrs {
  float *ln1w, *ln1b, *qkvw, *qkvb, *attprojw, *attprojb;
  float *ln2w, *ln2b, *fcw, *fcb, *fcprojw, *fcprojb;
  float *convw, *convb;  // short-conv layers only (GPTConfig::is_conv); they have no qkv
};
struct ParamPtrs {
  float *wte, *wpe, *lnfw, *lnfb, *lm_head;
  std::vector<LayerPtrs> h;
};

// Activations of one layer for a (B, T) batch (N = B*T rows).
struct LayerActs {
  float *ln1, *ln1_mean, *ln1_rstd;  // [N,C], [N], [N]
  float *qkv, *att, *atty, *res1;    // [N,3C], [B,NH,T,T] ([B,NH,T] fused), [N,C], [N,C]
  float *ln2, *ln2_mean, *ln2_rstd;  // [N,C], [N], [N]
  float *fch, *fch_act, *res2;       // [N,4C], [N,4C], [N,C] (res2 == res1 without an MLP)
};
// Everything a (B, T) forward keeps for backward, and backward's scratch, in one buffer.
struct Acts {
  float *encoded, *tmp, *lnf, *lnf_mean, *lnf_rstd, *logits, *losses;  // logits [N,V]
  std::vector<LayerActs> layers;
  // With loss_chunk (0 < loss_chunk < V) the LM head and the loss run one vocabulary chunk at
  // a time (loss_graph): logits is [N,loss_chunk], the gradient overwrites it, and xent_stats
  // [N,4] carries the softmax of each row across chunks. 0: whole-vocabulary logits.
  int loss_chunk = 0;
  float* xent_stats = nullptr;
  // Fused attention (CUDA only, CudaGPT::set_fused_attention): each layer's att is the rows'
  // log-sum-exp [B,NH,T] instead of the [B,NH,T,T] probabilities.
  bool fused_attention = false;
  // Backward scratch, reused by every layer: [N,3C], two [N,C], [N,4C], dlogits [N,V]
  // (may be the logits themselves), attention scratch.
  float *dqkv, *dtmp, *dtmp2, *dfch, *dlogits, *att_scratch;
};

// The chunk the activations are laid out for: 0 (whole-vocabulary logits) unless 0 < chunk < V.
inline int effective_loss_chunk(int chunk, int V) { return chunk > 0 && chunk < V ? chunk : 0; }

// Lays out the activations for (B, T) at base (null: only counts) and returns the floats used.
// dlogits_in_logits: the LM head's gradient overwrites the logits instead of its own [N,V].
// loss_chunk: see Acts (a value of V or more, or 0, means whole-vocabulary logits).
// fused_attention: see Acts; only for an op set with the fused attention ops.
int64_t layout_acts(const GPTConfig& c, int B, int T, int64_t att_scratch_floats,
                    bool dlogits_in_logits, int loss_chunk, bool fused_attention, float* base,
                    Acts* a);

// Backward scratch a short-conv layer needs in Acts::att_scratch: its filter and bias
// gradients before they are added to the accumulated ones.
inline int64_t conv_scratch_floats(const GPTConfig& c) {
  return c.conv_layers > 0 ? int64_t(c.n_embd) * (c.conv_width + 1) : 0;
}

// Checks a batch before any op sees it: B, T in range, ids in [0, V), targets in [-1, V).
void check_batch(const GPTConfig& c, const int32_t* idx, const int32_t* targets, int B, int T);

// Dropout seed of one site (layer -1: the embedding), derived from the step's seed.
inline uint64_t dropout_site_seed(uint64_t seed, int layer, int site) {
  return splitmix64(seed ^ splitmix64(uint64_t(layer + 1) * 8 + uint64_t(site)));
}

// The residual stream as the LM head sees it: after the final layernorm, when there is one.
inline const float* head_input(const GPTConfig& cfg, const Acts& a) {
  return cfg.layernorm ? a.lnf : a.layers.back().res2;
}

// An op set with attention_fused_forward/backward (the CUDA one) runs them when a.fused_attention
// is set; every op set has the unfused pair.
template <class Ops>
concept HasFusedAttention = requires { &Ops::attention_fused_forward; };

template <class Ops>
void attention_forward_site(const Acts& a, LayerActs& la, int B, int T, int C, int NH, float p,
                            uint64_t seed) {
  if constexpr (HasFusedAttention<Ops>) {
    if (a.fused_attention)
      return Ops::attention_fused_forward(la.atty, la.att, la.qkv, B, T, C, NH, p, seed);
  }
  // A fused layout's att holds [B,NH,T]: the unfused op would run past it.
  check(!a.fused_attention, "fused attention layout with an op set that has no fused attention");
  Ops::attention_forward(la.atty, la.att, la.qkv, B, T, C, NH, p, seed, a.att_scratch);
}

template <class Ops>
void attention_backward_site(const Acts& a, const LayerActs& la, const float* dout, int B, int T,
                             int C, int NH, float p, uint64_t seed) {
  if constexpr (HasFusedAttention<Ops>) {
    if (a.fused_attention)
      return Ops::attention_fused_backward(a.dqkv, dout, la.qkv, la.atty, la.att, B, T, C, NH, p,
                                           seed, a.att_scratch);
  }
  check(!a.fused_attention, "fused attention layout with an op set that has no fused attention");
  Ops::attention_backward(a.dqkv, dout, la.qkv, la.att, B, T, C, NH, p, seed, a.att_scratch);
}

// Forward from ids idx[B,T] to a.logits (to the head's input when a.loss_chunk is set: the
// logits are then made chunk by chunk in loss_graph). p: dropout probability (0 when not
// training).
template <class Ops>
void forward_graph(const GPTConfig& cfg, const ParamPtrs& w, Acts& a, const int32_t* idx, int B,
                   int T, float p, uint64_t seed) {
  const int C = cfg.n_embd, V = cfg.vocab_size, NH = cfg.n_head;
  const int64_t N = int64_t(B) * T;
  const float eps = cfg.layer_norm_epsilon;
  Ops::embedding_forward(a.encoded, idx, w.wte, w.wpe, B, T, C, 0);
  if (p > 0.0f) Ops::dropout(a.encoded, a.encoded, N * C, p, dropout_site_seed(seed, -1, 0));
  const float* x = a.encoded;
  for (int l = 0; l < cfg.n_layer; ++l) {
    const LayerPtrs& lw = w.h[size_t(l)];
    LayerActs& la = a.layers[size_t(l)];
    const float* ln1 = x;
    if (cfg.layernorm) {
      Ops::layernorm_forward(la.ln1, la.ln1_mean, la.ln1_rstd, x, lw.ln1w, lw.ln1b, N, C, eps);
      ln1 = la.ln1;
    }
    if (cfg.is_conv(l)) {
      Ops::short_conv_forward(la.atty, ln1, lw.convw, lw.convb, B, T, C, cfg.conv_width);
    } else {
      Ops::linear_forward(la.qkv, ln1, lw.qkvw, lw.qkvb, N, C, 3 * C, false);
      attention_forward_site<Ops>(a, la, B, T, C, NH, p, dropout_site_seed(seed, l, 1));
    }
    Ops::linear_forward(a.tmp, la.atty, lw.attprojw, lw.attprojb, N, C, C, false);
    if (p > 0.0f) Ops::dropout(a.tmp, a.tmp, N * C, p, dropout_site_seed(seed, l, 2));
    Ops::add(la.res1, x, a.tmp, N * C);
    if (cfg.mlp) {
      const float* ln2 = la.res1;
      if (cfg.layernorm) {
        Ops::layernorm_forward(la.ln2, la.ln2_mean, la.ln2_rstd, la.res1, lw.ln2w, lw.ln2b, N, C, eps);
        ln2 = la.ln2;
      }
      Ops::linear_forward(la.fch, ln2, lw.fcw, lw.fcb, N, C, 4 * C, false);
      Ops::activation_forward(la.fch_act, la.fch, 4 * N * C, cfg.activation);
      Ops::linear_forward(a.tmp, la.fch_act, lw.fcprojw, lw.fcprojb, N, 4 * C, C, false);
      if (p > 0.0f) Ops::dropout(a.tmp, a.tmp, N * C, p, dropout_site_seed(seed, l, 3));
      Ops::add(la.res2, la.res1, a.tmp, N * C);
    }
    x = la.res2;
  }
  const float* xf = x;
  if (cfg.layernorm) {
    Ops::layernorm_forward(a.lnf, a.lnf_mean, a.lnf_rstd, x, w.lnfw, w.lnfb, N, C, eps);
    xf = a.lnf;
  }
  if (a.loss_chunk > 0) return;
  const float* head = cfg.tie_embeddings ? w.wte : w.lm_head;
  Ops::linear_forward(a.logits, xf, head, nullptr, N, C, V, /*w_out_in=*/true);
}

// Per-row losses of the last forward into a.losses; returns the number of counted targets.
// Chunked, each vocabulary chunk's logits are made, folded into the row stats and dropped, so
// [N,V] never exists; backward makes them again (one more N x C x V product per step).
template <class Ops>
int64_t loss_graph(const GPTConfig& cfg, const ParamPtrs& w, Acts& a, const int32_t* targets,
                   int64_t N) {
  const int C = cfg.n_embd, V = cfg.vocab_size, Vc = a.loss_chunk;
  if (Vc == 0) return Ops::softmax_xent_forward(a.losses, a.logits, targets, N, V);
  const float* head = cfg.tie_embeddings ? w.wte : w.lm_head;
  const float* xf = head_input(cfg, a);
  int64_t count = 0;
  for (int v0 = 0; v0 < V; v0 += Vc) {
    const int vc = std::min(Vc, V - v0);
    Ops::linear_forward(a.logits, xf, head + int64_t(v0) * C, nullptr, N, C, vc, true);
    count = Ops::xent_chunk_forward(a.losses, a.xent_stats, a.logits, targets, N, v0, vc, V);
  }
  return count;
}

// Accumulates the gradients of the last forward (same idx, p, seed) into g. scale: loss scale
// divided by the number of counted targets.
template <class Ops>
void backward_graph(const GPTConfig& cfg, const ParamPtrs& w, const ParamPtrs& g, Acts& a,
                    const int32_t* idx, const int32_t* targets, int B, int T, float p,
                    uint64_t seed, float scale) {
  const int C = cfg.n_embd, V = cfg.vocab_size, NH = cfg.n_head;
  const int64_t N = int64_t(B) * T;
  float* dres = a.dtmp2;  // d(loss)/d(residual stream), updated in place layer by layer
  float* dx = a.dtmp;     // gradient of a sub-block's input before it joins the residual

  const float* xlast = a.layers.back().res2;
  const float* xf = head_input(cfg, a);
  const bool tied = cfg.tie_embeddings;
  const float* head = tied ? w.wte : w.lm_head;
  float* dhead = tied ? g.wte : g.lm_head;
  float* dxf = cfg.layernorm ? dx : dres;
  if (a.loss_chunk == 0) {
    Ops::softmax_xent_backward(a.dlogits, a.logits, targets, N, V, scale);
    Ops::linear_backward(dxf, dhead, nullptr, a.dlogits, xf, head, N, C, V, /*w_out_in=*/true);
  } else {
    // Each chunk's logits again, their gradient in place, and its share of dxf and dhead. The
    // first chunk writes dxf; later ones go through a.tmp (free until the layers' backward).
    const int Vc = a.loss_chunk;
    for (int v0 = 0; v0 < V; v0 += Vc) {
      const int vc = std::min(Vc, V - v0);
      const int64_t off = int64_t(v0) * C;
      Ops::linear_forward(a.logits, xf, head + off, nullptr, N, C, vc, true);
      Ops::xent_chunk_backward(a.logits, a.logits, a.xent_stats, targets, N, v0, vc, scale);
      Ops::linear_backward(v0 == 0 ? dxf : a.tmp, dhead + off, nullptr, a.logits, xf, head + off,
                           N, C, vc, true);
      if (v0 > 0) Ops::add(dxf, dxf, a.tmp, N * C);
    }
  }
  if (cfg.layernorm) {
    Ops::zero(dres, N * C);
    Ops::layernorm_backward(dres, g.lnfw, g.lnfb, dx, xlast, w.lnfw, a.lnf_mean, a.lnf_rstd, N, C);
  }
  for (int l = cfg.n_layer - 1; l >= 0; --l) {
    const LayerPtrs& lw = w.h[size_t(l)];
    const LayerPtrs& lg = g.h[size_t(l)];
    LayerActs& la = a.layers[size_t(l)];
    const float* x_in = l == 0 ? a.encoded : a.layers[size_t(l - 1)].res2;
    if (cfg.mlp) {
      const float* dproj = dres;
      if (p > 0.0f) { Ops::dropout(a.tmp, dres, N * C, p, dropout_site_seed(seed, l, 3)); dproj = a.tmp; }
      Ops::linear_backward(a.dfch, lg.fcprojw, lg.fcprojb, dproj, la.fch_act, lw.fcprojw, N, 4 * C, C, false);
      Ops::activation_backward(a.dfch, a.dfch, la.fch, 4 * N * C, cfg.activation);
      const float* ln2 = cfg.layernorm ? la.ln2 : la.res1;
      Ops::linear_backward(dx, lg.fcw, lg.fcb, a.dfch, ln2, lw.fcw, N, C, 4 * C, false);
      if (cfg.layernorm)
        Ops::layernorm_backward(dres, lg.ln2w, lg.ln2b, dx, la.res1, lw.ln2w, la.ln2_mean, la.ln2_rstd, N, C);
      else
        Ops::add(dres, dres, dx, N * C);
    }
    const float* dproj = dres;
    if (p > 0.0f) { Ops::dropout(a.tmp, dres, N * C, p, dropout_site_seed(seed, l, 2)); dproj = a.tmp; }
    Ops::linear_backward(dx, lg.attprojw, lg.attprojb, dproj, la.atty, lw.attprojw, N, C, C, false);
    const float* ln1 = cfg.layernorm ? la.ln1 : x_in;
    const float* dln1 = dx;  // d(loss)/d(the mixer's input)
    if (cfg.is_conv(l)) {
      // The op overwrites its filter gradients; these are accumulated like every other.
      const int K = cfg.conv_width;
      float* dw = a.att_scratch;
      float* db = lg.convb ? a.att_scratch + int64_t(C) * K : nullptr;
      Ops::short_conv_backward(a.dqkv, dw, db, dx, ln1, lw.convw, lw.convb, B, T, C, K);
      Ops::add(lg.convw, lg.convw, dw, int64_t(C) * K);
      if (db) Ops::add(lg.convb, lg.convb, db, C);
      dln1 = a.dqkv;
    } else {
      attention_backward_site<Ops>(a, la, dx, B, T, C, NH, p, dropout_site_seed(seed, l, 1));
      Ops::linear_backward(dx, lg.qkvw, lg.qkvb, a.dqkv, ln1, lw.qkvw, N, C, 3 * C, false);
    }
    if (cfg.layernorm)
      Ops::layernorm_backward(dres, lg.ln1w, lg.ln1b, dln1, x_in, lw.ln1w, la.ln1_mean, la.ln1_rstd, N, C);
    else
      Ops::add(dres, dres, dln1, N * C);
  }
  const float* demb = dres;
  if (p > 0.0f) { Ops::dropout(a.tmp, dres, N * C, p, dropout_site_seed(seed, -1, 0)); demb = a.tmp; }
  Ops::embedding_backward(g.wte, g.wpe, demb, idx, B, T, C);
}

}  // namespace gpt
