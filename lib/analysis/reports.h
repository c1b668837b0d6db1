#pragma once
// One function per gpt-intensity subcommand: inputs in, a Report (text, JSON, CSV) out.
// Everything a subcommand prints is decided here, so the tool only parses arguments.
#include <optional>
#include <string>

#include "analysis/attention_cost.h"
#include "analysis/hardware.h"
#include "analysis/model_cost.h"
#include "analysis/report.h"

namespace gpt::analysis {

// The hardware and dtype an analysis runs against. An empty name means the default GPU
// (said so in every rendering); an empty dtype means the hardware's default dtype.
struct Target {
  Hardware hw;
  DType dtype = DType::BF16;
  bool defaulted = false;
};
Target resolve_target(const std::string& hardware, const std::string& dtype);
// For model --measure: the named hardware, else cpu-local.json if there is one, else this
// machine measured now (logged on stderr). The dtype defaults to fp32.
Target measured_cpu_target(const std::string& hardware, const std::string& dtype);

Report matmul_report(int64_t m, int64_t n, int64_t k, int64_t batch, const Target& t);
Report mha_report(const MhaSpec& spec, const Target& t);
// step_time > 0 adds model FLOPs utilization for a measured training step.
Report model_report(const ModelSpec& spec, const Target& t, double step_time = 0);
// Predicted (on t, normally cpu-local) against measured time of every CPU op of the shape.
Report model_measure_report(const ModelSpec& spec, const Target& t);

struct KvSpec {
  GPTConfig cfg;
  int64_t batch = 1;
  int64_t seq_len = 0;      // 0: block_size
  double memory_bytes = 0;  // 0: the hardware's memory
};
Report kv_report(const KvSpec& spec, const Target& t);

struct SpecInputs {
  // Exactly one of these describes acceptance.
  std::optional<double> alpha, accept_rate, tokens_per_call;
  int64_t gamma = 4;
  std::optional<double> c;      // draft/target step time ratio
  std::optional<double> c_hat;  // draft/target FLOPs per token (default: c)
  std::optional<double> verify_cost;  // target (gamma+1)-token pass / 1-token step (default 1)
  int64_t max_gamma = 32;
  // Optional model shapes: c, c_hat and the verify cost then come from their roofline decode
  // steps on the hardware (at batch 1 and `context` cached tokens), unless given explicitly.
  std::optional<GPTConfig> target_model, draft_model;
  int64_t context = 0;  // 0: the smaller block_size
};
// hw is needed only with target_model and draft_model.
Report specdecode_report(const SpecInputs& in, const Target* hw = nullptr);
// Reads `gpt-specdecode --json` output and compares its measurements with the model.
// Fields given in `in` (gamma, c) override the file's.
Report specdecode_stats_report(const std::string& path, const SpecInputs& in, bool gamma_given);

Report roofline_report(const Target& t);
Report roofline_all_report();
// After `roofline --measure`: the measured entry and where it was written.
Report measure_report(const Hardware& hw, const std::string& written_to);

}  // namespace gpt::analysis
