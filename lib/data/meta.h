#pragma once
// meta.json: the description of a prepared data directory (tokenizer and split sizes) that
// sits beside train.bin / val.bin, so the trainer and the generator agree on the vocabulary.
#include <cstdint>
#include <filesystem>
#include <string>

#include "core/json_util.h"
#include "data/char_tokenizer.h"

namespace gpt {

struct DataMeta {
  std::string tokenizer;  // "char" or "gpt2"
  int vocab_size = 0;
  CharTokenizer chars;    // filled for "char"
  int64_t train_tokens = 0, val_tokens = 0;
  json raw;               // the whole file, for fields a later reader may want
};

// Reads DIR/meta.json. Errors name the file and say how to make a good one.
DataMeta load_meta(const std::filesystem::path& data_dir);
DataMeta parse_meta(const json& j, const std::string& where);
// The JSON load_meta reads, for a char vocabulary (inputs: the files it was made from);
// ordered so the small fields come first and a person reading the file sees them.
nlohmann::ordered_json char_meta_json(const CharTokenizer& tok, int64_t train_tokens, int64_t val_tokens,
                    const std::vector<std::string>& inputs);

}  // namespace gpt
