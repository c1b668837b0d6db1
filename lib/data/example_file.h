#pragma once
// Example files: fixed-length examples, each with its own per-position targets, for tasks
// where only some positions are scored (associative recall). Layout (little-endian):
//   header  256 int32: magic 20240807, version 1, examples, seq_len, vocab_size, 0...
//   body    per example: seq_len uint16 inputs, then seq_len uint16 targets
//           (target 65535 = not scored; otherwise the token to predict at that position)
// The header's magic differs from llm.c shards (20240520), so one reader can tell them apart.
#include <cstdint>
#include <filesystem>
#include <vector>

namespace gpt {

constexpr int32_t kExampleMagic = 20240807;
constexpr uint16_t kNoTarget16 = 65535;

// Examples in memory: x and y are [n, seq_len] row-major; y = -1 marks an unscored position.
struct ExampleSet {
  int vocab_size = 0, seq_len = 0;
  int64_t n = 0;
  std::vector<int32_t> x, y;
  const int32_t* xs(int64_t i) const { return x.data() + i * seq_len; }
  const int32_t* ys(int64_t i) const { return y.data() + i * seq_len; }
  int64_t scored() const;  // positions with a target
};

// Writes atomically. Throws if a token or target is outside [0, vocab_size).
void write_examples(const std::filesystem::path& path, const ExampleSet& ex);
// Reads and checks the whole file (sizes, token ranges); errors name the file.
ExampleSet read_examples(const std::filesystem::path& path);
// True when the file starts with the example-file magic.
bool is_example_file(const std::filesystem::path& path);

}  // namespace gpt
