#pragma once
// The tokenizer a checkpoint directory carries, whichever kind it is: gpt-train writes
// tokenizer.json (char vocabularies); GPT-2 checkpoints from Hugging Face carry vocab.json +
// merges.txt (or OpenAI's encoder.json + vocab.bpe). Tools encode prompts and decode output
// through this one type so they need not care which.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "data/bpe_tokenizer.h"
#include "data/char_tokenizer.h"

namespace gpt {

class TextCodec {
 public:
  explicit TextCodec(CharTokenizer t) : tok_(std::move(t)) {}
  explicit TextCodec(BpeTokenizer t, std::string fingerprint) : tok_(std::move(t)), fingerprint_(std::move(fingerprint)) {}

  // The checkpoint's tokenizer, or nullopt when the directory has none. Checked against the
  // model's vocabulary: a tokenizer with more tokens than the model belongs to another model.
  static std::optional<TextCodec> load(const std::filesystem::path& ckpt, int model_vocab);

  const char* kind() const { return std::holds_alternative<CharTokenizer>(tok_) ? "char" : "gpt2"; }
  int vocab_size() const;
  std::vector<int32_t> encode(std::string_view text) const;
  std::string decode(std::span<const int32_t> ids) const;
  // Equal for tokenizers that map text to the same ids (the draft/target check).
  bool same_as(const TextCodec& o) const;

 private:
  std::variant<CharTokenizer, BpeTokenizer> tok_;
  std::string fingerprint_;  // BPE: the vocabulary and merges files' contents
};

// GPT-2's vocabulary size: a checkpoint this wide without tokenizer files was almost surely
// trained on GPT-2 BPE, and errors say which files to put beside it.
constexpr int kGpt2Vocab = 50257;

}  // namespace gpt
