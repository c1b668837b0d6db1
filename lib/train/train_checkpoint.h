#pragma once
// A resumable training checkpoint: the model files (model.safetensors, config.json), the
// tokenizer, optimizer.safetensors (AdamW m and v as two flat tensors over the parameter
// buffer) and trainer.json (step, best val loss, the resolved run config). Written atomically.
#include <filesystem>

#include "core/json_util.h"
#include "model/gpt.h"
#include "train/optimizer.h"

namespace gpt {

struct TrainerState {
  int step = 0;  // the next step to run
  double best_val_loss = 1e30;
  int world_size = 1;  // ranks of the run that wrote it (its batches depend on it)
  json run_config;
};

void save_training_checkpoint(const std::filesystem::path& dir, const GPT& model, AdamW& opt,
                              const TrainerState& st, const json* tokenizer);
// Loads state into an existing model/optimizer of the checkpoint's shape.
TrainerState load_training_checkpoint(const std::filesystem::path& dir, GPT& model, AdamW& opt);

}  // namespace gpt
