#pragma once
// Measurements on this machine: an sgemm peak and a copy bandwidth (the two roofline
// numbers), and the time of each CPU op of a model shape, to check the cost model against
// the library's real kernels.
#include <string>
#include <vector>

#include "analysis/hardware.h"
#include "analysis/model_cost.h"

namespace gpt::analysis {

struct MachineMeasurement {
  double sgemm_flops = 0;     // best FLOP/s of a square cblas_sgemm
  int64_t sgemm_n = 0;
  double copy_bandwidth = 0;  // bytes read + written per second of a parallel copy
  int64_t copy_bytes = 0;     // size of each array copied
  int threads = 1;
  std::string cpu_model;
  double memory_bytes = 0;
};
// Takes a second or two. Uses the OpenMP thread count (OMP_NUM_THREADS).
MachineMeasurement measure_machine();
// The cpu-local entry (fp32 only) that `roofline --measure` writes.
Hardware hardware_from_measurement(const MachineMeasurement& m);

struct MeasuredOp {
  std::string name;  // model_ops names; the attention stages are one op, "attn.attention"
  Pass pass = Pass::Forward;
  int64_t count = 1;
  double seconds = 0;  // median time of one instance
  Cost predicted;      // summed cost of the model_ops rows it covers (one instance)
};
// Times every op of one layer plus embeddings, final layernorm, head, loss (and the backward
// ops and AdamW in training) with the library's fp32 CPU kernels on random data.
// Phases train and prefill; decode has no cached-attention CPU kernel here.
std::vector<MeasuredOp> measure_model_ops(const ModelSpec& m);

}  // namespace gpt::analysis
