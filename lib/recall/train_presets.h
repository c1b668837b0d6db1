#pragma once
// Trained baselines for associative recall: run configs for the core trainer (lib/train),
// and the data each one trains on.
#include <string>

#include "recall/tasks.h"
#include "core/json_util.h"

namespace gpt::recall {

struct TrainPreset {
  std::string name;
  Preset data;           // the task the model trains on
  int64_t n_train = 0, n_test = 0;
  uint64_t data_seed = 0;
  json config;           // a gpt-train run config without data.dir / out_dir
};

// "q1": the course's P1-Q1 model on its AR data (d_model 256, 4 heads, 4 layers, tanh MLP,
// dropout 0.1, AdamW lr 5e-4, cosine to 0 over 20 epochs of 10,000 examples, batch 32).
// "mqar": a 2-layer, 1-head attention-only model (no MLP) on MQAR (V=8192, L=64, n=4).
TrainPreset train_preset(const std::string& name);
std::string train_preset_names();

// Writes DIR/train.bin and DIR/val.bin (example files; val = the test split) and
// DIR/assoc.json, unless assoc.json already describes the same data.
void write_task_data(const std::string& dir, const Preset& p, int64_t n_train, int64_t n_test, uint64_t seed);

}  // namespace gpt::recall
