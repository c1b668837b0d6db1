#pragma once
// The training loop (nanoGPT semantics): random windows, gradient accumulation, warmup +
// cosine LR, clipping, periodic eval of train and val loss, a checkpoint when val improves.
// Every batch and dropout mask is derived from (seed, step, micro-step), so a run resumed
// from a checkpoint continues with exactly the bits of an uninterrupted one.
#include <string>

#include "train/train_config.h"

namespace gpt {

struct TrainOptions {
  bool resume = false;        // continue from out_dir/ckpt
  std::string init_from;      // start from this checkpoint's weights (fresh optimizer)
  std::string profile_path;   // write a Chrome trace of a few steps here
  int profile_steps = 3;
  bool progress = true;       // human progress on stderr
  // Tests only: make the gradient non-finite (one NaN) after the backward of this step, to
  // check the non-finite gradient-norm path, which no real input reaches reliably.
  int poison_grad_step = -1;
};

struct TrainResult {
  int start_step = 0, end_step = 0;
  double best_val_loss = 0, last_train_loss = 0, last_val_loss = 0;
  double last_val_acc = -1;  // accuracy on scored targets, for example datasets (-1: none)
  double elapsed_s = 0, tokens_per_s = 0;
  bool interrupted = false;
  bool reached_target = false;  // stopped early by train.stop_at_val_acc
  int world_size = 1;
  double allreduce_s = 0;  // this rank's time in gradient allreduces
  int skipped_steps = 0;  // updates skipped for a non-finite loss or gradient (on_nonfinite=skip)
  std::string checkpoint, out_dir;
};

TrainResult train(RunConfig cfg, const TrainOptions& opts);

// Asks a running train() to finish its step, checkpoint and return (signal-safe).
void request_stop();
// Installs SIGINT/SIGTERM handlers that call request_stop().
void install_stop_signals();

}  // namespace gpt
