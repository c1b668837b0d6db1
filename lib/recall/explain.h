#pragma once
// What a model attends to, for one example: each layer's attention probabilities from the
// engine's own forward, as a text heat map (for a terminal) and as CSV (for a plot).
#include <cstdio>
#include <string>
#include <vector>

#include "model/gpt.h"

namespace gpt::recall {

struct AttentionMaps {
  int layers = 0, heads = 0, T = 0;
  std::vector<int32_t> tokens;
  std::vector<float> p;  // [layers, heads, T, T]; zeros for short-conv layers
  // Short-conv layers have no attention: their filter taps (oldest position first), summed over
  // channels. Empty for attention layers.
  std::vector<std::vector<float>> conv_taps;
  float at(int l, int h, int i, int j) const { return p[((size_t(l) * heads + h) * T + i) * T + j]; }
};

// One forward of `tokens` (batch 1) and a copy of every layer's attention.
AttentionMaps attention_maps(GPT& model, const std::vector<int32_t>& tokens);

// Rows = query positions, columns = key positions (the first `max_len` of each), one shade
// character per weight from ' ' (0) to '@' (1); each row ends with its argmax key.
void print_heatmap(std::FILE* out, const AttentionMaps& m, int max_len);

// CSV: layer,head,query,key,query_token,key_token,weight (weights below 1e-6 are left out).
std::string attention_csv(const AttentionMaps& m);

}  // namespace gpt::recall
