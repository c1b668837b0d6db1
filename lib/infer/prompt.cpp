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
  auto* jl = app.add_option("--prompts-jsonl", f.jsonl,
                            "a batch of prompts: the \"prompt\" field of each line; those longer than --prompt-length "
                            "tokens are cut to it and the first --num-samples used (HumanEval's jsonl works)");
  app.add_option("--prompt-length", f.prompt_length, "prompt length in tokens for --prompts-jsonl")->capture_default_str();
  app.add_option("--preset", f.preset,
                 "the course's runs: course-kv (32 prompts of 128 tokens, 128 new) or course-spec (1 prompt of 192, "
                 "256 new); both at temperature 0.4, top-k 200. Needs --prompts-jsonl; other flags override it")
      ->check(CLI::IsMember({"course-kv", "course-spec"}));
  t->excludes(file)->excludes(ids)->excludes(jl);
  file->excludes(ids)->excludes(jl);
  ids->excludes(jl);
}

namespace {
constexpr CoursePreset kPresets[] = {
    // sample.py --batch_size=32 --max_new_tokens=128 --prompt_length=128 (temperature and top-k
    // are the harness's defaults); the speculative run drafts 4 tokens, the method's default.
    {"course-kv", 32, 128, 128, 0.4f, 200, 4},
    {"course-spec", 1, 192, 256, 0.4f, 200, 4},
};
}  // namespace

const CoursePreset& course_preset(const std::string& name) {
  for (const auto& p : kPresets)
    if (name == p.name) return p;
  fail("unknown preset '{}'; use course-kv or course-spec", name);
}

void apply_preset(const CLI::App& app, PromptFlags& f, SamplingFlags& sf, int* batch, int* gamma) {
  if (f.preset.empty()) return;
  const CoursePreset& p = course_preset(f.preset);
  if (f.jsonl.empty())
    throw UsageError(fmt::format("--preset {} runs on a prompt set: add --prompts-jsonl FILE (e.g. HumanEval's "
                                 "humaneval.jsonl)", f.preset));
  auto unset = [&](const char* flag) { return app.get_option(flag)->count() == 0; };
  if (unset("--prompt-length")) f.prompt_length = p.prompt_length;
  if (unset("--max-new-tokens")) sf.max_new = p.max_new;
  if (unset("--temperature")) sf.sampling.temperature = p.temperature;
  if (unset("--top-k")) sf.sampling.top_k = p.top_k;
  if (batch && unset("--num-samples")) *batch = p.batch;
  if (gamma && unset("--gamma")) *gamma = p.gamma;
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

std::optional<TextCodec> load_tokenizer(const std::filesystem::path& ckpt, int model_vocab) {
  return TextCodec::load(ckpt, model_vocab);
}

namespace {

// A file argument, where "-" is stdin (as for gpt-prepare's inputs).
std::string read_text_arg(const std::string& file) {
  return file == "-" ? std::string(std::istreambuf_iterator<char>(std::cin), {}) : read_file(file);
}

// Text needs a tokenizer; say which files would give one.
void require_tokenizer(const std::optional<TextCodec>& tok, int model_vocab, const std::string& ckpt) {
  if (tok) return;
  if (model_vocab >= kGpt2Vocab)
    fail("{} has no tokenizer beside its weights, and its {}-token vocabulary looks like GPT-2's BPE: copy the "
         "model's vocab.json and merges.txt (Hugging Face) or encoder.json and vocab.bpe (OpenAI) into it, or give "
         "the prompt as --prompt-tokens 1,2,3",
         ckpt, model_vocab);
  fail("{} has no tokenizer.json, so text cannot be encoded; give the prompt as --prompt-tokens 1,2,3", ckpt);
}

void check_ids(const std::vector<int32_t>& ids, int model_vocab) {
  for (size_t i = 0; i < ids.size(); ++i)
    check(ids[i] < model_vocab, "prompt token id {} (position {}) is outside the model's vocabulary [0, {})", ids[i],
          i, model_vocab);
}

}  // namespace

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

std::vector<int32_t> prompt_ids(const PromptFlags& f, const std::optional<TextCodec>& tok, int model_vocab,
                                const std::string& ckpt) {
  std::vector<int32_t> ids;
  if (!f.tokens.empty()) {
    ids = parse_token_list(f.tokens);
  } else {
    std::string text = f.text.value_or("\n");
    if (!f.file.empty())
      text = read_text_arg(f.file);
    check(!text.empty(), "the prompt is empty; give at least one character (or --prompt-tokens)");
    require_tokenizer(tok, model_vocab, ckpt);
    ids = tok->encode(text);
  }
  check(!ids.empty(), "the prompt is empty; give at least one token");
  check_ids(ids, model_vocab);
  return ids;
}

std::vector<std::vector<int32_t>> jsonl_prompts(const std::string& file, const std::optional<TextCodec>& tok,
                                                int model_vocab, const std::string& ckpt, int length, int count) {
  check(length >= 1, "--prompt-length must be >= 1 (got {})", length);
  require_tokenizer(tok, model_vocab, ckpt);
  const std::string text = read_text_arg(file);
  std::vector<std::vector<int32_t>> out;
  int lines = 0, prompts = 0, long_enough = 0;
  size_t i = 0;
  while (i < text.size()) {
    size_t j = text.find('\n', i);
    if (j == std::string::npos) j = text.size();
    const std::string_view line(text.data() + i, j - i);
    ++lines;
    i = j + 1;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    const json row = json::parse(line, nullptr, /*allow_exceptions=*/false);
    check(!row.is_discarded() && row.is_object() && row.contains("prompt") && row["prompt"].is_string(),
          "{} line {}: expected a JSON object with a string \"prompt\" field (one per line, as HumanEval's jsonl)",
          file, lines);
    ++prompts;
    std::vector<int32_t> ids = tok->encode(row["prompt"].get<std::string>());
    // The course harness keeps prompts strictly longer than the length, then cuts them to it.
    if (int(ids.size()) <= length) continue;
    ++long_enough;
    if (int(out.size()) < count) {
      ids.resize(size_t(length));
      check_ids(ids, model_vocab);
      out.push_back(std::move(ids));
    }
  }
  check(int(out.size()) == count,
        "{}: {} of its {} prompts are longer than --prompt-length {} tokens, but the batch needs {}; lower "
        "--prompt-length or the batch size",
        file, long_enough, prompts, length, count);
  return out;
}

}  // namespace gpt
