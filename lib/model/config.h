#pragma once
// GPTConfig: the shape of a model. Defaults are GPT-2 124M.
#include <cstdint>
#include <string>

#include "core/json_util.h"
#include "model/activation.h"

namespace gpt {

const char* activation_name(Activation a);
Activation parse_activation(const std::string& s);

struct GPTConfig {
  int vocab_size = 50257;
  int block_size = 1024;
  int n_layer = 12;
  int n_head = 12;
  int n_embd = 768;
  bool bias = true;
  float dropout = 0.0f;
  Activation activation = Activation::GeluTanh;
  bool layernorm = true;
  bool mlp = true;
  bool tie_embeddings = true;
  float layer_norm_epsilon = 1e-5f;
  // The first conv_layers layers mix along time with a causal depthwise convolution of width
  // conv_width (ops::short_conv_forward) in place of attention, then the usual output
  // projection: the short-conv layers of H3/Hyena/Based. 0 = a plain GPT.
  int conv_layers = 0;
  int conv_width = 4;

  int head_dim() const { return n_embd / n_head; }
  bool is_conv(int layer) const { return layer < conv_layers; }
  // Throws gpt::Error naming the first field that makes no sense.
  void validate() const;
  // Our config section ("model" in a run config): the keys above.
  static GPTConfig from_json(const json& j, const std::string& where = "model");
  json to_json() const;
  // Hugging Face GPT2Config fields plus our extra fields (config.json of a checkpoint).
  json to_hf_json() const;
  static GPTConfig from_hf_json(const json& j);
  bool operator==(const GPTConfig&) const = default;
};

}  // namespace gpt
