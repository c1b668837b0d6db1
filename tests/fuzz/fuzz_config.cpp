// Run configs (gpt-train --config plus --set overrides) and model configs (ours and Hugging
// Face's config.json). Input: a JSON document, optionally followed by a line "--set" and
// then one override (key=value) per line, applied in order as gpt-train does.
#include <cmath>

#include "fuzz_util.h"
#include "model/config.h"
#include "train/train_config.h"

using gpt::json;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in = fuzz::text(data, size);
  const size_t cut = in.find("\n--set\n");
  json j = json::parse(in.substr(0, cut), nullptr, false);
  if (j.is_discarded()) return 0;
  if (cut != std::string_view::npos) {
    std::string_view rest = in.substr(cut + 7);
    while (!rest.empty()) {
      const size_t nl = rest.find('\n');
      const std::string line(rest.substr(0, nl));
      fuzz::expect_error_only([&] { gpt::apply_override(j, line); });
      rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    }
  }
  const json& cj = j;
  fuzz::expect_error_only([&] {
    const gpt::RunConfig c = gpt::RunConfig::from_json(cj);
    // The resolved config is saved in every checkpoint and read back on --resume.
    const gpt::RunConfig again = gpt::RunConfig::from_json(c.to_json());
    if (!(again.model == c.model) || again.train.lr != c.train.lr) std::abort();
    for (int s : {0, c.train.warmup_iters, c.train.max_iters}) (void)gpt::lr_at(c.train, s);
  });
  fuzz::expect_error_only([&] {
    auto it = cj.find("model");
    (void)gpt::GPTConfig::from_json(it == cj.end() ? cj : *it, "model");
  });
  fuzz::expect_error_only([&] {
    const gpt::GPTConfig c = gpt::GPTConfig::from_hf_json(cj);
    (void)gpt::GPTConfig::from_hf_json(c.to_hf_json());
  });
  return 0;
}
