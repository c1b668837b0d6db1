// gpt-prepare: text -> train.bin / val.bin token shards (llm.c format) + meta.json.
// Argument parsing only; lib/data/prepare does the work.
#include <spdlog/spdlog.h>

#include <cstdio>

#include "core/error.h"
#include "core/json_util.h"
#include "core/tool.h"
#include "data/prepare.h"

int main(int argc, char** argv) {
  CLI::App app{
      "Tokenize text into train/val token shards (llm.c format) and meta.json for gpt-train.\n"
      "Example: gpt-prepare --input tinyshakespeare.txt --out data/shakespeare_char"};
  gpt::init_tool(app);
  gpt::PrepareOptions opt;
  std::vector<std::string> inputs;
  bool json_out = false;
  app.add_option("--input,-i", inputs, "UTF-8 text file(s), concatenated in order; - reads standard input")
      ->required();
  app.add_option("--tokenizer", opt.tokenizer, "char (one token per Unicode character) or gpt2 (not yet supported)")
      ->check(CLI::IsMember({"char", "gpt2"}));
  app.add_option("--val-fraction", opt.val_fraction,
                 "fraction of the tokens, taken from the end, that goes to val.bin; in [0, 1)");
  app.add_option("--out,-o", opt.out_dir, "output directory (created if missing)")->required();
  app.add_flag("--json", json_out, "print the result as one JSON object on stdout");

  return gpt::run_tool(app, argc, argv, [&] {
    if (!(opt.val_fraction >= 0.0 && opt.val_fraction < 1.0))
      throw gpt::UsageError(fmt::format("--val-fraction must be in [0, 1), got {}", opt.val_fraction));
    for (const auto& s : inputs) opt.inputs.emplace_back(s);
    gpt::PrepareResult r = gpt::prepare_dataset(opt);
    spdlog::info("vocab {} characters; train.bin {} tokens, val.bin {} tokens; wrote {} in {:.2f} s", r.vocab_size,
                 r.train_tokens, r.val_tokens, opt.out_dir.string(), r.seconds);
    if (json_out) {
      nlohmann::ordered_json j;
      j["vocab_size"] = r.vocab_size;
      j["train_tokens"] = r.train_tokens;
      j["val_tokens"] = r.val_tokens;
      j["out_dir"] = opt.out_dir.string();
      j["files"] = nlohmann::ordered_json::array();
      for (const auto& f : r.files) j["files"].push_back(f.string());
      j["seconds"] = r.seconds;
      std::printf("%s\n", j.dump().c_str());
    }
    return 0;
  });
}
