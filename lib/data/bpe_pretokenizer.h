#pragma once
// GPT-2's pre-tokeniser: the regex that cuts text into words before BPE runs on each word.
// PCRE2 in UTF + UCP mode gives the Unicode classes (\p{L}, \p{N}, Unicode \s) that GPT-2's
// Python `regex` pattern uses; PCRE2_MATCH_INVALID_UTF lets it run over arbitrary bytes, so
// text that is not valid UTF-8 still splits (the invalid bytes become pieces of their own)
// instead of failing: byte-level BPE can encode any bytes, and so must we.
#include <cstddef>
#include <memory>
#include <string_view>

namespace gpt {

class Gpt2PreTokenizer {
 public:
  Gpt2PreTokenizer();
  ~Gpt2PreTokenizer();
  Gpt2PreTokenizer(Gpt2PreTokenizer&&) noexcept;
  Gpt2PreTokenizer& operator=(Gpt2PreTokenizer&&) noexcept;

  // The next piece of text at or after pos: sets piece and advances pos past it; false at
  // the end. The pieces cover text exactly, in order. A maximal run of bytes that are not
  // valid UTF-8 is one piece. Not safe to call from two threads at once (one match buffer).
  bool next(std::string_view text, size_t& pos, std::string_view& piece) const;

  // Whether JIT compilation succeeded (it is optional; matching works either way).
  bool jit() const;

  static constexpr const char* kPattern =
      R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gpt
