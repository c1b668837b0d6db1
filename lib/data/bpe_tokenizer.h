#pragma once
// GPT-2 byte-level BPE (OpenAI's encoder.py, Hugging Face's GPT2Tokenizer): text is cut into
// words by the GPT-2 regex, each word's UTF-8 bytes start as one token per byte, and merges are
// applied lowest rank first. Vocabulary files spell bytes through GPT-2's byte<->unicode map
// (printable characters stand for bytes so that the files are valid JSON/text); we turn
// them back into bytes when loading, so encoding works on raw bytes and any input, valid
// UTF-8 or not, round-trips: decode(encode(b)) == b.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gpt {

// GPT-2's bytes_to_unicode(): printable Latin-1 bytes map to themselves, the other 68 to
// U+0100..U+0143 in byte order. A bijection between the 256 bytes and 256 code points.
char32_t byte_to_unicode(uint8_t b);
// The byte a code point stands for, or -1 when it is not one of the 256.
int unicode_to_byte(char32_t cp);

class BpeTokenizer {
 public:
  static constexpr const char* kEndOfText = "<|endoftext|>";

  // Reads DIR/vocab.json + DIR/merges.txt (Hugging Face names) or DIR/encoder.json +
  // DIR/vocab.bpe (OpenAI names; the same content). Errors name the file and the line.
  static BpeTokenizer load(const std::filesystem::path& dir);
  // The (vocabulary, merges) files load reads from dir; errors when dir lacks both pairs.
  static std::pair<std::filesystem::path, std::filesystem::path> find_files(const std::filesystem::path& dir);
  // The same from the files' contents; `where` names them in errors.
  static BpeTokenizer from_strings(std::string_view vocab_json, std::string_view merges_txt,
                                   const std::string& vocab_name = "vocab.json",
                                   const std::string& merges_name = "merges.txt");

  BpeTokenizer(BpeTokenizer&&) noexcept;
  BpeTokenizer& operator=(BpeTokenizer&&) noexcept;
  ~BpeTokenizer();

  // One more than the largest id in the vocabulary (50257 for GPT-2).
  int vocab_size() const;
  int num_merges() const;
  // The id of <|endoftext|> (50256 for GPT-2), or -1 when the vocabulary lacks it.
  int32_t eot_id() const;
  // The bytes a token decodes to; throws for an id outside the vocabulary.
  const std::string& token_bytes(int32_t id) const;

  // Appends the ids of text to out. With allow_special, "<|endoftext|>" in the text is the
  // special token (as tiktoken's allowed_special="all"); without it, it is ordinary text.
  // Not safe to call from two threads at once: the pre-tokeniser's match buffer and the
  // merge cache are shared. Use one tokenizer per thread.
  void encode(std::string_view text, std::vector<int32_t>& out, bool allow_special = true) const;
  std::vector<int32_t> encode(std::string_view text, bool allow_special = true) const;
  std::string decode(std::span<const int32_t> ids) const;

  // BPE of one pre-tokenised word, bypassing the cache (tests compare the two).
  std::vector<int32_t> bpe_uncached(std::string_view word) const;
  void clear_cache() const;
  size_t cache_size() const;

  // The largest prefix length of text after which encoding text[0, n) and text[n, end)
  // separately gives the same ids as encoding text whole (0 when there is none): streamed
  // input is cut there. It is a point where an ASCII non-space byte meets an ASCII space.
  static size_t safe_split(std::string_view text);

 private:
  BpeTokenizer();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gpt
