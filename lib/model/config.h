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

  int head_dim() const { return n_embd / n_head; }
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
