#pragma once
// metrics.jsonl: one JSON object per line, flushed as written so `tail -f` and plots see it.
#include <cstdio>
#include <filesystem>

#include "core/json_util.h"

namespace gpt {

class MetricsWriter {
 public:
  // Starts a fresh file, or, when resuming, keeps the records up to keep_through_step (those
  // after it belong to the part of the run that is being redone). An empty path writes nothing
  // (the ranks other than 0 of a data-parallel run).
  MetricsWriter(const std::filesystem::path& path, int keep_through_step = -1);
  ~MetricsWriter();
  MetricsWriter(const MetricsWriter&) = delete;
  MetricsWriter& operator=(const MetricsWriter&) = delete;
  void write(const json& record);

 private:
  std::filesystem::path path_;
  std::FILE* f_ = nullptr;
};

}  // namespace gpt
