#include "model/config.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

namespace gpt {

const char* activation_name(Activation a) {
  switch (a) {
    case Activation::GeluTanh: return "gelu_tanh";
    case Activation::Gelu: return "gelu";
    case Activation::Tanh: return "tanh";
    case Activation::Relu: return "relu";
  }
  return "?";
}

Activation parse_activation(const std::string& s) {
  // HF spells the tanh approximation "gelu_new" (GPT-2) or "gelu_pytorch_tanh".
  if (s == "gelu_tanh" || s == "gelu_new" || s == "gelu_pytorch_tanh" || s == "gelu_fast") return Activation::GeluTanh;
  if (s == "gelu") return Activation::Gelu;
  if (s == "tanh") return Activation::Tanh;
  if (s == "relu") return Activation::Relu;
  fail("unknown activation '{}'; use gelu_tanh, gelu, tanh or relu", s);
}

void GPTConfig::validate() const {
  check(vocab_size > 0, "model.vocab_size must be positive, got {}", vocab_size);
  check(vocab_size <= (1 << 24), "model.vocab_size {} is too large (max 16777216)", vocab_size);
  check(block_size > 0, "model.block_size must be positive, got {}", block_size);
  check(n_layer > 0, "model.n_layer must be positive, got {}", n_layer);
  check(n_head > 0, "model.n_head must be positive, got {}", n_head);
  check(n_embd > 0, "model.n_embd must be positive, got {}", n_embd);
  check(n_embd % n_head == 0, "model.n_embd ({}) must be divisible by model.n_head ({})", n_embd, n_head);
  check(dropout >= 0.0f && dropout < 1.0f, "model.dropout must be in [0, 1), got {}", dropout);
  check(layer_norm_epsilon > 0.0f, "model.layer_norm_epsilon must be positive, got {}", layer_norm_epsilon);
  check(conv_layers >= 0 && conv_layers <= n_layer, "model.conv_layers must be in [0, n_layer = {}], got {}",
        n_layer, conv_layers);
  check(conv_width >= 1 && conv_width <= 64, "model.conv_width must be in [1, 64], got {}", conv_width);
  // A width without conv layers would be saved nowhere and silently lost.
  check(conv_layers > 0 || conv_width == 4,
        "model.conv_width = {} has no effect with model.conv_layers = 0; set conv_layers or drop conv_width",
        conv_width);
  // Keep every buffer index inside int64 and the parameter count sane.
  check(int64_t(n_embd) * n_embd * n_layer < (int64_t(1) << 40), "model is too large");
}

GPTConfig GPTConfig::from_json(const json& j, const std::string& where) {
  GPTConfig c;
  JsonReader r(j, where);
  std::string act = activation_name(c.activation);
  r.get("vocab_size", c.vocab_size);
  r.get("block_size", c.block_size);
  r.get("n_layer", c.n_layer);
  r.get("n_head", c.n_head);
  r.get("n_embd", c.n_embd);
  r.get("bias", c.bias);
  r.get("dropout", c.dropout);
  r.get("activation", act);
  r.get("layernorm", c.layernorm);
  r.get("mlp", c.mlp);
  r.get("tie_embeddings", c.tie_embeddings);
  r.get("layer_norm_epsilon", c.layer_norm_epsilon);
  r.get("conv_layers", c.conv_layers);
  r.get("conv_width", c.conv_width);
  r.finish();
  c.activation = parse_activation(act);
  c.validate();
  return c;
}

json GPTConfig::to_json() const {
  return {{"vocab_size", vocab_size}, {"block_size", block_size}, {"n_layer", n_layer},
          {"n_head", n_head}, {"n_embd", n_embd}, {"bias", bias}, {"dropout", dropout},
          {"activation", activation_name(activation)}, {"layernorm", layernorm}, {"mlp", mlp},
          {"tie_embeddings", tie_embeddings}, {"layer_norm_epsilon", layer_norm_epsilon},
          {"conv_layers", conv_layers}, {"conv_width", conv_width}};
}

json GPTConfig::to_hf_json() const {
  const char* hf_act = activation == Activation::GeluTanh ? "gelu_new" : activation_name(activation);
  json j = {{"architectures", {"GPT2LMHeadModel"}},
          {"model_type", "gpt2"},
          {"vocab_size", vocab_size},
          {"n_positions", block_size},
          {"n_ctx", block_size},
          {"n_layer", n_layer},
          {"n_head", n_head},
          {"n_embd", n_embd},
          {"n_inner", nullptr},
          {"activation_function", hf_act},
          // The float's shortest decimal (1e-05, not 9.999999747378752e-06), as Python writes it.
          {"layer_norm_epsilon", std::stod(fmt::format("{}", layer_norm_epsilon))},
          {"resid_pdrop", dropout},
          {"embd_pdrop", dropout},
          {"attn_pdrop", dropout},
          {"tie_word_embeddings", tie_embeddings},
          {"initializer_range", 0.02},
          {"bos_token_id", vocab_size - 1},
          {"eos_token_id", vocab_size - 1},
          {"gptkit", {{"bias", bias}, {"mlp", mlp}, {"layernorm", layernorm},
                      {"tie_embeddings", tie_embeddings}, {"activation", activation_name(activation)}}}};
  // Short-conv layers are not GPT-2: another model_type keeps Hugging Face from loading the
  // file as a GPT-2 with missing weights; gptkit reads it (docs/formats.md).
  if (conv_layers > 0) {
    j["model_type"] = "gptkit";
    j["architectures"] = {"GptkitShortConvLM"};
    j["gptkit"]["conv_layers"] = conv_layers;
    j["gptkit"]["conv_width"] = conv_width;
  }
  return j;
}

GPTConfig GPTConfig::from_hf_json(const json& j) {
  check(j.is_object(), "config.json must be a JSON object");
  if (j.contains("model_type")) {
    check(j["model_type"].is_string(), "config.json: model_type must be a string");
    const std::string mt = j["model_type"].get<std::string>();
    check(mt == "gpt2" || mt == "gptkit",
          "config.json: model_type is '{}', but gptkit runs GPT-2-architecture models only (model_type \"gpt2\", or "
          "\"gptkit\" for its short-conv variant)", mt);
  }
  // GPT2Config switches that change the math; the defaults are what gptkit computes.
  auto must_be = [&](const char* k, bool want) {
    if (j.contains(k) && !j[k].is_null())
      check(j[k].is_boolean() && j[k].get<bool>() == want, "config.json: {} = {} is not supported (gptkit computes "
            "GPT-2 with {} = {})", k, j[k].dump(), k, want);
  };
  must_be("scale_attn_weights", true);
  must_be("scale_attn_by_inverse_layer_idx", false);
  must_be("add_cross_attention", false);
  GPTConfig c;
  auto num = [&](const char* k, auto& out) {
    using T = std::remove_reference_t<decltype(out)>;
    if (!j.contains(k)) return;
    check(j[k].is_number(), "config.json: {} must be a number", k);
    if constexpr (std::is_integral_v<T>) {
      // A float (1e20) or an int64 out of range would not convert to int (undefined behaviour).
      check(j[k].is_number_integer() && j[k].get<int64_t>() >= INT32_MIN && j[k].get<int64_t>() <= INT32_MAX,
            "config.json: {} must be an integer, got {}", k, j[k].dump());
    } else {
      check(std::abs(j[k].get<double>()) <= double(std::numeric_limits<T>::max()), "config.json: {} = {} is out of range",
            k, j[k].dump());
    }
    out = j[k].get<T>();
  };
  num("vocab_size", c.vocab_size);
  num("n_positions", c.block_size);
  num("n_layer", c.n_layer);
  num("n_head", c.n_head);
  num("n_embd", c.n_embd);
  num("layer_norm_epsilon", c.layer_norm_epsilon);
  num("resid_pdrop", c.dropout);
  if (j.contains("n_inner") && !j["n_inner"].is_null()) {
    check(j["n_inner"].is_number_integer() && j["n_inner"].get<int>() == 4 * c.n_embd,
          "config.json: n_inner must be null or 4*n_embd; other MLP widths are not supported");
  }
  if (j.contains("activation_function")) {
    check(j["activation_function"].is_string(), "config.json: activation_function must be a string");
    c.activation = parse_activation(j["activation_function"].get<std::string>());
  }
  if (j.contains("tie_word_embeddings")) {
    check(j["tie_word_embeddings"].is_boolean(), "config.json: tie_word_embeddings must be a boolean");
    c.tie_embeddings = j["tie_word_embeddings"].get<bool>();
  }
  if (j.contains("gptkit")) {
    const json& g = j["gptkit"];
    check(g.is_object(), "config.json: gptkit must be an object");
    auto flag = [&](const char* k, bool& out) {
      if (g.contains(k)) {
        check(g[k].is_boolean(), "config.json: gptkit.{} must be a boolean", k);
        out = g[k].get<bool>();
      }
    };
    flag("bias", c.bias);
    flag("mlp", c.mlp);
    flag("layernorm", c.layernorm);
    flag("tie_embeddings", c.tie_embeddings);
    if (g.contains("activation") && g["activation"].is_string())
      c.activation = parse_activation(g["activation"].get<std::string>());
    auto count = [&](const char* k, int& out) {
      if (g.contains(k)) {
        check(g[k].is_number_integer() && g[k].get<int64_t>() >= 0 && g[k].get<int64_t>() <= INT32_MAX,
              "config.json: gptkit.{} must be a non-negative integer, got {}", k, g[k].dump());
        out = g[k].get<int>();
      }
    };
    count("conv_layers", c.conv_layers);
    count("conv_width", c.conv_width);
  }
  c.dropout = 0.0f;  // dropout is a training setting, not part of a saved model
  c.validate();
  return c;
}

}  // namespace gpt
