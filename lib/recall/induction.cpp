#include "recall/induction.h"

#include <cmath>
#include <cstring>

#include "core/error.h"

namespace gpt::recall {

double default_beta(int seq_len) { return std::log(double(std::max(seq_len, 2))) + 6.0; }

json InductionModel::describe() const {
  const GPTConfig& c = model->config();
  return {{"n_embd", c.n_embd},         {"n_layer", c.n_layer},     {"n_head", c.n_head},
          {"vocab_size", c.vocab_size}, {"block_size", c.block_size}, {"params", model->num_params()},
          {"position_code", pos.kind},  {"position_dims", pos.dim}, {"token_code", tok.kind},
          {"token_dims", tok.dim},      {"token_coherence", tok.coherence}, {"beta", beta},
          {"layer1_scale", g1},         {"layer2_scale", g2},       {"layer2_gap_fraction", gap2},
          {"layer1_mixer", mixer}};
}

InductionModel build_induction(int vocab, int seq_len, const InductionOptions& o) {
  check(vocab >= 2, "vocab must be at least 2, got {}", vocab);
  check(seq_len >= 2, "seq_len must be at least 2 (recall needs a pair before the query), got {}", seq_len);
  check(o.sink >= 0 && o.sink < 1, "sink must be in [0, 1), got {}", o.sink);
  check(o.out_gain > 1, "out_gain must be above 1 so the recalled value outvotes the query key, got {}", o.out_gain);
  check(o.beta >= 0, "beta must be positive (or 0 for the default ln L + 6), got {}", o.beta);
  if (o.mixer != "attention" && o.mixer != "conv")
    throw UsageError(fmt::format("unknown mixer '{}'; use attention or conv", o.mixer));
  const bool conv = o.mixer == "conv";
  InductionModel im;
  im.mixer = o.mixer;
  im.beta = o.beta > 0 ? o.beta : default_beta(seq_len);
  check(std::isfinite(im.beta), "beta must be finite, got {}", o.beta);

  // One-hot where it is cheap; compact codes once one-hot would dominate the width.
  const std::string tc = o.tok_code == "auto" ? (vocab <= 256 ? "onehot" : "rs") : o.tok_code;
  const std::string pc = o.pos_code == "auto" ? (seq_len <= 128 && tc == "onehot" ? "onehot" : "fourier") : o.pos_code;
  if (pc == "onehot") im.pos = onehot_code(seq_len);
  else if (pc == "fourier") im.pos = fourier_code(seq_len);
  else throw UsageError(fmt::format("unknown position code '{}'; use auto, onehot or fourier", o.pos_code));
  if (tc == "onehot") im.tok = onehot_code(vocab);
  else if (tc == "rs") im.tok = rs_code(vocab, o.coherence);
  else throw UsageError(fmt::format("unknown token code '{}'; use auto, onehot or rs", o.tok_code));

  // Layer 2 score / g2 for query token a at key j: prev_j.E_a + sink E_j.E_a. A match is >= 1;
  // the key's own token (the fallback) <= sink + mu; anything else <= mu (1 + sink).
  const double mu = im.tok.coherence;
  im.gap2 = std::min(1.0 - o.sink - mu, 1.0 - mu * (1.0 + o.sink));
  check(im.gap2 > 0, "token-code coherence {} with sink {} leaves no score gap in layer 2; lower --coherence", mu,
        o.sink);
  im.g1 = conv ? 0.0 : im.beta / im.pos.gap;  // the conv's shift needs no sharpness
  im.g2 = im.beta / im.gap2;

  const int dp = im.pos.dim, dt = im.tok.dim;
  im.off_p = 0;
  im.off_t = dp;
  im.off_r = dp + dt;
  im.off_one = dp + 2 * dt;
  im.off_first = im.off_one + 1;
  GPTConfig cfg;
  cfg.vocab_size = vocab;
  cfg.block_size = seq_len;
  cfg.n_layer = 2;
  cfg.n_head = 1;
  cfg.n_embd = dp + 2 * dt + 2;
  cfg.bias = false;
  cfg.dropout = 0;
  cfg.layernorm = false;
  cfg.mlp = false;
  cfg.tie_embeddings = false;
  if (conv) {
    cfg.conv_layers = 1;
    cfg.conv_width = 2;
  }
  cfg.validate();
  im.model = std::make_unique<GPT>(cfg);
  GPT& m = *im.model;
  std::memset(m.param_data(), 0, m.num_params() * sizeof(float));
  const ParamPtrs& w = m.weights();
  const size_t C = size_t(cfg.n_embd), C3 = 3 * C;
  const float rc = std::sqrt(float(C));  // undoes attention's 1/sqrt(head_dim)

  for (int a = 0; a < vocab; ++a)
    for (int k = 0; k < dt; ++k) {
      w.wte[size_t(a) * C + size_t(im.off_t + k)] = im.tok.row(a)[k];
      w.lm_head[size_t(a) * C + size_t(im.off_t + k)] = im.tok.row(a)[k];
    }
  for (int i = 0; i < seq_len; ++i) {
    for (int k = 0; k < dp; ++k) w.wpe[size_t(i) * C + size_t(im.off_p + k)] = im.pos.row(i)[k];
    w.wpe[size_t(i) * C + size_t(im.off_one)] = 1.0f;
  }
  w.wpe[size_t(im.off_first)] = 1.0f;

  // Layer 1: previous-token head, or the conv that is exactly a shift by one position
  // (tap 0 multiplies position t-1, tap 1 position t). Either way T moves to R.
  if (conv) {
    for (int k = 0; k < dt; ++k) w.h[0].convw[size_t(im.off_t + k) * 2] = 1.0f;
  } else {
    const std::vector<float> S = shift_back(im.pos);
    float* q1 = w.h[0].qkvw;
    for (int a = 0; a < dp; ++a)
      for (int b = 0; b < dp; ++b) q1[size_t(im.off_p + a) * C3 + size_t(im.off_p + b)] = S[size_t(a * dp + b)] * float(im.g1) * rc;
    for (int a = 0; a < dp; ++a) q1[size_t(im.off_p + a) * C3 + C + size_t(im.off_p + a)] = 1.0f;
    for (int k = 0; k < dt; ++k) q1[size_t(im.off_t + k) * C3 + 2 * C + size_t(im.off_t + k)] = 1.0f;
  }
  for (int k = 0; k < dt; ++k) w.h[0].attprojw[size_t(im.off_t + k) * C + size_t(im.off_r + k)] = 1.0f;

  // Layer 2: induction head.
  float* q2 = w.h[1].qkvw;
  for (int k = 0; k < dt; ++k) {
    const size_t t = size_t(im.off_t + k), r = size_t(im.off_r + k);
    q2[t * C3 + t] = float(im.g2) * rc;
    q2[r * C3 + C + t] = 1.0f;
    q2[t * C3 + C + t] = float(o.sink);
    q2[t * C3 + 2 * C + t] = 1.0f;
    w.h[1].attprojw[t * C + t] = float(o.out_gain);
  }
  const size_t one = size_t(im.off_one), first = size_t(im.off_first);
  q2[one * C3 + one] = float(im.g2) * rc;
  // Position 0 has no previous token, yet layer 1 can only attend to itself there, which
  // puts its own token in R. This keeps position 0 below every other key.
  q2[first * C3 + C + one] = -float(2.0 + o.sink);
  return im;
}

}  // namespace gpt::recall
