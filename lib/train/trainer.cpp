#include "train/trainer.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <algorithm>
#include <filesystem>
#include <limits>
#include <memory>

#include "core/error.h"
#include "core/fsutil.h"
#include "core/profile.h"
#include "core/rng.h"
#include "core/timer.h"
#include "data/dataset.h"
#include "data/meta.h"
#include "model/checkpoint.h"
#ifdef GPT_HAVE_CUDA
#include "../../kernels/ops_cuda.h"
#endif
#include "train/engine.h"
#include "train/flops.h"
#include "train/dist.h"
#include "train/metrics.h"
#include "train/optimizer.h"
#include "train/train_checkpoint.h"

namespace fs = std::filesystem;

namespace gpt {
namespace {

std::atomic<bool> g_stop{false};

extern "C" void on_stop_signal(int) { g_stop.store(true); }

uint64_t mix(uint64_t a, uint64_t b, uint64_t c = 0) {
  return splitmix64(a ^ splitmix64(b ^ splitmix64(c)));
}
// Stream tags keep the batch, dropout and eval streams independent of each other.
constexpr uint64_t kBatchTag = 0x62617463, kDropTag = 0x64726f70, kEvalTag = 0x6576616c;

std::string fmt_duration(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  int t = int(s + 0.5);
  if (t >= 3600) return fmt::format("{}h{:02}m", t / 3600, (t / 60) % 60);
  if (t >= 60) return fmt::format("{}m{:02}s", t / 60, t % 60);
  return fmt::format("{}s", t);
}

fs::path resolve(const std::string& dir, const std::string& file) {
  fs::path p(file);
  return p.is_absolute() ? p : fs::path(dir) / p;
}

// Evaluation is split across ranks: rank r takes batches r, r+W, r+2W, ... Each batch's
// figures land in their own slot (zeros from the other ranks), the slots are summed over ranks
// (exactly: one nonzero term each) and then added in batch order, so every rank gets the same
// result, bit for bit the one a single rank computes.
struct Evaluator {
  const Dataset* train;
  const Dataset* val;
  uint64_t seed;
  int B, T, iters;
  std::vector<int32_t> x, y, pred;
  // Mean loss over a fixed set of batches: the same batches at every eval, so the curve
  // measures the model, not the draw.
  double loss(TrainEngine& m, const Dataset& ds, uint64_t split) {
    std::vector<double> per(size_t(iters), 0.0);
    for (int k = dist::rank(); k < iters; k += dist::world()) {
      ds.batch(mix(seed ^ kEvalTag, split, uint64_t(k)), B, T, x.data(), y.data());
      per[size_t(k)] = m.forward(x.data(), y.data(), B, T, false, 0);
    }
    dist::allreduce_sum(per);
    double s = 0;
    for (double v : per) s += v;
    return s / iters;
  }
  // Example datasets: loss and argmax accuracy over the scored targets of every row, so a
  // test split is measured in full, the same way at every eval.
  struct Full { double loss = 0, acc = 0; int64_t scored = 0; };
  Full full(TrainEngine& m, const Dataset& ds) {
    const int64_t nb = (ds.num_examples() + B - 1) / B;
    std::vector<double> per(size_t(nb) * 3, 0.0);  // per batch: loss * count, count, correct
    for (int64_t k = dist::rank(); k < nb; k += dist::world()) {
      ds.examples(k * B, B, T, x.data(), y.data());
      const float l = m.forward(x.data(), y.data(), B, T, false, 0);
      if (m.loss_count() == 0) continue;
      int64_t correct = 0;
      m.argmax(pred.data());
      for (int64_t i = 0; i < int64_t(B) * T; ++i)
        correct += y[size_t(i)] >= 0 && pred[size_t(i)] == y[size_t(i)];
      per[size_t(k) * 3] = double(l) * double(m.loss_count());
      per[size_t(k) * 3 + 1] = double(m.loss_count());
      per[size_t(k) * 3 + 2] = double(correct);
    }
    dist::allreduce_sum(per);
    Full r;
    double loss_sum = 0, correct = 0;
    for (int64_t k = 0; k < nb; ++k) {
      loss_sum += per[size_t(k) * 3];
      r.scored += int64_t(per[size_t(k) * 3 + 1]);
      correct += per[size_t(k) * 3 + 2];
    }
    r.loss = r.scored ? loss_sum / double(r.scored) : std::numeric_limits<double>::quiet_NaN();
    r.acc = r.scored ? correct / double(r.scored) : std::numeric_limits<double>::quiet_NaN();
    return r;
  }
};

// A full optimizer with every rank's block of the moments of a sharded one (collective).
std::unique_ptr<AdamW> gather_optimizer(const GPT& model, AdamW& opt) {
  auto full = std::make_unique<AdamW>(model, opt.hparams());
  full->set_steps(opt.steps());
  std::copy(opt.m(), opt.m() + opt.size(), full->m() + opt.lo());
  std::copy(opt.v(), opt.v() + opt.size(), full->v() + opt.lo());
  dist::allgather_blocks(full->m(), opt.num_params());
  dist::allgather_blocks(full->v(), opt.num_params());
  return full;
}

}  // namespace

void request_stop() { g_stop.store(true); }

void install_stop_signals() {
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

TrainResult train(RunConfig cfg, const TrainOptions& opts) {
  g_stop.store(false);
#ifndef GPT_HAVE_CUDA
  check(cfg.device != "cuda", "this gptkit was built without CUDA; rebuild with -DGPT_CUDA=ON on a machine "
        "with nvcc, or use --device cpu");
#else
  if (cfg.device == "cuda") {
    cuda::set_tf32(cfg.tf32);
    cuda::set_bf16_matmuls(cfg.precision == "bf16");
  }
#endif
  const TrainParams& tp = cfg.train;
  const fs::path out(cfg.out_dir);
  const fs::path ckpt = out / "ckpt";

  // --- data --------------------------------------------------------------------------------
  check(fs::is_directory(cfg.data.dir), "data directory '{}' does not exist; create it with gpt-prepare", cfg.data.dir);
  std::unique_ptr<DataMeta> meta;
  if (fs::exists(fs::path(cfg.data.dir) / "meta.json")) meta = std::make_unique<DataMeta>(load_meta(cfg.data.dir));
  auto train_ds = open_dataset(resolve(cfg.data.dir, cfg.data.train));
  const fs::path val_path = resolve(cfg.data.dir, cfg.data.val);
  check(fs::exists(val_path), "{} does not exist; gpt-train evaluates on a validation split, so prepare the data "
        "with gpt-prepare --val-fraction above 0 (or set data.val)", val_path.string());
  auto val_ds = open_dataset(val_path);
  const int data_max = std::max(train_ds->max_token_id(), val_ds->max_token_id());
  if (cfg.vocab_from_data) cfg.model.vocab_size = meta ? meta->vocab_size : data_max + 1;
  check(data_max < cfg.model.vocab_size,
        "model.vocab_size {} is smaller than the data's vocabulary (token id {} occurs); "
        "raise model.vocab_size or drop it to take the size from meta.json", cfg.model.vocab_size, data_max);
  const int B = tp.batch_size, T = cfg.model.block_size;
  train_ds->check_block_size(T);
  val_ds->check_block_size(T);
  cfg.model.validate();

  // --- ranks: rank r runs micro-batches r*A .. r*A+A-1 of each step (A = grad_accum), so W
  // ranks draw exactly the micro-batches one rank with grad_accum W*A would. Every rank takes
  // its share of the eval batches (Evaluator); rank 0 alone logs and writes. Every rank holds
  // the whole model, and the whole optimizer unless train.zero1 shards it.
  const int W = dist::world(), A = tp.grad_accum;
  const bool root = dist::is_root();
  const bool progress = opts.progress && root;

  // --- model, optimizer, state -------------------------------------------------------------
  if (root) ensure_writable_dir(out);
  GPT model(cfg.model);
  model.init_weights(uint64_t(tp.seed));
  AdamW opt(model, {float(tp.lr), float(tp.beta1), float(tp.beta2), float(tp.eps), float(tp.weight_decay)});
  TrainerState st;
  st.run_config = cfg.to_json();
  if (opts.resume) {
    check(fs::exists(ckpt / "trainer.json"),
          "--resume: no checkpoint in {}; train without --resume first (or point --out at the run)", ckpt.string());
    GPTConfig saved = load_model_config(ckpt);
    saved.dropout = cfg.model.dropout;
    check(saved == cfg.model,
          "--resume: the checkpoint in {} has another model shape (n_layer={}, n_head={}, n_embd={}, "
          "vocab_size={}, block_size={}, conv_layers={}, conv_width={}) than the config; use the run's own config",
          ckpt.string(), saved.n_layer, saved.n_head, saved.n_embd, saved.vocab_size, saved.block_size,
          saved.conv_layers, saved.conv_width);
    TrainerState loaded = load_training_checkpoint(ckpt, model, opt);
    st.step = loaded.step;
    st.best_val_loss = loaded.best_val_loss;
    if (loaded.world_size != W && root)
      std::fprintf(stderr, "warning: the checkpoint was saved by %d ranks and this run has %d: from here on the "
                   "batches differ from an uninterrupted run's (a bit-exact resume needs the same number of ranks)\n",
                   loaded.world_size, W);
  } else if (!opts.init_from.empty()) {
    GPTConfig saved = load_model_config(opts.init_from);
    saved.dropout = cfg.model.dropout;
    check(saved == cfg.model, "--init-from: {} has another model shape than the config", opts.init_from);
    load_weights(model, fs::path(opts.init_from) / "model.safetensors");
  }
  // ZeRO-1: the moments of other ranks' blocks are dropped here (after a resume has loaded
  // them all) and gathered again only to write a checkpoint.
  if (tp.zero1 && W > 1) {
    const dist::Block b = dist::block(int64_t(model.num_params()), dist::rank());
    opt.shard(b.lo, b.hi);
    if (progress)
      std::fprintf(stderr, "ZeRO-1: AdamW moments %.2f MB per rank instead of %.2f MB (%d ranks)\n",
                   2.0 * 4 * double(b.hi - b.lo) / 1e6, 2.0 * 4 * double(model.num_params()) / 1e6, W);
  }
  model.set_loss_chunk(tp.loss_chunk);  // before the engine, which takes it from the model
  std::unique_ptr<TrainEngine> engine = make_engine(cfg.device, model, opt, cfg.fused_attention);
  st.world_size = W;
  if (root) write_file_atomic(out / "run_config.json", st.run_config.dump(2) + "\n");
  MetricsWriter metrics(root ? out / "metrics.jsonl" : fs::path(), opts.resume ? st.step : -1);
  std::unique_ptr<json> tok;
  if (meta) tok = std::make_unique<json>(meta->chars.vocab_size() > 0 ? meta->chars.to_json() : meta->raw);

  const double peak = engine->peak_flops();
  const double flops_step = train_flops_per_token(cfg.model, int64_t(model.num_params()), T) * B * T * A * W;
  const bool tty = progress && ::isatty(2);
  if (progress)
    std::fprintf(stderr, "gpt-train: %.2fM parameters, %s, %s, %s from step %d to %d\n",
                 model.num_params() / 1e6, train_ds->describe().c_str(), engine->describe().c_str(),
                 opts.resume ? "resuming" : "training", st.step, tp.max_iters);

  Evaluator ev{train_ds.get(), val_ds.get(), uint64_t(tp.seed), B, T, tp.eval_iters,
               std::vector<int32_t>(size_t(B) * T), std::vector<int32_t>(size_t(B) * T),
               std::vector<int32_t>(size_t(B) * T)};
  std::vector<int32_t> x(size_t(B) * T), y(size_t(B) * T);
  TrainResult res;
  res.out_dir = out.string();
  res.start_step = st.step;
  res.best_val_loss = st.best_val_loss;
  const double t_start = now_s();
  double tok_time = 0;
  int64_t tok_count = 0;
  bool saved_any = fs::exists(ckpt / "trainer.json") && opts.resume;

  // Every rank calls save() at the same points (the eval figures are the same on every rank):
  // with a sharded optimizer, gathering the moments is a collective.
  auto save = [&](const char* why) {
    saved_any = true;
    std::unique_ptr<AdamW> full;
    if (opt.sharded()) full = gather_optimizer(model, opt);
    if (!root) return;
    engine->sync_to_host();
    // The last line of defence: whatever path led here (an eval, an interrupt, the end of the
    // run), a checkpoint is never written from weights that are no longer finite.
    const float* w = model.param_data();
    for (size_t i = 0; i < model.num_params(); ++i)
      if (!std::isfinite(w[i]))
        fail("the weights hold a non-finite value at step {}; no checkpoint was written (the last good one in {} "
             "is kept); lower train.lr and resume or restart", st.step, ckpt.string());
    save_training_checkpoint(ckpt, model, full ? *full : opt, st, tok.get());
    res.checkpoint = ckpt.string();
    if (progress) std::fprintf(stderr, "%scheckpoint saved to %s (%s)\n", tty ? "\r\033[K" : "", ckpt.string().c_str(), why);
  };
  int last_eval_step = -1;
  auto evaluate = [&](int step) {
    last_eval_step = step;
    double tl = ev.loss(*engine, *train_ds, 0), vl;
    if (val_ds->num_examples() > 0) {
      const Evaluator::Full f = ev.full(*engine, *val_ds);
      vl = f.loss;
      res.last_val_acc = f.acc;
      // Every rank holds the same f.acc (Evaluator), so every rank stops at the same step.
      if (tp.stop_at_val_acc > 0 && f.acc >= tp.stop_at_val_acc) res.reached_target = true;
      metrics.write({{"kind", "eval"}, {"step", step}, {"train_loss", tl}, {"val_loss", vl}, {"val_acc", f.acc},
                     {"val_scored", f.scored}, {"elapsed_s", now_s() - t_start}});
      if (progress)
        std::fprintf(stderr, "%sstep %d: train loss %.4f, val loss %.4f, val accuracy %.4f (%lld targets)\n",
                     tty ? "\r\033[K" : "", step, tl, vl, f.acc, (long long)f.scored);
    } else {
      vl = ev.loss(*engine, *val_ds, 1);
      metrics.write({{"kind", "eval"}, {"step", step}, {"train_loss", tl}, {"val_loss", vl},
                     {"elapsed_s", now_s() - t_start}});
      if (progress)
        std::fprintf(stderr, "%sstep %d: train loss %.4f, val loss %.4f\n", tty ? "\r\033[K" : "", step, tl, vl);
    }
    res.last_val_loss = vl;
    // An eval that is not finite means the weights are broken (skipping updates cannot help):
    // stop before it can become a checkpoint through always_save or the end-of-run save.
    if (!std::isfinite(tl) || !std::isfinite(vl))
      fail("the eval loss became {} (train) / {} (val) at step {}; lower train.lr (no checkpoint was written "
           "from this state)", tl, vl, step);
    if (vl < st.best_val_loss || tp.always_save) {
      st.best_val_loss = std::min(st.best_val_loss, vl);
      res.best_val_loss = st.best_val_loss;
      if (step > 0) save(vl <= st.best_val_loss ? "best val loss" : "always_save");
    }
  };

  // on_nonfinite=skip tolerates a rare bad batch, not weights that have blown up for good.
  constexpr int kMaxConsecutiveSkips = 10;
  int consecutive_skips = 0;
  // Every rank must leave the loop at the same step, or the others would wait in an allreduce.
  bool stopped = false;
  auto stop_requested = [&] {
    stopped = W > 1 ? dist::allreduce_max(int(g_stop.load())) != 0 : g_stop.load();
    return stopped;
  };
  int profile_from = -1;
  if (!opts.profile_path.empty()) profile_from = st.step + 1;  // skip the warm-up step
  for (; st.step < tp.max_iters; ) {
    const int step = st.step;
    if (step % tp.eval_interval == 0 && !(opts.resume && step == res.start_step)) evaluate(step);
    if (res.reached_target) {
      if (progress)
        std::fprintf(stderr, "%sval accuracy %.4f >= train.stop_at_val_acc %g at step %d: stopping\n",
                     tty ? "\r\033[K" : "", res.last_val_acc, tp.stop_at_val_acc, step);
      break;
    }
    if (stop_requested()) break;
    if (step == profile_from) prof::enable(true);
    const double t0 = now_s();
    const double lr = lr_at(tp, step);
    engine->zero_grad();
    double loss = 0;
    for (int micro = 0; micro < A; ++micro) {
      const uint64_t k = uint64_t(dist::rank()) * uint64_t(A) + uint64_t(micro);  // the global micro-batch
      train_ds->batch(mix(uint64_t(tp.seed) ^ kBatchTag, uint64_t(step), k), B, T, x.data(), y.data());
      float l;
      {
        GPT_PROF("forward");
        l = engine->forward(x.data(), y.data(), B, T, true, mix(uint64_t(tp.seed) ^ kDropTag, uint64_t(step), k));
      }
      {
        GPT_PROF("backward");
        engine->backward(1.0f / float(A * W));
      }
      loss += l / (A * W);
    }
    if (W > 1) {
      GPT_PROF("allreduce");
      engine->allreduce_grads();
      loss = dist::allreduce_sum(loss);
    }
    if (step == opts.poison_grad_step) model.grad_data()[0] = std::numeric_limits<float>::quiet_NaN();
    double norm = std::numeric_limits<double>::quiet_NaN();
    if (std::isfinite(loss)) {
      GPT_PROF("optimizer");
      norm = engine->clip_grad_norm(tp.grad_clip);
    }
    if (!std::isfinite(loss) || !std::isfinite(norm)) {
      // Checked before the update: AdamW would spread a NaN into every weight and moment.
      const std::string what = std::isfinite(loss) ? fmt::format("the gradient norm became {}", norm)
                                                   : fmt::format("the loss became {}", loss);
      if (tp.on_nonfinite != "skip")
        fail("{} at step {}; lower train.lr or check the data, or set train.on_nonfinite=skip to skip such "
             "updates (no checkpoint was written from this state)", what, step);
      if (++consecutive_skips > kMaxConsecutiveSkips)
        fail("{} at step {}, the {}th update in a row to be skipped: the weights are not recovering; lower "
             "train.lr (no checkpoint was written from this state)", what, step, consecutive_skips);
      // The step still counts, so later batches stay those of an uninterrupted run.
      st.step = step + 1;
      ++res.skipped_steps;
      metrics.write({{"kind", "skip"}, {"step", st.step}, {"reason", what}, {"elapsed_s", now_s() - t_start}});
      if (progress)
        std::fprintf(stderr, "%sstep %d: %s; update skipped (train.on_nonfinite=skip)\n", tty ? "\r\033[K" : "",
                     step, what.c_str());
      if (stop_requested()) break;
      continue;
    }
    consecutive_skips = 0;
    {
      GPT_PROF("optimizer");
      engine->step(float(lr));
    }
    const double dt = now_s() - t0;
    st.step = step + 1;
    res.last_train_loss = loss;
    if (step > res.start_step) {  // the first step warms caches and threads
      tok_time += dt;
      tok_count += int64_t(B) * T * A * W;
    }
    if (profile_from >= 0 && step + 1 == profile_from + opts.profile_steps) {
      prof::enable(false);
      write_file_atomic(opts.profile_path, prof::chrome_trace_json());
      if (progress) std::fprintf(stderr, "%sprofile of %d steps written to %s\n", tty ? "\r\033[K" : "", opts.profile_steps, opts.profile_path.c_str());
    }
    const double elapsed = now_s() - t_start;
    const double tps = double(B) * T * A * W / dt;
    const double mfu = flops_step / dt / (peak * W);  // each rank measured its own peak
    const double eta = elapsed / double(st.step - res.start_step) * double(tp.max_iters - st.step);
    if (st.step % tp.log_interval == 0 || st.step == tp.max_iters) {
      metrics.write({{"kind", "train"}, {"step", st.step}, {"loss", loss}, {"lr", lr}, {"grad_norm", norm},
                     {"tokens_per_s", tps}, {"mfu", mfu}, {"elapsed_s", elapsed}});
      if (progress)
        std::fprintf(stderr, "%sstep %d/%d | loss %.4f | lr %.2e | norm %.2f | %.0f tok/s | mfu %.0f%% | %s elapsed | ETA %s\n",
                     tty ? "\r\033[K" : "", st.step, tp.max_iters, loss, lr, norm, tps, 100 * mfu,
                     fmt_duration(elapsed).c_str(), fmt_duration(eta).c_str());
    } else if (tty) {
      std::fprintf(stderr, "\r\033[Kstep %d/%d | loss %.4f | %.0f tok/s | ETA %s", st.step, tp.max_iters, loss, tps,
                   fmt_duration(eta).c_str());
    }
    if (stop_requested()) break;
  }
  if (stopped) {
    res.interrupted = true;
    save("interrupted");
    std::fprintf(stderr, "stopped at step %d; resume with: gpt-train --config <config> --out %s --resume\n",
                 st.step, out.string().c_str());
  } else {
    if (last_eval_step != st.step && !(opts.resume && st.step == res.start_step && st.step % tp.eval_interval == 0))
      evaluate(st.step);
    if (!saved_any) save(res.reached_target ? "target accuracy" : "end of training");
  }
  res.end_step = st.step;
  res.world_size = W;
  res.allreduce_s = dist::allreduce_seconds();
  res.elapsed_s = now_s() - t_start;
  res.tokens_per_s = tok_time > 0 ? double(tok_count) / tok_time : 0;
  if (res.checkpoint.empty() && saved_any) res.checkpoint = ckpt.string();
  return res;
}

}  // namespace gpt
