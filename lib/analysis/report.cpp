#include "analysis/report.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace gpt::analysis {

// Display width in columns: UTF-8 continuation bytes take no column (names like "QKᵀ").
static size_t width(const std::string& s) {
  size_t w = 0;
  for (unsigned char c : s) w += (c & 0xC0) != 0x80;
  return w;
}

std::string Table::render() const {
  std::vector<size_t> w(header.size(), 0);
  for (size_t i = 0; i < header.size(); ++i) w[i] = width(header[i]);
  for (auto& r : rows)
    for (size_t i = 0; i < r.size() && i < w.size(); ++i) w[i] = std::max(w[i], width(r[i]));
  auto line = [&](const std::vector<std::string>& r) {
    std::string out;
    for (size_t i = 0; i < w.size(); ++i) {
      const std::string cell = i < r.size() ? r[i] : "";
      std::string pad(w[i] - width(cell), ' ');
      if (i) out += "  ";
      out += i < left_columns ? cell + pad : pad + cell;
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out + "\n";
  };
  size_t total = 0;
  for (size_t x : w) total += x;
  total += 2 * (w.empty() ? 0 : w.size() - 1);
  std::string rule(total, '-');
  std::string out = line(header) + rule + "\n";
  for (size_t i = 0; i < rows.size(); ++i) {
    if (std::find(rules.begin(), rules.end(), i) != rules.end()) out += rule + "\n";
    out += line(rows[i]);
  }
  return out;
}

static std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

std::string Table::csv() const {
  auto line = [](const std::vector<std::string>& r) {
    std::string out;
    for (size_t i = 0; i < r.size(); ++i) {
      if (i) out += ',';
      out += csv_field(r[i]);
    }
    return out + "\n";
  };
  std::string out = line(header);
  for (auto& r : rows) out += line(r);
  return out;
}

void print_report(const Report& r, Format f, std::FILE* out) {
  std::string s;
  switch (f) {
    case Format::Text: s = r.text; break;
    case Format::Json: s = r.data.dump(2) + "\n"; break;
    case Format::Csv: s = r.csv.csv(); break;
  }
  std::fwrite(s.data(), 1, s.size(), out);
  std::fflush(out);
}

std::string fixed(double v, int decimals) { return fmt::format("{:.{}f}", v, decimals); }

std::string si(double v, const std::string& unit, int digits) {
  static const char* prefixes[] = {"", "k", "M", "G", "T", "P", "E"};
  double a = std::fabs(v);
  int p = 0;
  while (a >= 999.95 && p < 6) { a /= 1000; v /= 1000; ++p; }
  int intdigits = a < 10 ? 1 : a < 100 ? 2 : 3;
  int dec = std::max(0, digits - intdigits);
  if (p == 0 && v == std::floor(v)) dec = 0;  // small exact counts print as integers
  std::string suffix = std::string(prefixes[p]) + unit;
  return suffix.empty() ? fmt::format("{:.{}f}", v, dec) : fmt::format("{:.{}f} {}", v, dec, suffix);
}

std::string human_bytes(double b) { return si(b, "B"); }

std::string human_time(double s) {
  double a = std::fabs(s);
  if (a == 0) return "0 s";
  if (a < 1e-9) return fmt::format("{:.3g} ps", s * 1e12);
  if (a < 1e-6) return fmt::format("{:.3g} ns", s * 1e9);
  if (a < 1e-3) return fmt::format("{:.3g} us", s * 1e6);
  if (a < 1) return fmt::format("{:.3g} ms", s * 1e3);
  return fmt::format("{:.3g} s", s);
}

std::string grouped(int64_t v) {
  std::string d = std::to_string(v < 0 ? -v : v);
  std::string out;
  for (size_t i = 0; i < d.size(); ++i) {
    if (i && (d.size() - i) % 3 == 0) out += ',';
    out += d[i];
  }
  return v < 0 ? "-" + out : out;
}

std::string percent(double f, int decimals) { return fmt::format("{:.{}f}%", f * 100, decimals); }

std::string key_values(const std::vector<std::pair<std::string, std::string>>& kv, int indent) {
  size_t w = 0;
  for (auto& [k, v] : kv) w = std::max(w, width(k));
  std::string out;
  for (auto& [k, v] : kv)
    out += std::string(size_t(indent), ' ') + k + std::string(w - width(k) + 2, ' ') + v + "\n";
  return out;
}

}  // namespace gpt::analysis
