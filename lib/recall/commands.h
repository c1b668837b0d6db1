#pragma once
// The three jobs of gpt-assoc-recall, as library calls the tool and tests share. Each
// returns its result as JSON; the tool prints it (--json) or the human text these print.
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "recall/induction.h"
#include "recall/tasks.h"
#include "core/json_util.h"

namespace gpt::recall {

// A task as chosen on the command line: a preset, then any explicit field on top.
struct TaskArgs {
  std::string preset = "mqar-64";
  int vocab = 0, seq_len = 0, pairs = 0;  // 0: the preset's
  std::string filler;                     // "", zero or random (MQAR only)
  double power_a = 0;                     // 0: the preset's
};
Preset resolve_task(const TaskArgs& a);

struct DataArgs {
  TaskArgs task;
  int64_t n_train = 0, n_test = 0;  // 0: the task's default (course-ar 10000/500, else 1000/500)
  uint64_t seed = 0;
  std::string out;
};
json run_data(const DataArgs& a, std::FILE* human);

struct HardcodeArgs {
  TaskArgs task;
  InductionOptions opts;
  int64_t examples = 1000;
  uint64_t seed = 0;
  int batch = 8;
  std::string save;         // checkpoint directory
  bool explain = false;
  int explain_len = 32;
  std::string explain_csv;  // file for the attention CSV
};
json run_hardcode(const HardcodeArgs& a, std::FILE* human);

struct TrainArgs {
  std::string preset = "q1";
  std::string config;  // a run config file replacing the preset's
  std::vector<std::string> sets;
  std::string out, data;
  std::string device;  // empty: the config's
  bool progress = true;
};
json run_train(const TrainArgs& a, std::FILE* human);

}  // namespace gpt::recall
