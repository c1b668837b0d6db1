#pragma once
// Prompt and sampling flags shared by gpt-generate and gpt-specdecode, and turning them into
// token ids with a checkpoint's tokenizer.
#include <CLI/CLI.hpp>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "infer/sampler.h"
#include "infer/text_codec.h"

namespace gpt {

struct PromptFlags {
  std::optional<std::string> text;
  std::string file, tokens;
  std::string jsonl;       // --prompts-jsonl: a batch of distinct prompts (the course harness)
  int prompt_length = 64;  // --prompt-length: their length in tokens (the harness's default)
  std::string preset;      // --preset course-kv | course-spec
};
// --prompt, --prompt-file, --prompt-tokens, --prompts-jsonl (mutually exclusive), --prompt-length,
// --preset.
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

// The course's two benchmark runs (CS229S P2, sample.py with humaneval.jsonl): their batch,
// prompt length, new tokens and sampling. A flag given on the command line wins over the preset.
struct CoursePreset {
  const char* name;
  int batch, prompt_length, max_new;
  float temperature;
  int top_k, gamma;
};
const CoursePreset& course_preset(const std::string& name);
// Fills the flags the user did not give from f.preset (when set); batch and gamma may be null
// for a tool without them. A preset needs --prompts-jsonl.
void apply_preset(const CLI::App& app, PromptFlags& f, SamplingFlags& sf, int* batch, int* gamma);

// The checkpoint's tokenizer (tokenizer.json, or GPT-2's vocab.json + merges.txt), if it has
// one; checked against the model's vocabulary.
std::optional<TextCodec> load_tokenizer(const std::filesystem::path& ckpt, int model_vocab);

// The prompt as token ids: --prompt-tokens as given, else the text (default "\n") encoded.
// Every id is checked against the model's vocabulary; an empty prompt is an error.
std::vector<int32_t> prompt_ids(const PromptFlags& f, const std::optional<TextCodec>& tok, int model_vocab,
                                const std::string& ckpt);

// The course harness's prompt set: the "prompt" field of each JSONL line, encoded; prompts of
// more than `length` tokens are kept, cut to their first `length`, and the first `count` of
// them (in file order) returned. Too few such prompts is an error that says how many qualify.
std::vector<std::vector<int32_t>> jsonl_prompts(const std::string& file, const std::optional<TextCodec>& tok,
                                                int model_vocab, const std::string& ckpt, int length, int count);

// --prompt-tokens syntax: non-negative integers separated by commas.
std::vector<int32_t> parse_token_list(const std::string& s);

}  // namespace gpt
