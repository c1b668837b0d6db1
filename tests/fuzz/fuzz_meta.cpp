// meta.json of a prepared data directory (parse_meta), and the char vocabulary inside it:
// an accepted char vocabulary must survive a write/read round trip.
#include "data/meta.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  gpt::json j = gpt::json::parse(fuzz::text(data, size), nullptr, false);
  if (j.is_discarded()) return 0;
  fuzz::expect_error_only([&] {
    const gpt::DataMeta m = gpt::parse_meta(j, "meta.json");
    if (m.vocab_size < 1) std::abort();
    if (m.tokenizer == "char") {
      const gpt::json again = gpt::char_meta_json(m.chars, m.train_tokens, m.val_tokens, {});
      const gpt::DataMeta m2 = gpt::parse_meta(gpt::json::parse(again.dump()), "again");
      if (!(m2.chars == m.chars)) std::abort();
      const std::string s = m.chars.decode(m.chars.encode(m.chars.decode(std::vector<int32_t>{0})));
      (void)s;
    }
  });
  return 0;
}
