#pragma once
// Output of every gpt-intensity subcommand: one result, three renderings (an aligned text
// table for people, one JSON object for jq, CSV for spreadsheets and plots).
#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "core/json_util.h"

namespace gpt::analysis {

struct Table {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  std::vector<size_t> rules;  // a separator line is drawn above these row indices
  size_t left_columns = 1;    // leading text columns; the rest are numbers

  // Text columns left-aligned, number columns right-aligned.
  std::string render() const;
  // RFC 4180: fields with commas, quotes or newlines are quoted.
  std::string csv() const;
};

struct Report {
  json data = json::object();
  std::string text;
  Table csv;
};

enum class Format { Text, Json, Csv };
void print_report(const Report& r, Format f, std::FILE* out = stdout);

// Human number formats. SI prefixes are decimal (1 GB = 1e9 bytes), as GPU datasheets use.
std::string si(double v, const std::string& unit, int digits = 4);  // 17.18 GFLOP
std::string human_bytes(double b);                                     // 138.4 MB
std::string human_time(double s);                                      // 1.234 ms
std::string fixed(double v, int decimals);
std::string grouped(int64_t v);                                        // 124,439,808
std::string percent(double fraction, int decimals = 1);
// "key   value" lines with the values aligned.
std::string key_values(const std::vector<std::pair<std::string, std::string>>& kv, int indent = 2);

}  // namespace gpt::analysis
