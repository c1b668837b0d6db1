#include "data/meta.h"

#include "core/error.h"
#include "data/utf8.h"

namespace fs = std::filesystem;

namespace gpt {

namespace {
int64_t get_count(const json& j, const char* key, const std::string& where) {
  if (!j.contains(key)) return 0;
  check(j[key].is_number_integer() && j[key].get<int64_t>() >= 0, "{}: \"{}\" must be a non-negative integer",
        where, key);
  return j[key].get<int64_t>();
}
}  // namespace

DataMeta parse_meta(const json& j, const std::string& where) {
  check(j.is_object(), "{}: expected a JSON object", where);
  DataMeta m;
  m.raw = j;
  check(j.contains("tokenizer") && j["tokenizer"].is_string(), "{}: missing string field \"tokenizer\"", where);
  m.tokenizer = j["tokenizer"].get<std::string>();
  check(j.contains("vocab_size") && j["vocab_size"].is_number_integer(), "{}: missing integer field \"vocab_size\"",
        where);
  const int64_t v = j["vocab_size"].get<int64_t>();
  check(v >= 1 && v <= CharTokenizer::kMaxVocab, "{}: vocab_size {} is outside 1..{}", where, v,
        CharTokenizer::kMaxVocab);
  m.vocab_size = int(v);
  m.train_tokens = get_count(j, "train_tokens", where);
  m.val_tokens = get_count(j, "val_tokens", where);
  if (m.tokenizer == "char") {
    check(j.contains("vocab"), "{}: a char tokenizer needs the \"vocab\" list", where);
    try {
      m.chars = CharTokenizer::from_json(json{{"type", "char"}, {"vocab", j["vocab"]}});
    } catch (const Error& e) {
      fail("{}: {}", where, e.what());
    }
    check(m.chars.vocab_size() == m.vocab_size, "{}: vocab_size is {} but \"vocab\" lists {} characters", where,
          m.vocab_size, m.chars.vocab_size());
  } else if (m.tokenizer != "gpt2") {
    fail("{}: unknown tokenizer \"{}\" (expected \"char\" or \"gpt2\")", where, m.tokenizer);
  }
  return m;
}

DataMeta load_meta(const fs::path& data_dir) {
  if (!fs::is_directory(data_dir))
    fail("data directory {} does not exist; create it with gpt-prepare --input FILE --out {}", data_dir.string(),
         data_dir.string());
  const fs::path f = data_dir / "meta.json";
  if (!fs::exists(f))
    fail("{} is missing; run gpt-prepare --input FILE --out {} to prepare the data", f.string(), data_dir.string());
  json j;
  try {
    j = parse_json_file(f.string());
  } catch (const Error& e) {
    fail("{}; rerun gpt-prepare to rewrite it", e.what());
  }
  return parse_meta(j, f.string());
}

nlohmann::ordered_json char_meta_json(const CharTokenizer& tok, int64_t train_tokens, int64_t val_tokens,
                                      const std::vector<std::string>& inputs) {
  nlohmann::ordered_json j;
  j["tokenizer"] = "char";
  j["vocab_size"] = tok.vocab_size();
  j["train_tokens"] = train_tokens;
  j["val_tokens"] = val_tokens;
  j["inputs"] = inputs;
  j["vocab"] = nlohmann::ordered_json::array();
  for (char32_t cp : tok.code_points()) j["vocab"].push_back(to_utf8(cp));
  return j;
}

}  // namespace gpt
