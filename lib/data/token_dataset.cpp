#include <fmt/format.h>

#include "core/error.h"
#include "core/rng.h"
#include "data/dataset.h"
#include "data/token_file.h"

namespace gpt {

namespace {

class TokenDataset final : public Dataset {
 public:
  explicit TokenDataset(const std::filesystem::path& file) : f_(file) {}

  std::string describe() const override {
    return fmt::format("{} ({} tokens, {})", f_.path().string(), f_.size(),
                       f_.has_header() ? "llm.c shard" : "headerless nanoGPT uint16");
  }
  int64_t num_tokens() const override { return f_.size(); }
  int max_token_id() const override { return f_.max_token(); }

  void check_block_size(int T) const override {
    check(T >= 1, "block_size must be at least 1, got {}", T);
    check(f_.size() >= int64_t(T) + 1,
          "{} has {} tokens, too few for block_size {}: a training window needs block_size+1 = {} tokens; use a "
          "smaller block_size or more data",
          f_.path().string(), f_.size(), T, int64_t(T) + 1);
  }

  void batch(uint64_t seed, int B, int T, int32_t* x, int32_t* y) const override {
    check(B >= 1, "batch_size must be at least 1, got {}", B);
    check_block_size(T);
    Rng rng(seed);
    const uint16_t* d = f_.data();
    const uint64_t starts = uint64_t(f_.size() - T);  // valid starts: 0 .. n-T-1
    for (int b = 0; b < B; ++b) {
      const uint16_t* w = d + rng.below(starts);
      int32_t* xb = x + int64_t(b) * T;
      int32_t* yb = y + int64_t(b) * T;
      for (int t = 0; t < T; ++t) {
        xb[t] = w[t];
        yb[t] = w[t + 1];
      }
    }
  }

 private:
  TokenFile f_;
};

}  // namespace

void Dataset::examples(int64_t, int, int, int32_t*, int32_t*) const {
  fail("{} is a token stream, not a set of examples", describe());
}

std::unique_ptr<Dataset> open_token_dataset(const std::filesystem::path& file) {
  return std::make_unique<TokenDataset>(file);
}

}  // namespace gpt
