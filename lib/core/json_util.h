#pragma once
// Strict JSON config reading: unknown keys are errors that suggest the closest known key,
// and wrong types name the key and the expected type.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/error.h"

namespace gpt {

using json = nlohmann::json;

// One line of --json output. Text decoded from token ids may be invalid UTF-8 (a BPE token can
// end mid-character, a sampled sequence can be any bytes), so such bytes become U+FFFD
// instead of an exception after the work is done.
inline std::string json_line(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

size_t edit_distance(const std::string& a, const std::string& b);
// " (did you mean 'x'?)" or "" when nothing is close.
std::string did_you_mean(const std::string& key, const std::vector<std::string>& known);

// Reads fields of one JSON object; finish() rejects keys that were never asked for.
class JsonReader {
 public:
  JsonReader(const json& j, std::string where);
  bool has(const std::string& key) const { return j_.contains(key); }
  void get(const std::string& key, bool& out);
  void get(const std::string& key, int& out);
  void get(const std::string& key, int64_t& out);
  void get(const std::string& key, double& out);
  void get(const std::string& key, float& out);
  void get(const std::string& key, std::string& out);
  void ignore(const std::string& key) { known_.push_back(key); }
  void finish() const;

 private:
  const json* field(const std::string& key);
  const json& j_;
  std::string where_;
  std::vector<std::string> known_;
};

// Applies "a.b.c=value" to j. The value is parsed as JSON when it parses (numbers, true,
// [1,2]), else taken as a string. Intermediate objects must exist or are created.
void apply_override(json& j, const std::string& assignment);

json parse_json_file(const std::string& path);

}  // namespace gpt
