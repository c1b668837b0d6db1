// GPT-2 tokenizer files (vocab.json + merges.txt, BpeTokenizer::from_strings). Input: the
// vocab JSON, a NUL byte, merges.txt, a NUL byte, then text to encode. Whatever files are
// accepted, encoding starts from the 256 byte tokens and merges only what the vocabulary
// spells as a concatenation, so decode(encode(text)) must give the text back.
#include "data/bpe_tokenizer.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in = fuzz::text(data, size);
  const size_t a = in.find('\0');
  if (a == std::string_view::npos) return 0;
  const size_t b = in.find('\0', a + 1);
  const std::string_view vocab = in.substr(0, a);
  const std::string_view merges = in.substr(a + 1, b == std::string_view::npos ? std::string_view::npos : b - a - 1);
  const std::string_view sample = b == std::string_view::npos ? std::string_view("hello world") : in.substr(b + 1);
  fuzz::expect_error_only([&] {
    const gpt::BpeTokenizer t = gpt::BpeTokenizer::from_strings(vocab, merges);
    for (bool special : {true, false}) {
      const std::vector<int32_t> ids = t.encode(sample, special);
      for (int32_t id : ids)
        if (id < 0 || id >= t.vocab_size()) std::abort();
      if (t.decode(ids) != sample) std::abort();
    }
  });
  return 0;
}
