#pragma once
// A two-layer attention-only transformer whose weights are set by hand to solve associative
// recall: layer 1 is a previous-token head, layer 2 an induction head. It is an ordinary
// gpt::GPT (mlp=false, layernorm=false, bias=false, untied readout, one head per layer), so
// it runs through the same forward, checkpoints and tools as a trained model.
//
// Residual stream (C = dp + 2 dt + 2): [ P: position code | T: token code | R: previous-token
// slot | ONE: 1 everywhere | FIRST: 1 at position 0 ].  wte writes T, wpe writes P/ONE/FIRST.
//   layer 1: q_i = g1 p_i S = g1 p_{i-1}, k_j = p_j, v_j = tok_j, output -> R.
//   layer 2: q_i = g2 [tok_i ; 1], k_j = [prev_j + sink tok_j ; -(2+sink) FIRST_j],
//            v_j = tok_j, output -> T scaled by out_gain.
//   readout: logit_b = E_b . T  (untied lm_head rows = token codes).
// Score gaps are exactly beta in both layers (see docs/assoc-recall.md for the proof and the
// choice of beta against L).
//
// mixer "conv": layer 1 is a width-2 causal depthwise convolution whose filter is [1, 0] on the
// token code (GPTConfig::conv_layers = 1), i.e. exactly the previous-token shift, followed by
// the same T -> R projection; only layer 2 attends. Position 0 then gets R = 0.
#include <memory>
#include <string>

#include "recall/codes.h"
#include "core/json_util.h"
#include "model/gpt.h"

namespace gpt::recall {

struct InductionOptions {
  double beta = 0;                // score gap (sharpness); 0 = default_beta(seq_len)
  std::string pos_code = "auto";  // auto | onehot | fourier
  std::string tok_code = "auto";  // auto | onehot | rs
  double coherence = 0.25;        // largest token-code dot product allowed for "rs"
  double sink = 0.5;              // weight of a key's own token: the no-match fallback
  double out_gain = 4;            // layer-2 output scale, so the recalled value outvotes the query key
  std::string mixer = "attention";  // layer 1: attention (previous-token head) or conv (a shift)
};

// ln L + 6: the match outweighs L distractors by a factor e^6 (about 400) in both layers.
double default_beta(int seq_len);

struct InductionModel {
  std::unique_ptr<GPT> model;
  Code pos, tok;
  std::string mixer;
  double beta = 0, g1 = 0, g2 = 0, gap2 = 0;
  int off_p = 0, off_t = 0, off_r = 0, off_one = 0, off_first = 0;
  json describe() const;
};

// Builds the model for vocabulary `vocab` and sequences of up to `seq_len` tokens.
InductionModel build_induction(int vocab, int seq_len, const InductionOptions& o = {});

}  // namespace gpt::recall
