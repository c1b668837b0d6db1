// Token files (llm.c shards and headerless nanoGPT .bin) opened by TokenFile. Every token the
// reader exposes must be inside the file.
#include "data/token_file.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = fuzz::as_file(data, size);
  fuzz::expect_error_only([&] {
    gpt::TokenFile f(path);
    const int64_t header = f.has_header() ? gpt::kShardHeaderBytes : 0;
    if (f.size() <= 0 || header + 2 * f.size() != int64_t(size)) std::abort();
    uint32_t sum = 0;
    for (uint16_t t : f.tokens()) sum += t;
    if (f.max_token() < 0 || (sum == 0 && f.max_token() != 0)) std::abort();
  });
  return 0;
}
