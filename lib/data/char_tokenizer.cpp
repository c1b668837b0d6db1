#include "data/char_tokenizer.h"

#include <algorithm>

#include "core/error.h"
#include "data/utf8.h"

namespace gpt {

namespace {
constexpr char32_t kDenseLimit = 0x10000;

// Characters shown in messages: control characters as escapes so the message stays on one line.
std::string printable(char32_t cp) {
  if (cp == '\n') return "\\n";
  if (cp == '\t') return "\\t";
  if (cp == '\r') return "\\r";
  if (cp < 0x20 || cp == 0x7F) return "";
  return to_utf8(cp);
}

std::string describe_char(char32_t cp) {
  std::string p = printable(cp);
  return p.empty() ? code_point_name(cp) : fmt::format("'{}' ({})", p, code_point_name(cp));
}
}  // namespace

CharTokenizer::CharTokenizer(std::vector<char32_t> code_points) : vocab_(std::move(code_points)) {
  check(vocab_.size() <= size_t(kMaxVocab),
        "a character vocabulary of {} entries is too large: token files store uint16 ids, so at most {} "
        "distinct characters fit",
        vocab_.size(), kMaxVocab);
  char32_t max_dense = 0;
  for (size_t i = 0; i < vocab_.size(); ++i) {
    char32_t cp = vocab_[i];
    check(is_scalar_value(cp), "character vocabulary entry {} is {}, which is not a Unicode scalar value", i,
          code_point_name(cp));
    if (cp < kDenseLimit) max_dense = std::max(max_dense, char32_t(cp + 1));
    else sparse_.emplace_back(cp, int32_t(i));
  }
  dense_.assign(max_dense, -1);
  for (size_t i = 0; i < vocab_.size(); ++i) {
    char32_t cp = vocab_[i];
    if (cp >= kDenseLimit) continue;
    check(dense_[cp] < 0, "character vocabulary lists {} twice (entries {} and {})", describe_char(cp), dense_[cp],
          i);
    dense_[cp] = int32_t(i);
  }
  std::sort(sparse_.begin(), sparse_.end());
  for (size_t i = 1; i < sparse_.size(); ++i)
    check(sparse_[i].first != sparse_[i - 1].first, "character vocabulary lists {} twice",
          describe_char(sparse_[i].first));
}

int32_t CharTokenizer::id_of(char32_t cp) const {
  if (cp < dense_.size()) return dense_[cp];
  if (cp < kDenseLimit) return -1;
  auto it = std::lower_bound(sparse_.begin(), sparse_.end(), std::pair<char32_t, int32_t>(cp, -1));
  return it != sparse_.end() && it->first == cp ? it->second : -1;
}

std::vector<int32_t> CharTokenizer::encode(std::string_view utf8) const {
  std::vector<int32_t> ids;
  ids.reserve(utf8.size());
  Utf8Decoder dec;
  dec.feed(utf8, [&](char32_t cp) {
    int32_t id = id_of(cp);
    if (id < 0) {
      // The decoder has consumed the whole character; its first byte lies len bytes back.
      int64_t at = dec.offset() + 1 - int64_t(to_utf8(cp).size());
      fail("character {} at byte offset {} is not in the tokenizer's vocabulary of {} characters", describe_char(cp),
           at, vocab_size());
    }
    ids.push_back(id);
  });
  dec.finish();
  return ids;
}

std::string CharTokenizer::decode_one(int32_t id) const {
  check(id >= 0 && id < vocab_size(), "token id {} is out of range for a character vocabulary of {}", id,
        vocab_size());
  return to_utf8(vocab_[size_t(id)]);
}

std::string CharTokenizer::decode(std::span<const int32_t> ids) const {
  std::string s;
  s.reserve(ids.size());
  for (int32_t id : ids) {
    check(id >= 0 && id < vocab_size(), "token id {} is out of range for a character vocabulary of {}", id,
          vocab_size());
    append_utf8(s, vocab_[size_t(id)]);
  }
  return s;
}

json CharTokenizer::to_json() const {
  json v = json::array();
  for (char32_t cp : vocab_) v.push_back(to_utf8(cp));
  return json{{"type", "char"}, {"vocab", std::move(v)}};
}

CharTokenizer CharTokenizer::from_json(const json& j) {
  check(j.is_object(), "a char tokenizer must be a JSON object with \"type\" and \"vocab\"");
  check(j.contains("type") && j["type"].is_string() && j["type"] == "char",
        "tokenizer \"type\" must be \"char\" for a character vocabulary");
  check(j.contains("vocab") && j["vocab"].is_array(), "char tokenizer \"vocab\" must be an array of strings");
  std::vector<char32_t> cps;
  cps.reserve(j["vocab"].size());
  for (size_t i = 0; i < j["vocab"].size(); ++i) {
    const json& e = j["vocab"][i];
    check(e.is_string(), "char tokenizer vocab entry {} is not a string", i);
    const std::string& s = e.get_ref<const std::string&>();
    std::vector<char32_t> got;
    try {
      Utf8Decoder dec;
      dec.feed(s, [&](char32_t cp) { got.push_back(cp); });
      dec.finish();
    } catch (const Error& err) {
      fail("char tokenizer vocab entry {}: {}", i, err.what());
    }
    check(got.size() == 1, "char tokenizer vocab entry {} must be exactly one character, got {}", i, got.size());
    cps.push_back(got[0]);
  }
  return CharTokenizer(std::move(cps));
}

}  // namespace gpt
