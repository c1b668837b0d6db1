// gpt-generate: sample text from a checkpoint.
#include <cstdio>
#include <iostream>
#include <iterator>

#include "core/fsutil.h"
#include "core/timer.h"
#include "core/tool.h"
#include "data/char_tokenizer.h"
#include "infer/generate.h"
#include "model/checkpoint.h"

namespace fs = std::filesystem;

int main(int argc, char** argv) {
  CLI::App app{"Sample text from a gptkit checkpoint.\n\nExample:\n"
               "  gpt-generate --ckpt runs/shakespeare_char_cpu/ckpt --prompt 'ROMEO:' --max-new-tokens 200",
               "gpt-generate"};
  gpt::init_tool(app);
  std::string ckpt, prompt = "\n", prompt_file;
  int max_new = 200, num_samples = 1;
  uint64_t seed = 1337;
  gpt::SamplingParams sp;
  sp.temperature = 0.8f;
  sp.top_k = 200;
  bool json_out = false;
  app.add_option("--ckpt", ckpt, "checkpoint directory (model.safetensors, config.json, tokenizer.json)")->required()->check(CLI::ExistingDirectory);
  app.add_option("--prompt", prompt, "prompt text");
  app.add_option("--prompt-file", prompt_file, "read the prompt from a file ('-' for stdin)");
  app.add_option("--max-new-tokens", max_new, "tokens to generate")->check(CLI::NonNegativeNumber);
  app.add_option("--temperature", sp.temperature, "0 = greedy");
  app.add_option("--top-k", sp.top_k, "keep the k most likely tokens (0 = all)");
  app.add_option("--top-p", sp.top_p, "nucleus sampling mass");
  app.add_option("--seed", seed, "random seed");
  app.add_option("--num-samples", num_samples, "independent samples")->check(CLI::PositiveNumber);
  app.add_flag("--json", json_out, "print texts and token ids as JSON on stdout");
  return gpt::run_tool(app, argc, argv, [&] {
    sp.validate();
    if (!prompt_file.empty())
      prompt = prompt_file == "-" ? std::string(std::istreambuf_iterator<char>(std::cin), {}) : gpt::read_file(prompt_file);
    auto model = gpt::load_model(ckpt);
    fs::path tok_path = fs::path(ckpt) / "tokenizer.json";
    gpt::check(fs::exists(tok_path), "{} is missing; this version generates only from char-level checkpoints made by gpt-train", tok_path.string());
    auto tok = gpt::CharTokenizer::from_json(gpt::parse_json_file(tok_path.string()));
    std::vector<int32_t> ids = tok.encode(prompt);
    std::vector<std::vector<int32_t>> seqs(size_t(num_samples), ids);
    std::vector<gpt::Rng> rngs;
    for (int s = 0; s < num_samples; ++s) rngs.emplace_back(gpt::splitmix64(seed + uint64_t(s)));
    double t0 = gpt::now_s();
    gpt::generate_naive(*model, seqs, max_new, sp, rngs);
    double dt = gpt::now_s() - t0;
    gpt::json out = {{"samples", gpt::json::array()}, {"prompt_tokens", ids.size()}, {"new_tokens", max_new},
                     {"decode_tokens_per_s", dt > 0 ? double(max_new) * num_samples / dt : 0.0}, {"kv_cache", false}};
    for (auto& s : seqs) {
      std::string text = tok.decode(s);
      out["samples"].push_back({{"text", text}, {"ids", s}});
      if (!json_out) std::printf("%s\n---\n", text.c_str());
    }
    if (json_out) std::printf("%s\n", out.dump().c_str());
    return 0;
  });
}
