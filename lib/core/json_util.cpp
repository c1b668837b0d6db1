#include "core/json_util.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/fsutil.h"

namespace gpt {

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1])});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string did_you_mean(const std::string& key, const std::vector<std::string>& known) {
  std::string best;
  size_t bestd = std::numeric_limits<size_t>::max();
  for (const auto& k : known) {
    size_t d = edit_distance(key, k);
    if (d < bestd) { bestd = d; best = k; }
  }
  if (best.empty() || bestd > std::max<size_t>(2, key.size() / 2)) return "";
  return " (did you mean '" + best + "'?)";
}

JsonReader::JsonReader(const json& j, std::string where) : j_(j), where_(std::move(where)) {
  if (!j_.is_object()) fail("{} must be a JSON object", where_);
}

const json* JsonReader::field(const std::string& key) {
  known_.push_back(key);
  auto it = j_.find(key);
  return it == j_.end() ? nullptr : &*it;
}

static std::string type_of(const json& v) { return v.type_name(); }

void JsonReader::get(const std::string& key, bool& out) {
  if (auto v = field(key)) {
    if (!v->is_boolean()) fail("{}.{} must be true or false, not {} {}", where_, key, type_of(*v), v->dump());
    out = v->get<bool>();
  }
}

void JsonReader::get(const std::string& key, int64_t& out) {
  if (auto v = field(key)) {
    if (v->is_number_integer()) {
      out = v->get<int64_t>();
    } else if (v->is_number_float() && std::floor(v->get<double>()) == v->get<double>() &&
               std::abs(v->get<double>()) < 9e15) {
      out = int64_t(v->get<double>());
    } else {
      fail("{}.{} must be an integer, not {} {}", where_, key, type_of(*v), v->dump());
    }
  }
}

void JsonReader::get(const std::string& key, int& out) {
  int64_t x = out;
  get(key, x);
  if (x < std::numeric_limits<int>::min() || x > std::numeric_limits<int>::max())
    fail("{}.{} = {} is out of range", where_, key, x);
  out = int(x);
}

void JsonReader::get(const std::string& key, double& out) {
  if (auto v = field(key)) {
    if (!v->is_number()) fail("{}.{} must be a number, not {} {}", where_, key, type_of(*v), v->dump());
    out = v->get<double>();
  }
}

void JsonReader::get(const std::string& key, float& out) {
  double x = out;
  get(key, x);
  out = float(x);
}

void JsonReader::get(const std::string& key, std::string& out) {
  if (auto v = field(key)) {
    if (!v->is_string()) fail("{}.{} must be a string, not {} {}", where_, key, type_of(*v), v->dump());
    out = v->get<std::string>();
  }
}

void JsonReader::finish() const {
  for (auto it = j_.begin(); it != j_.end(); ++it)
    if (std::find(known_.begin(), known_.end(), it.key()) == known_.end())
      fail("unknown key {}.{}{}", where_, it.key(), did_you_mean(it.key(), known_));
}

void apply_override(json& j, const std::string& assignment) {
  auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0)
    throw UsageError("--set expects key=value (for example train.max_iters=200), got '" + assignment + "'");
  // JSON strings must be UTF-8: a value taken as a raw string would be accepted here and throw
  // a json type_error later, wherever the config is dumped (run_config.json, error messages).
  try {
    (void)json(assignment).dump();
  } catch (const json::type_error&) {
    throw UsageError("--set: '" + json(assignment).dump(-1, ' ', false, json::error_handler_t::replace) +
                     "' is not valid UTF-8");
  }
  std::string path = assignment.substr(0, eq), text = assignment.substr(eq + 1);
  json value = json::parse(text, nullptr, false);
  if (value.is_discarded()) value = text;
  json* node = &j;
  size_t start = 0;
  while (true) {
    size_t dot = path.find('.', start);
    std::string key = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (key.empty()) throw UsageError("--set: empty key in '" + path + "'");
    if (!node->is_object()) throw UsageError("--set: '" + path + "' goes through a non-object");
    if (dot == std::string::npos) {
      (*node)[key] = value;
      return;
    }
    node = &(*node)[key];
    if (node->is_null()) *node = json::object();
    start = dot + 1;
  }
}

json parse_json_file(const std::string& path) {
  std::string text = read_file(path);
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded()) {
    // Re-parse with exceptions only to get the position for the message.
    try {
      json unused = json::parse(text);
      (void)unused;
    } catch (const json::parse_error& e) {
      fail("{} is not valid JSON: {}", path, e.what());
    }
    fail("{} is not valid JSON", path);
  }
  return j;
}

}  // namespace gpt
