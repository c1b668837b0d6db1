#include "recall/train_presets.h"

#include <filesystem>

#include "core/error.h"
#include "core/fsutil.h"

namespace fs = std::filesystem;

namespace gpt::recall {

std::string train_preset_names() { return "q1, mqar"; }

TrainPreset train_preset(const std::string& name) {
  TrainPreset t;
  t.name = name;
  if (name == "q1") {
    t.data = preset("course-ar");
    t.n_train = 10000;
    t.n_test = 500;
    const int epoch = 313;  // ceil(10000 / 32) batches
    t.config = {
        {"model",
         {{"block_size", 102}, {"n_layer", 4}, {"n_head", 4}, {"n_embd", 256}, {"dropout", 0.1},
          {"activation", "tanh"}, {"bias", true}, {"layernorm", true}, {"mlp", true}, {"tie_embeddings", true}}},
        {"train",
         {{"batch_size", 32}, {"max_iters", 20 * epoch}, {"lr", 5e-4}, {"min_lr", 0.0}, {"warmup_iters", 0},
          {"lr_decay_iters", 20 * epoch}, {"schedule", "cosine"}, {"weight_decay", 0.01}, {"beta1", 0.9},
          {"beta2", 0.999}, {"eps", 1e-8}, {"grad_clip", 0.0}, {"eval_interval", epoch}, {"eval_iters", 20},
          {"log_interval", 50}, {"seed", 0}}}};
  } else if (name == "mqar") {
    t.data = preset("mqar-64");
    t.n_train = 20000;
    t.n_test = 1000;
    const int epoch = 313;  // ceil(20000 / 64)
    t.config = {
        {"model",
         {{"block_size", 64}, {"n_layer", 2}, {"n_head", 1}, {"n_embd", 64}, {"dropout", 0.1}, {"bias", true},
          {"layernorm", true}, {"mlp", false}, {"tie_embeddings", true}}},
        {"train",
         {{"batch_size", 64}, {"max_iters", 30 * epoch}, {"lr", 2e-3}, {"min_lr", 0.0}, {"warmup_iters", 100},
          {"lr_decay_iters", 30 * epoch}, {"schedule", "cosine"}, {"weight_decay", 0.1}, {"beta1", 0.9},
          {"beta2", 0.999}, {"eps", 1e-8}, {"grad_clip", 1.0}, {"eval_interval", epoch}, {"eval_iters", 20},
          {"log_interval", 50}, {"seed", 0}}}};
  } else {
    throw UsageError(fmt::format("unknown training preset '{}'; choose one of {}", name, train_preset_names()));
  }
  return t;
}

void write_task_data(const std::string& dir, const Preset& p, int64_t n_train, int64_t n_test, uint64_t seed) {
  const json desc = describe(p, n_train, n_test, seed);
  const fs::path d(dir), meta = d / "assoc.json";
  if (fs::exists(meta) && fs::exists(d / "train.bin") && fs::exists(d / "val.bin") &&
      parse_json_file(meta.string()) == desc)
    return;
  ensure_writable_dir(d);
  if (p.task == "mqar") {
    // Disjoint seeds per split, so the test split is independent of the training one.
    write_examples(d / "train.bin", make_mqar(p.mqar, n_train, seed));
    write_examples(d / "val.bin", make_mqar(p.mqar, n_test, seed + 1));
  } else if (p.task == "course-ar") {
    Split s = make_course_ar(p.ar, n_train, n_test, seed);
    write_examples(d / "train.bin", s.train);
    write_examples(d / "val.bin", s.test);
  } else {
    write_examples(d / "train.bin", make_course_toy(n_train, seed));
    write_examples(d / "val.bin", make_course_toy(n_test, seed + 1));
  }
  write_file_atomic(meta, desc.dump(2) + "\n");
}

}  // namespace gpt::recall
