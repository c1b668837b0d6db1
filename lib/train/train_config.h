#pragma once
// A training run's configuration: JSON with sections model, data, train, plus out_dir and
// device. Unknown keys are errors; --set key=value overrides any key before validation.
#include <string>

#include "core/json_util.h"
#include "model/config.h"

namespace gpt {

struct DataConfig {
  std::string dir;                  // holds meta.json and the token files
  std::string train = "train.bin";  // relative to dir (or absolute)
  std::string val = "val.bin";
};

struct TrainParams {
  int batch_size = 12;
  int grad_accum = 1;
  int max_iters = 2000;
  double lr = 1e-3, min_lr = 1e-4;
  int warmup_iters = 100;
  int lr_decay_iters = -1;  // -1: max_iters
  std::string schedule = "cosine";  // cosine | linear | constant
  double weight_decay = 0.1, beta1 = 0.9, beta2 = 0.99, eps = 1e-8;
  double grad_clip = 1.0;  // 0: no clipping
  int eval_interval = 250, eval_iters = 200, log_interval = 10;
  bool always_save = false;
  bool zero1 = false;  // data-parallel CPU ranks: each keeps the AdamW moments of 1/W of the parameters
  double stop_at_val_acc = 0;  // example data: stop after the first eval this accurate (0: off)
  // LM head and loss in vocabulary chunks of this many columns (GPT::set_loss_chunk), so the
  // [B*T, V] logits are never held; 0: the whole vocabulary at once.
  int loss_chunk = 0;
  std::string on_nonfinite = "stop";  // a NaN/Inf loss or gradient norm: stop | skip the update
  int64_t seed = 1337;
};

struct RunConfig {
  GPTConfig model;
  bool vocab_from_data = true;  // model.vocab_size absent: taken from the data's meta.json
  DataConfig data;
  TrainParams train;
  std::string out_dir = "runs/default";
  std::string device = "cpu";
  bool tf32 = false;  // cuda: TF32 tensor cores for fp32 matmuls (faster, ~1e-3 relative)
  bool fused_attention = false;  // cuda: flash-style attention kernels, no [B,NH,T,T] activations
  std::string precision = "fp32";  // cuda: "bf16" rounds the linear layers' operands to bf16

  static RunConfig from_json(const json& j);
  json to_json() const;  // the fully resolved config, as saved in the run directory
};

// Reads a config file and applies "a.b=value" overrides in order.
RunConfig load_run_config(const std::string& path, const std::vector<std::string>& overrides);

// Learning rate at a step: linear warmup, then the schedule down to min_lr at lr_decay_iters.
double lr_at(const TrainParams& t, int step);

}  // namespace gpt
