#include "infer/prompt.h"

#include <climits>
#include <iostream>
#include <iterator>

#include "core/error.h"
#include "core/fsutil.h"
#include "core/json_util.h"

namespace gpt {

void add_prompt_flags(CLI::App& app, PromptFlags& f) {
  auto* t = app.add_option("--prompt", f.text, "prompt text (default: a newline)");
  auto* file = app.add_option("--prompt-file", f.file, "read the prompt from a file ('-' for stdin)");
  auto* ids = app.add_option("--prompt-tokens", f.tokens, "the prompt as token ids, e.g. 1,2,3");
  t->excludes(file)->excludes(ids);
  file->excludes(ids);
}

void add_sampling_flags(CLI::App& app, SamplingFlags& f) {
  app.add_option("--max-new-tokens", f.max_new, "tokens to generate per sample (>= 0)")->capture_default_str();
  app.add_option("--temperature", f.sampling.temperature, "softmax temperature; 0 = greedy (argmax, no random draws)")
      ->capture_default_str();
  app.add_option("--top-k", f.sampling.top_k, "keep the k most likely tokens (0 = all)")->capture_default_str();
  app.add_option("--top-p", f.sampling.top_p, "keep the smallest most-likely set with this mass, in (0, 1]")
      ->capture_default_str();
  app.add_option("--seed", f.seed, "random seed; sample s draws from the stream splitmix64(seed + s)")
      ->capture_default_str();
}

void validate(const SamplingFlags& f) {
  check(f.max_new >= 0, "--max-new-tokens must be >= 0 (got {})", f.max_new);
  f.sampling.validate();
}

std::optional<CharTokenizer> load_tokenizer(const std::filesystem::path& ckpt, int model_vocab) {
  const auto path = ckpt / "tokenizer.json";
  if (!std::filesystem::exists(path)) return std::nullopt;
  auto tok = CharTokenizer::from_json(parse_json_file(path.string()));
  check(tok.vocab_size() <= model_vocab,
        "{} has {} tokens but the model's vocabulary is {}: the tokenizer belongs to another model", path.string(),
        tok.vocab_size(), model_vocab);
  return tok;
}

std::vector<int32_t> parse_token_list(const std::string& s) {
  std::vector<int32_t> ids;
  size_t i = 0;
  while (i <= s.size()) {
    size_t j = s.find(',', i);
    if (j == std::string::npos) j = s.size();
    const std::string item = s.substr(i, j - i);
    size_t used = 0;
    long long v = -1;
    try {
      v = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    check(used > 0 && used == item.size() && v >= 0 && v <= INT32_MAX,
          "--prompt-tokens: '{}' is not a token id (give non-negative integers separated by commas, e.g. 1,2,3)", item);
    ids.push_back(int32_t(v));
    i = j + 1;
  }
  return ids;
}

std::vector<int32_t> prompt_ids(const PromptFlags& f, const std::optional<CharTokenizer>& tok, int model_vocab,
                                const std::string& ckpt) {
  std::vector<int32_t> ids;
  if (!f.tokens.empty()) {
    ids = parse_token_list(f.tokens);
  } else {
    std::string text = f.text.value_or("\n");
    if (!f.file.empty())
      text = f.file == "-" ? std::string(std::istreambuf_iterator<char>(std::cin), {}) : read_file(f.file);
    check(!text.empty(), "the prompt is empty; give at least one character (or --prompt-tokens)");
    check(tok.has_value(), "{} has no tokenizer.json, so text cannot be encoded; give the prompt as --prompt-tokens 1,2,3",
          ckpt);
    ids = tok->encode(text);
  }
  check(!ids.empty(), "the prompt is empty; give at least one token");
  for (size_t i = 0; i < ids.size(); ++i)
    check(ids[i] < model_vocab, "prompt token id {} (position {}) is outside the model's vocabulary [0, {})", ids[i], i,
          model_vocab);
  return ids;
}

}  // namespace gpt
