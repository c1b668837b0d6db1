#pragma once
// Character-level tokenizer: one token per Unicode code point, as nanoGPT's shakespeare_char
// (which works on Python str, i.e. code points, not bytes). Token ids are positions in the
// vocabulary list, which gpt-prepare builds sorted so that ids match nanoGPT's.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/json_util.h"

namespace gpt {

class CharTokenizer {
 public:
  CharTokenizer() = default;
  // Ids are positions in code_points. Duplicates and non-scalar values (surrogates, above
  // U+10FFFF) are errors; a list too long for uint16 token files is too.
  explicit CharTokenizer(std::vector<char32_t> code_points);

  // The largest vocabulary whose ids fit the uint16 tokens of a shard (ids 0..65535).
  static constexpr int kMaxVocab = 65536;

  int vocab_size() const { return int(vocab_.size()); }
  const std::vector<char32_t>& code_points() const { return vocab_; }
  // -1 when cp is not in the vocabulary.
  int32_t id_of(char32_t cp) const;

  // Errors name the offending character and its byte offset, or the invalid UTF-8 byte.
  std::vector<int32_t> encode(std::string_view utf8) const;
  std::string decode(std::span<const int32_t> ids) const;
  std::string decode_one(int32_t id) const;

  // {"type":"char","vocab":["\n"," ","!",...]}: one code point per string, in id order.
  json to_json() const;
  static CharTokenizer from_json(const json& j);

  bool operator==(const CharTokenizer& o) const { return vocab_ == o.vocab_; }

 private:
  std::vector<char32_t> vocab_;
  // Lookup: a dense table for the Basic Multilingual Plane range actually used, and sorted
  // (code point, id) pairs for the rest, so an ASCII vocabulary costs 128 entries, not 1.1M.
  std::vector<int32_t> dense_;
  std::vector<std::pair<char32_t, int32_t>> sparse_;
};

}  // namespace gpt
