#pragma once
// Roofline timing of operations: an op takes max(FLOPs / peak, bytes / bandwidth), and a
// sequence of ops runs one after another (no overlap between ops), as eager frameworks do.
#include <optional>
#include <string>
#include <vector>

#include "analysis/cost.h"
#include "analysis/hardware.h"
#include "analysis/report.h"

namespace gpt::analysis {

enum class Pass { Forward, Backward, Optimizer };
const char* pass_name(Pass p);

struct OpCost {
  std::string name;
  Pass pass = Pass::Forward;
  int64_t count = 1;   // identical instances: a per-layer op appears n_layer times
  Cost cost;           // of one instance
  std::string kernel;  // the CPU library call that runs it (groups ops for --measure)
};

struct Timing {
  double compute_s = 0;
  double memory_s = 0;
  double seconds() const { return compute_s > memory_s ? compute_s : memory_s; }
  bool compute_bound() const { return compute_s >= memory_s; }
};

struct Roof {
  double peak = 0;       // FLOP/s
  double bandwidth = 0;  // bytes/s
  double ridge() const { return peak / bandwidth; }
  Timing time(const Cost& c) const { return {double(c.flops) / peak, double(c.bytes()) / bandwidth}; }
  // The FLOP/s the roofline allows at this intensity.
  double attainable(double intensity) const;
};
Roof roof_of(const Hardware& hw, DType t);
const char* verdict(const Timing& t);  // "compute" or "memory"

// Sum of count * cost over ops (of one pass, or all).
Cost total_cost(const std::vector<OpCost>& ops, std::optional<Pass> pass = std::nullopt);
// Sum of count * per-op roofline time.
double total_time(const std::vector<OpCost>& ops, const Roof& roof,
                  std::optional<Pass> pass = std::nullopt);

// The per-op table shared by matmul, mha and model: FLOPs, bytes read and written, FLOP/B,
// compute- and memory-bound times, the verdict and the op's share of the total time, then
// subtotals per pass and the total. show_count adds the instance-count column.
Table ops_text_table(const std::vector<OpCost>& ops, const Roof& roof, bool show_count);
Table ops_csv_table(const std::vector<OpCost>& ops, const Roof& roof);
json ops_json(const std::vector<OpCost>& ops, const Roof& roof);
json cost_json(const Cost& c, const Roof& roof);
// "a100-80gb (NVIDIA A100 80GB PCIe): 312 TFLOP/s bf16, 1.935 TB/s, ridge 161.2 FLOP/B"
std::string hardware_line(const Hardware& hw, DType t, bool defaulted);
json hardware_json(const Hardware& hw, DType t, bool defaulted);

}  // namespace gpt::analysis
