#pragma once
// Where the model shape of `model` and `kv` comes from: a named preset, or a config file
// (a run config with a "model" section, a bare model section, or a checkpoint's config.json).
#include <string>
#include <vector>

#include "model/config.h"

namespace gpt::analysis {

// gpt2, gpt2-medium, gpt2-large, gpt2-xl (OpenAI GPT-2 shapes: bias, tied head, V=50257,
// 1024 positions) and shakespeare_char (nanoGPT's baby GPT: 6/6/384, 256 positions, V=65,
// no bias, dropout 0.2).
const std::vector<std::string>& preset_names();
GPTConfig preset_config(const std::string& name);  // gpt::UsageError for unknown names

// path may be a file or a checkpoint directory (its config.json is read).
GPTConfig load_model_config(const std::string& path);

// A preset name, or else a config path (anything with a '/' or ending in .json).
GPTConfig preset_or_config(const std::string& name_or_path);

// Exactly one of preset / config_path must be non-empty; `sets` are "key=value" overrides of
// model fields (e.g. "bias=false"), applied before validation.
GPTConfig resolve_model(const std::string& preset, const std::string& config_path,
                        const std::vector<std::string>& sets);

}  // namespace gpt::analysis
