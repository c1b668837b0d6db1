#pragma once
// Prompt and sampling flags shared by gpt-generate and gpt-specdecode, and turning them into
// token ids with a checkpoint's tokenizer.
#include <CLI/CLI.hpp>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "data/char_tokenizer.h"
#include "infer/sampler.h"

namespace gpt {

struct PromptFlags {
  std::optional<std::string> text;
  std::string file, tokens;
};
// --prompt, --prompt-file, --prompt-tokens (mutually exclusive).
void add_prompt_flags(CLI::App& app, PromptFlags& f);

struct SamplingFlags {
  SamplingParams sampling{0.8f, 200, 1.0f};
  int max_new = 200;
  uint64_t seed = 1337;
};
// --max-new-tokens, --temperature, --top-k, --top-p, --seed.
void add_sampling_flags(CLI::App& app, SamplingFlags& f);
// Checks the values (clear errors for negative counts, top-p outside (0, 1], ...).
void validate(const SamplingFlags& f);

// The checkpoint's tokenizer.json, if it has one; checked against the model's vocabulary.
std::optional<CharTokenizer> load_tokenizer(const std::filesystem::path& ckpt, int model_vocab);

// The prompt as token ids: --prompt-tokens as given, else the text (default "\n") encoded.
// Every id is checked against the model's vocabulary; an empty prompt is an error.
std::vector<int32_t> prompt_ids(const PromptFlags& f, const std::optional<CharTokenizer>& tok, int model_vocab,
                                const std::string& ckpt);

// --prompt-tokens syntax: non-negative integers separated by commas.
std::vector<int32_t> parse_token_list(const std::string& s);

}  // namespace gpt
