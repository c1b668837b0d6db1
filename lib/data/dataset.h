#pragma once
// What the trainer samples batches from. An interface, because token streams (language
// modelling) and fixed-length examples with masked targets (associative recall) both feed
// the same training loop.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

namespace gpt {

class Dataset {
 public:
  virtual ~Dataset() = default;
  virtual std::string describe() const = 0;
  virtual int64_t num_tokens() const = 0;
  virtual int max_token_id() const = 0;
  // Fills x[B*T] and y[B*T] (row-major, B rows of T); y = -1 marks a target to ignore.
  // A pure function of (seed, B, T): the trainer derives seed from run seed, step and
  // micro-step, so a resumed run draws the same batches without saved sampler state.
  virtual void batch(uint64_t seed, int B, int T, int32_t* x, int32_t* y) const = 0;
  // Throws a clear error when the data cannot give a single window of T inputs + targets.
  virtual void check_block_size(int T) const = 0;
  // Example datasets (fixed-length rows with masked targets) are evaluated over every row
  // rather than sampled windows: num_examples() > 0 says so, and examples() fills B rows
  // starting at row `first` (rows past the end are padding with no targets).
  virtual int64_t num_examples() const { return 0; }
  virtual void examples(int64_t first, int B, int T, int32_t* x, int32_t* y) const;
};

// Random windows over one token file (llm.c shard or headerless nanoGPT .bin), as nanoGPT's
// get_batch: window starts uniform in [0, n-T-1], x = data[i:i+T], y = data[i+1:i+T+1].
// Row b's start is the b-th draw of gpt::Rng(seed).below(n - T).
std::unique_ptr<Dataset> open_token_dataset(const std::filesystem::path& file);
// Fixed-length examples with per-position targets (data/example_file.h), sampled uniformly.
std::unique_ptr<Dataset> open_example_dataset(const std::filesystem::path& file);
// Either kind, told apart by the file's header.
std::unique_ptr<Dataset> open_dataset(const std::filesystem::path& file);

}  // namespace gpt
