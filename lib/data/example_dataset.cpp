#include <algorithm>

#include <fmt/format.h>

#include "core/error.h"
#include "core/rng.h"
#include "data/dataset.h"
#include "data/example_file.h"

namespace gpt {

namespace {

class ExampleDataset final : public Dataset {
 public:
  explicit ExampleDataset(const std::filesystem::path& file) : path_(file), ex_(read_examples(file)) {}

  std::string describe() const override {
    return fmt::format("{} ({} examples of length {}, {} scored targets)", path_.string(), ex_.n, ex_.seq_len,
                       ex_.scored());
  }
  int64_t num_tokens() const override { return ex_.n * ex_.seq_len; }
  // The file's declared vocabulary, not the largest id that happens to occur: a sample of a
  // large vocabulary (MQAR, V=8192) need not contain its top id.
  int max_token_id() const override { return ex_.vocab_size - 1; }
  int64_t num_examples() const override { return ex_.n; }

  void check_block_size(int T) const override {
    check(T == ex_.seq_len,
          "{} holds examples of length {}, but block_size is {}; set model.block_size={} (each example is one "
          "training row)", path_.string(), ex_.seq_len, T, ex_.seq_len);
  }

  // Examples drawn uniformly with replacement: B independent draws of Rng(seed).below(n).
  void batch(uint64_t seed, int B, int T, int32_t* x, int32_t* y) const override {
    check(B >= 1, "batch_size must be at least 1, got {}", B);
    check_block_size(T);
    Rng rng(seed);
    for (int b = 0; b < B; ++b) copy_row(int64_t(rng.below(uint64_t(ex_.n))), b, x, y);
  }

  void examples(int64_t first, int B, int T, int32_t* x, int32_t* y) const override {
    check_block_size(T);
    for (int b = 0; b < B; ++b) {
      if (first + b < ex_.n) {
        copy_row(first + b, b, x, y);
      } else {  // padding rows: a copy of example 0 with nothing scored
        copy_row(0, b, x, y);
        std::fill(y + int64_t(b) * T, y + int64_t(b + 1) * T, -1);
      }
    }
  }

 private:
  void copy_row(int64_t i, int b, int32_t* x, int32_t* y) const {
    std::copy(ex_.xs(i), ex_.xs(i) + ex_.seq_len, x + int64_t(b) * ex_.seq_len);
    std::copy(ex_.ys(i), ex_.ys(i) + ex_.seq_len, y + int64_t(b) * ex_.seq_len);
  }
  std::filesystem::path path_;
  ExampleSet ex_;
};

}  // namespace

std::unique_ptr<Dataset> open_example_dataset(const std::filesystem::path& file) {
  return std::make_unique<ExampleDataset>(file);
}

std::unique_ptr<Dataset> open_dataset(const std::filesystem::path& file) {
  if (is_example_file(file)) return open_example_dataset(file);
  return open_token_dataset(file);
}

}  // namespace gpt
