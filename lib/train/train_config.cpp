#include "train/train_config.h"

#include <cmath>

namespace gpt {

RunConfig RunConfig::from_json(const json& j) {
  RunConfig c;
  JsonReader top(j, "config");
  top.get("out_dir", c.out_dir);
  top.get("device", c.device);
  top.get("tf32", c.tf32);
  top.get("fused_attention", c.fused_attention);
  top.get("precision", c.precision);
  top.ignore("model");
  top.ignore("data");
  top.ignore("train");
  top.finish();
  check(j.contains("model"), "config: the 'model' section is missing");
  check(j.contains("data"), "config: the 'data' section is missing (it needs data.dir)");
  c.vocab_from_data = !j["model"].is_object() || !j["model"].contains("vocab_size");
  json model = j["model"];
  if (c.vocab_from_data && model.is_object()) model["vocab_size"] = 1;  // placeholder until the data is read
  c.model = GPTConfig::from_json(model, "model");

  JsonReader d(j["data"], "data");
  d.get("dir", c.data.dir);
  d.get("train", c.data.train);
  d.get("val", c.data.val);
  d.finish();
  check(!c.data.dir.empty(), "config: data.dir is required (a directory made by gpt-prepare)");

  TrainParams& t = c.train;
  if (j.contains("train")) {
    JsonReader r(j["train"], "train");
    r.get("batch_size", t.batch_size);
    r.get("grad_accum", t.grad_accum);
    r.get("max_iters", t.max_iters);
    r.get("lr", t.lr);
    r.get("min_lr", t.min_lr);
    r.get("warmup_iters", t.warmup_iters);
    r.get("lr_decay_iters", t.lr_decay_iters);
    r.get("schedule", t.schedule);
    r.get("weight_decay", t.weight_decay);
    r.get("beta1", t.beta1);
    r.get("beta2", t.beta2);
    r.get("eps", t.eps);
    r.get("grad_clip", t.grad_clip);
    r.get("eval_interval", t.eval_interval);
    r.get("eval_iters", t.eval_iters);
    r.get("log_interval", t.log_interval);
    r.get("always_save", t.always_save);
    r.get("stop_at_val_acc", t.stop_at_val_acc);
    r.get("zero1", t.zero1);
    r.get("loss_chunk", t.loss_chunk);
    r.get("on_nonfinite", t.on_nonfinite);
    r.get("seed", t.seed);
    r.finish();
  }
  if (t.lr_decay_iters < 0) t.lr_decay_iters = t.max_iters;
  check(t.batch_size > 0, "train.batch_size must be positive, got {}", t.batch_size);
  check(t.grad_accum > 0, "train.grad_accum must be positive, got {}", t.grad_accum);
  check(t.max_iters >= 0, "train.max_iters must be >= 0, got {}", t.max_iters);
  check(t.lr > 0 && std::isfinite(t.lr), "train.lr must be positive, got {}", t.lr);
  check(t.min_lr >= 0 && t.min_lr <= t.lr, "train.min_lr must be in [0, lr], got {}", t.min_lr);
  check(t.warmup_iters >= 0, "train.warmup_iters must be >= 0, got {}", t.warmup_iters);
  check(t.schedule == "cosine" || t.schedule == "linear" || t.schedule == "constant",
        "train.schedule must be cosine, linear or constant, got '{}'", t.schedule);
  check(t.weight_decay >= 0, "train.weight_decay must be >= 0, got {}", t.weight_decay);
  check(t.beta1 >= 0 && t.beta1 < 1, "train.beta1 must be in [0, 1), got {}", t.beta1);
  check(t.beta2 >= 0 && t.beta2 < 1, "train.beta2 must be in [0, 1), got {}", t.beta2);
  check(t.eps > 0, "train.eps must be positive, got {}", t.eps);
  check(t.grad_clip >= 0, "train.grad_clip must be >= 0 (0 disables clipping), got {}", t.grad_clip);
  check(t.on_nonfinite == "stop" || t.on_nonfinite == "skip", "train.on_nonfinite must be stop or skip, got '{}'",
        t.on_nonfinite);
  check(t.eval_interval > 0, "train.eval_interval must be positive, got {}", t.eval_interval);
  check(t.eval_iters > 0, "train.eval_iters must be positive, got {}", t.eval_iters);
  check(t.log_interval > 0, "train.log_interval must be positive, got {}", t.log_interval);
  check(t.stop_at_val_acc >= 0 && t.stop_at_val_acc <= 1,
        "train.stop_at_val_acc must be in [0, 1] (0 disables it), got {}", t.stop_at_val_acc);
  check(t.loss_chunk >= 0, "train.loss_chunk must be >= 0 (0: the whole vocabulary at once), got {}",
        t.loss_chunk);
  check(c.device == "cpu" || c.device == "cuda", "device must be cpu or cuda, got '{}'", c.device);
  check(!c.fused_attention || c.device == "cuda",
        "fused_attention is a CUDA path (the CPU engine has one attention); set device to cuda or "
        "fused_attention to false");
  check(c.precision == "fp32" || c.precision == "bf16", "precision must be fp32 or bf16, got '{}'", c.precision);
  check(c.precision == "fp32" || c.device == "cuda",
        "precision bf16 is a CUDA mode (bf16 matmuls with fp32 accumulation); the CPU engine is fp32, so set "
        "device to cuda or precision to fp32");
  check(!(t.zero1 && c.device == "cuda"), "train.zero1 (sharded AdamW state) is for CPU ranks; with device cuda "
        "every rank keeps the whole optimizer, so set train.zero1=false");
  check(!c.out_dir.empty(), "out_dir must not be empty");
  return c;
}

json RunConfig::to_json() const {
  const TrainParams& t = train;
  return {{"model", model.to_json()},
          {"data", {{"dir", data.dir}, {"train", data.train}, {"val", data.val}}},
          {"train",
           {{"batch_size", t.batch_size}, {"grad_accum", t.grad_accum}, {"max_iters", t.max_iters},
            {"lr", t.lr}, {"min_lr", t.min_lr}, {"warmup_iters", t.warmup_iters},
            {"lr_decay_iters", t.lr_decay_iters}, {"schedule", t.schedule},
            {"weight_decay", t.weight_decay}, {"beta1", t.beta1}, {"beta2", t.beta2}, {"eps", t.eps},
            {"grad_clip", t.grad_clip}, {"eval_interval", t.eval_interval},
            {"eval_iters", t.eval_iters}, {"log_interval", t.log_interval},
            {"always_save", t.always_save}, {"stop_at_val_acc", t.stop_at_val_acc}, {"zero1", t.zero1},
            {"loss_chunk", t.loss_chunk}, {"on_nonfinite", t.on_nonfinite}, {"seed", t.seed}}},
          {"out_dir", out_dir},
          {"device", device},
          {"tf32", tf32},
          {"fused_attention", fused_attention},
          {"precision", precision}};
}

RunConfig load_run_config(const std::string& path, const std::vector<std::string>& overrides) {
  json j = parse_json_file(path);
  check(j.is_object(), "{} must hold a JSON object", path);
  for (const auto& o : overrides) apply_override(j, o);
  try {
    return RunConfig::from_json(j);
  } catch (const UsageError&) {
    throw;
  } catch (const Error& e) {
    fail("{}: {}", path, e.what());
  }
}

double lr_at(const TrainParams& t, int step) {
  if (step < t.warmup_iters) return t.lr * double(step + 1) / double(t.warmup_iters + 1);
  if (t.schedule == "constant") return t.lr;
  if (step >= t.lr_decay_iters) return t.min_lr;
  double ratio = double(step - t.warmup_iters) / double(std::max(1, t.lr_decay_iters - t.warmup_iters));
  double coeff = t.schedule == "cosine" ? 0.5 * (1.0 + std::cos(M_PI * ratio)) : 1.0 - ratio;
  return t.min_lr + coeff * (t.lr - t.min_lr);
}

}  // namespace gpt
