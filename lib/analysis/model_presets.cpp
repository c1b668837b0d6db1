#include "analysis/model_presets.h"

#include <filesystem>

#include "core/error.h"

namespace gpt::analysis {

const std::vector<std::string>& preset_names() {
  static const std::vector<std::string> v = {"gpt2", "gpt2-medium", "gpt2-large", "gpt2-xl",
                                             "shakespeare_char"};
  return v;
}

GPTConfig preset_config(const std::string& name) {
  GPTConfig c;  // defaults are GPT-2 124M
  auto shape = [&](int L, int H, int C) { c.n_layer = L; c.n_head = H; c.n_embd = C; };
  if (name == "gpt2") {
  } else if (name == "gpt2-medium") {
    shape(24, 16, 1024);
  } else if (name == "gpt2-large") {
    shape(36, 20, 1280);
  } else if (name == "gpt2-xl") {
    shape(48, 25, 1600);
  } else if (name == "shakespeare_char") {
    shape(6, 6, 384);
    c.vocab_size = 65;
    c.block_size = 256;
    c.bias = false;
    c.dropout = 0.2f;
  } else {
    std::string list;
    for (auto& n : preset_names()) list += (list.empty() ? "" : ", ") + n;
    throw UsageError("unknown preset '" + name + "'" + did_you_mean(name, preset_names()) +
                     "; known presets: " + list + " (or use --config FILE)");
  }
  return c;
}

namespace {
// The cost model counts attention in every layer; a short-conv layer would be mis-counted.
GPTConfig attention_only(GPTConfig c) {
  if (c.conv_layers > 0)
    throw UsageError("this model has " + std::to_string(c.conv_layers) +
                     " short-conv layer(s) (conv_layers); the cost model covers attention layers only");
  return c;
}
}  // namespace

GPTConfig load_model_config(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path p = path;
  if (fs::is_directory(p, ec)) p /= "config.json";
  if (!fs::exists(p, ec)) throw UsageError("config file '" + p.string() + "' does not exist");
  json j = parse_json_file(p.string());
  check(j.is_object(), "{}: expected a JSON object", p.string());
  if (j.contains("model")) return attention_only(GPTConfig::from_json(j["model"], "model"));
  if (j.contains("n_positions")) return attention_only(GPTConfig::from_hf_json(j));
  return attention_only(GPTConfig::from_json(j, p.filename().string()));
}

GPTConfig preset_or_config(const std::string& s) {
  bool is_path = s.find('/') != std::string::npos || s.ends_with(".json");
  return is_path ? load_model_config(s) : preset_config(s);
}

GPTConfig resolve_model(const std::string& preset, const std::string& config_path,
                        const std::vector<std::string>& sets) {
  if (!preset.empty() && !config_path.empty())
    throw UsageError("give either --preset or --config, not both");
  if (preset.empty() && config_path.empty())
    throw UsageError("no model given: use --preset gpt2|gpt2-medium|gpt2-large|gpt2-xl|shakespeare_char or --config FILE");
  GPTConfig c = preset.empty() ? load_model_config(config_path) : preset_config(preset);
  if (sets.empty()) {
    c.validate();
    return c;
  }
  json j = c.to_json();
  for (const auto& s : sets) {
    if (s.find('=') == std::string::npos)
      throw UsageError("--set expects key=value (e.g. bias=false), got '" + s + "'");
    // Accept the run-config spelling too: "model.n_layer=4" means "n_layer=4" here.
    apply_override(j, s.starts_with("model.") ? s.substr(6) : s);
  }
  try {
    return attention_only(GPTConfig::from_json(j, "model"));
  } catch (const UsageError&) {
    throw;
  } catch (const Error& e) {
    throw UsageError(std::string("--set: ") + e.what());
  }
}

}  // namespace gpt::analysis
