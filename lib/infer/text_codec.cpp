#include "infer/text_codec.h"

#include "core/error.h"
#include "core/fsutil.h"
#include "core/json_util.h"

namespace fs = std::filesystem;

namespace gpt {

std::optional<TextCodec> TextCodec::load(const fs::path& ckpt, int model_vocab) {
  std::optional<TextCodec> out;
  const fs::path char_file = ckpt / "tokenizer.json";
  const bool has_bpe = (fs::exists(ckpt / "vocab.json") || fs::exists(ckpt / "merges.txt")) ||
                       (fs::exists(ckpt / "encoder.json") || fs::exists(ckpt / "vocab.bpe"));
  if (fs::exists(char_file)) {
    out.emplace(CharTokenizer::from_json(parse_json_file(char_file.string())));
  } else if (has_bpe) {
    const auto [v, m] = BpeTokenizer::find_files(ckpt);
    std::string vt = read_file(v), mt = read_file(m);
    BpeTokenizer bpe = BpeTokenizer::from_strings(vt, mt, v.string(), m.string());
    out.emplace(std::move(bpe), std::move(vt) + '\0' + mt);
  } else {
    return std::nullopt;
  }
  check(out->vocab_size() <= model_vocab,
        "{}'s {} tokenizer has {} tokens but the model's vocabulary is {}: the tokenizer belongs to another model",
        ckpt.string(), out->kind(), out->vocab_size(), model_vocab);
  return out;
}

int TextCodec::vocab_size() const {
  return std::visit([](const auto& t) { return t.vocab_size(); }, tok_);
}

std::vector<int32_t> TextCodec::encode(std::string_view text) const {
  return std::visit([&](const auto& t) { return t.encode(text); }, tok_);
}

std::string TextCodec::decode(std::span<const int32_t> ids) const {
  return std::visit([&](const auto& t) { return t.decode(ids); }, tok_);
}

bool TextCodec::same_as(const TextCodec& o) const {
  if (tok_.index() != o.tok_.index()) return false;
  if (const auto* c = std::get_if<CharTokenizer>(&tok_)) return *c == std::get<CharTokenizer>(o.tok_);
  return fingerprint_ == o.fingerprint_;
}

}  // namespace gpt
