#pragma once
// Training FLOPs as nanoGPT and PaLM count them: 6 per parameter per token (forward 2,
// backward 4), with N excluding the position embedding, plus 12 L T d per token for the
// attention score and value products over the full (unmasked) T x T.
#include <cstdint>

#include "model/config.h"

namespace gpt {

inline double train_flops_per_token(const GPTConfig& c, int64_t n_params, int T) {
  double N = double(n_params) - double(c.block_size) * c.n_embd;
  return 6.0 * N + 12.0 * (c.n_layer - c.conv_layers) * double(T) * c.n_embd;  // short-conv layers: no T x T
}

}  // namespace gpt
