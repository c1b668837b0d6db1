// gpt-train: train a GPT from a JSON config (nanoGPT loop semantics, exact resume).
#include <cstdio>

#include "core/tool.h"
#include "train/dist.h"
#include "train/trainer.h"

int main(int argc, char** argv) {
  CLI::App app{
      "Train a GPT language model on token shards made by gpt-prepare.\n\n"
      "Example:\n"
      "  gpt-prepare --input tinyshakespeare.txt --out data/shakespeare_char\n"
      "  gpt-train --config configs/shakespeare_char_cpu.json --set train.max_iters=500\n\n"
      "Writes <out>/metrics.jsonl, <out>/run_config.json and the checkpoint <out>/ckpt\n"
      "(model.safetensors + config.json in Hugging Face GPT-2 form, optimizer, trainer state).\n"
      "Ctrl-C finishes the step, saves a checkpoint and prints how to resume.\n\n"
      "Data-parallel (a build with MPI; docs/distributed.md):\n"
      "  mpirun -np 4 gpt-train --config configs/shakespeare_char.json",
      "gpt-train"};
  gpt::init_tool(app);
  try {
    gpt::dist::init(&argc, &argv);
  } catch (const gpt::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  std::string config, out, device, init_from, profile;
  std::vector<std::string> sets;
  bool resume = false, json_out = false, quiet = false;
  app.add_option("-c,--config", config, "run config JSON (sections model, data, train)")->required()->check(CLI::ExistingFile);
  app.add_option("--set", sets, "override a config key, e.g. --set train.max_iters=200 (repeatable)")->take_all();
  app.add_option("--out", out, "run directory (overrides out_dir)");
  app.add_option("--device", device, "cpu or cuda (overrides device)");
  app.add_flag("--resume", resume, "continue bit-exactly from <out>/ckpt");
  app.add_option("--init-from", init_from, "start from this checkpoint's weights with a fresh optimizer")->check(CLI::ExistingDirectory);
  app.add_option("--profile", profile, "write a Chrome-trace (Perfetto) JSON of per-op times for 3 steps");
  app.add_flag("--json", json_out, "print a JSON summary on stdout");
  app.add_flag("-q,--quiet", quiet, "no progress on stderr");
  const int rc = gpt::run_tool(app, argc, argv, [&] {
    if (resume && !init_from.empty()) throw gpt::UsageError("--resume and --init-from cannot be combined");
    std::vector<std::string> overrides = sets;
    if (!out.empty()) overrides.push_back("out_dir=\"" + out + "\"");
    if (!device.empty()) overrides.push_back("device=\"" + device + "\"");
    gpt::RunConfig cfg = gpt::load_run_config(config, overrides);
    gpt::TrainOptions opts;
    opts.resume = resume;
    opts.init_from = init_from;
    opts.profile_path = profile;
    opts.progress = !quiet;
    gpt::install_stop_signals();
    gpt::TrainResult r = gpt::train(cfg, opts);
    if (json_out) {
      gpt::json j = {{"out_dir", r.out_dir}, {"checkpoint", r.checkpoint}, {"start_step", r.start_step},
                     {"end_step", r.end_step}, {"interrupted", r.interrupted},
                     {"best_val_loss", r.best_val_loss}, {"last_val_loss", r.last_val_loss},
                     {"last_train_loss", r.last_train_loss}, {"elapsed_s", r.elapsed_s},
                     {"tokens_per_s", r.tokens_per_s}, {"world_size", r.world_size},
                     {"allreduce_s", r.allreduce_s}};
      if (gpt::dist::is_root()) std::printf("%s\n", j.dump().c_str());
    }
    return 0;
  });
  // A failed rank takes the job down; the others would otherwise wait in an allreduce forever.
  if (rc != 0 && gpt::dist::world() > 1) gpt::dist::abort(rc);
  gpt::dist::finalize();
  return rc;
}
