// gpt-prepare: text -> train.bin / val.bin token shards (llm.c format) + meta.json.
// Argument parsing only; lib/data/prepare does the work.
#include <spdlog/spdlog.h>

#include <cstdio>

#include "core/error.h"
#include "core/fsutil.h"
#include "core/json_util.h"
#include "core/tool.h"
#include "data/bpe_tokenizer.h"
#include "data/prepare.h"

namespace {

// --encode FILE / --decode FILE: the GPT-2 tokenizer alone, for scripts and cross-checks.
int bpe_only(const gpt::PrepareOptions& opt, const std::string& encode, const std::string& decode, bool json_out) {
  const gpt::BpeTokenizer tok = gpt::BpeTokenizer::load(opt.vocab_dir);
  if (!encode.empty()) {
    const std::string text = gpt::read_file(encode);
    const std::vector<int32_t> ids = tok.encode(text);
    nlohmann::ordered_json j = ids;
    if (json_out) j = {{"bytes", text.size()}, {"tokens", ids.size()}, {"ids", std::move(j)}};
    std::printf("%s\n", j.dump().c_str());
    return 0;
  }
  const gpt::json j = gpt::parse_json_file(decode);
  const gpt::json& arr = j.is_object() && j.contains("ids") ? j["ids"] : j;
  gpt::check(arr.is_array(), "{}: expected a JSON array of token ids (what --encode prints)", decode);
  std::vector<int32_t> ids;
  for (const auto& v : arr) {
    gpt::check(v.is_number_integer(), "{}: token ids must be integers, got {}", decode, v.dump());
    ids.push_back(int32_t(v.get<int64_t>()));
  }
  const std::string text = tok.decode(ids);
  std::fwrite(text.data(), 1, text.size(), stdout);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "Tokenize text into train/val token shards (llm.c format) and meta.json for gpt-train.\n"
      "Example: gpt-prepare --input tinyshakespeare.txt --out data/shakespeare_char\n"
      "         gpt-prepare --input owt.txt --tokenizer gpt2 --vocab gpt2/ --out data/owt"};
  gpt::init_tool(app);
  gpt::PrepareOptions opt;
  std::vector<std::string> inputs;
  std::string vocab, encode, decode;
  bool json_out = false;
  app.add_option("--input,-i", inputs,
                 "text file(s), concatenated in order; - reads standard input (char: UTF-8; gpt2: any bytes)");
  app.add_option("--tokenizer", opt.tokenizer,
                 "char (one token per Unicode character) or gpt2 (GPT-2 byte-level BPE; needs --vocab)")
      ->check(CLI::IsMember({"char", "gpt2"}));
  app.add_option("--vocab", vocab,
                 "gpt2: directory with vocab.json + merges.txt (or encoder.json + vocab.bpe)");
  app.add_option("--val-fraction", opt.val_fraction,
                 "fraction of the tokens, taken from the end, that goes to val.bin; in [0, 1)");
  app.add_option("--out,-o", opt.out_dir, "output directory (created if missing)");
  auto* enc = app.add_option("--encode", encode,
                             "gpt2: print the token ids of FILE as a JSON array on stdout (no shards written)");
  auto* dec = app.add_option("--decode", decode,
                             "gpt2: read a JSON array of token ids from FILE and write the text to stdout");
  enc->excludes(dec);
  app.add_flag("--json", json_out, "print the result as one JSON object on stdout");

  return gpt::run_tool(app, argc, argv, [&] {
    const bool only = !encode.empty() || !decode.empty();
    if (opt.tokenizer == "gpt2" && vocab.empty())
      throw gpt::UsageError("--tokenizer gpt2 needs --vocab DIR (the directory with GPT-2's vocab.json and merges.txt)");
    if (opt.tokenizer != "gpt2" && !vocab.empty())
      throw gpt::UsageError("--vocab is only for --tokenizer gpt2");
    if (only && opt.tokenizer != "gpt2") throw gpt::UsageError("--encode and --decode need --tokenizer gpt2");
    if (only && (!inputs.empty() || !opt.out_dir.empty()))
      throw gpt::UsageError("--encode and --decode take no --input or --out");
    opt.vocab_dir = vocab;
    if (only) return bpe_only(opt, encode, decode, json_out);
    if (inputs.empty()) throw gpt::UsageError("--input is required: the text file(s) to tokenize");
    if (opt.out_dir.empty()) throw gpt::UsageError("--out is required: the directory to write the shards to");
    if (!(opt.val_fraction >= 0.0 && opt.val_fraction < 1.0))
      throw gpt::UsageError(fmt::format("--val-fraction must be in [0, 1), got {}", opt.val_fraction));
    for (const auto& s : inputs) opt.inputs.emplace_back(s);
    gpt::PrepareResult r = gpt::prepare_dataset(opt);
    spdlog::info("vocab {} {}; train.bin {} tokens, val.bin {} tokens; wrote {} in {:.2f} s", r.vocab_size,
                 opt.tokenizer == "char" ? "characters" : "tokens (GPT-2 BPE)", r.train_tokens, r.val_tokens,
                 opt.out_dir.string(), r.seconds);
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
