#include "train/metrics.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "core/fsutil.h"

namespace gpt {

MetricsWriter::MetricsWriter(const std::filesystem::path& path, int keep_through_step) : path_(path) {
  if (path.empty()) return;
  std::string kept;
  if (keep_through_step >= 0 && std::filesystem::exists(path)) {
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
      json j = json::parse(line, nullptr, false);
      if (j.is_object() && j.contains("step") && j["step"].is_number_integer() &&
          j["step"].get<int>() <= keep_through_step)
        kept += line + "\n";
    }
  }
  write_file_atomic(path, kept);
  f_ = std::fopen(path.c_str(), "a");
  if (!f_) fail("cannot open {}: {}", path.string(), std::strerror(errno));
}

MetricsWriter::~MetricsWriter() {
  if (f_) std::fclose(f_);
}

void MetricsWriter::write(const json& record) {
  if (!f_) return;
  std::string s = record.dump() + "\n";
  if (std::fwrite(s.data(), 1, s.size(), f_) != s.size() || std::fflush(f_) != 0)
    fail("cannot write {}: {}", path_.string(), std::strerror(errno));
}

}  // namespace gpt
