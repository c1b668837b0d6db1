#pragma once
// Text -> token shards + meta.json (what gpt-prepare does). Inputs are streamed twice: the
// first pass collects the vocabulary and the token count, so the split point and both shard
// headers are known before the second pass encodes, and memory stays flat for any input size.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace gpt {

struct PrepareOptions {
  // Concatenated in order. "-" is standard input (read once and buffered; at most one).
  std::vector<std::filesystem::path> inputs;
  std::string tokenizer = "char";
  // For "gpt2": the directory with vocab.json + merges.txt (or encoder.json + vocab.bpe).
  std::filesystem::path vocab_dir;
  double val_fraction = 0.1;
  std::filesystem::path out_dir;
};

struct PrepareResult {
  int vocab_size = 0;
  int64_t train_tokens = 0, val_tokens = 0;
  double seconds = 0;
  std::vector<std::filesystem::path> files;  // what was written, meta.json last
};

// Writes OUT/train.bin, OUT/val.bin (omitted when val_fraction is 0) and OUT/meta.json.
// meta.json is removed first and written last, so an interrupted run leaves no meta.json
// and the trainer refuses the directory instead of mixing old and new shards.
// Errors: no or empty input, unreadable input, invalid UTF-8 (file and byte offset), more than
// 65536 distinct characters, val_fraction outside [0, 1), a split that leaves train or val
// empty, an unwritable out_dir, an unknown tokenizer. With tokenizer "gpt2" the input may be
// any bytes (byte-level BPE); the vocabulary's errors are BpeTokenizer::load's.
PrepareResult prepare_dataset(const PrepareOptions& opt);

// nanoGPT's split: the first floor(n * (1 - val_fraction)) tokens train, the rest validate.
int64_t split_train_tokens(int64_t n, double val_fraction);

}  // namespace gpt
