#include "recall/commands.h"

#include <filesystem>
#include <fstream>

#include "recall/evaluate.h"
#include "recall/explain.h"
#include "recall/train_presets.h"
#include "core/error.h"
#include "core/fsutil.h"
#include "core/timer.h"
#include "model/checkpoint.h"
#include "train/trainer.h"

namespace fs = std::filesystem;

namespace gpt::recall {

namespace {

std::string task_line(const Preset& p) {
  if (p.task == "mqar")
    return fmt::format("MQAR (V={}, L={}, n={}, {} filler)", p.mqar.vocab, p.mqar.seq_len, p.mqar.pairs,
                       p.mqar.random_filler ? "random" : "zero");
  if (p.task == "course-ar")
    return fmt::format("course AR (vocab {} incl. '=>', {} pairs, {} tokens)", p.ar.vocab, p.ar.pairs, 2 * p.ar.pairs + 2);
  return "course hardcoding task (vocab 10, 12 tokens, 2 pairs x 3)";
}

// The examples hardcode is scored on: the test split of a task.
ExampleSet eval_examples(const Preset& p, int64_t n, uint64_t seed) {
  if (p.task == "mqar") return make_mqar(p.mqar, n, seed);
  if (p.task == "course-ar") return make_course_ar(p.ar, 1, n, seed).test;
  return make_course_toy(n, seed);
}

}  // namespace

Preset resolve_task(const TaskArgs& a) {
  Preset p = preset(a.preset);
  const bool mq = p.task == "mqar";
  if (a.vocab) (mq ? p.mqar.vocab : p.ar.vocab) = a.vocab;
  if (a.pairs) (mq ? p.mqar.pairs : p.ar.pairs) = a.pairs;
  if (p.task == "toy" && (a.vocab || a.pairs || a.seq_len))
    throw UsageError("the toy task is fixed (vocab 10, 12 tokens); --vocab/--seq-len/--pairs apply to MQAR and course-ar");
  if (a.seq_len) {
    if (!mq) throw UsageError("--seq-len applies to MQAR; the course AR length is 2*pairs+2 (set --pairs)");
    p.mqar.seq_len = a.seq_len;
  }
  if (!a.filler.empty()) {
    if (!mq) throw UsageError("--filler applies to MQAR presets only");
    if (a.filler != "zero" && a.filler != "random")
      throw UsageError(fmt::format("--filler must be zero or random, got '{}'", a.filler));
    p.mqar.random_filler = a.filler == "random";
  }
  if (a.power_a) p.mqar.power_a = a.power_a;
  if (mq) check_params(p.mqar);
  else if (p.task == "course-ar") check_params(p.ar);
  return p;
}

json run_data(const DataArgs& a, std::FILE* human) {
  const Preset p = resolve_task(a.task);
  const int64_t n_train = a.n_train ? a.n_train : p.task == "course-ar" ? 10000 : 1000;
  const int64_t n_test = a.n_test ? a.n_test : 500;
  check(n_train >= 1 && n_test >= 1, "--train and --test must be at least 1");
  check(!a.out.empty(), "--out is required");
  write_task_data(a.out, p, n_train, n_test, a.seed);
  json j = describe(p, n_train, n_test, a.seed);
  j["out"] = a.out;
  j["train_file"] = (fs::path(a.out) / "train.bin").string();
  j["val_file"] = (fs::path(a.out) / "val.bin").string();
  if (human)
    std::fprintf(human, "%s: %lld train + %lld test examples (seed %llu) written to %s/{train,val}.bin, assoc.json\n",
                 task_line(p).c_str(), (long long)n_train, (long long)n_test, (unsigned long long)a.seed,
                 a.out.c_str());
  return j;
}

json run_hardcode(const HardcodeArgs& a, std::FILE* human) {
  const Preset p = resolve_task(a.task);
  check(a.examples >= 1, "--examples must be at least 1, got {}", a.examples);
  const ExampleSet ex = eval_examples(p, a.examples, a.seed);
  const double t0 = now_s();
  InductionModel im = build_induction(ex.vocab_size, ex.seq_len, a.opts);
  const double t_build = now_s() - t0;
  const Accuracy acc = evaluate(*im.model, ex, a.batch);
  const double t_eval = now_s() - t0 - t_build;
  const Ambiguity amb = analyze(ex, acc);
  json j = {{"task", describe(p, 0, a.examples, a.seed)},
            {"model", im.describe()},
            {"examples", ex.n},
            {"scored", acc.scored},
            {"correct", acc.correct},
            {"accuracy", acc.acc()},
            {"ambiguous", amb.ambiguous},
            {"accuracy_unambiguous", amb.clear_acc()},
            {"correct_ambiguous", amb.correct_ambiguous},
            {"build_s", t_build},
            {"eval_s", t_eval}};
  const GPTConfig& c = im.model->config();
  if (human) {
    std::fprintf(human, "hand-built induction model: n_embd %d = position %s %d + token %s %d + previous-token %d + 2,"
                        " %s, 1 head, %.2fM parameters\n",
                 c.n_embd, im.pos.kind.c_str(), im.pos.dim, im.tok.kind.c_str(), im.tok.dim, im.tok.dim,
                 im.mixer == "conv" ? "layer 1 a width-2 short conv (the shift), layer 2 attention"
                                    : "2 attention-only layers",
                 im.model->num_params() / 1e6);
    std::fprintf(human, "beta %.3f%s (score gap in both layers); token-code coherence %.3f\n", im.beta,
                 a.opts.beta > 0 ? "" : " = ln L + 6", im.tok.coherence);
    std::fprintf(human, "%s, %lld examples (seed %llu): accuracy %.6f (%lld / %lld scored positions)\n",
                 task_line(p).c_str(), (long long)ex.n, (unsigned long long)a.seed, acc.acc(),
                 (long long)acc.correct, (long long)acc.scored);
    if (amb.ambiguous > 0)
      std::fprintf(human,
                   "ambiguous: %lld of %lld scored positions: the query key also occurs earlier as filler, followed by "
                   "another token, so 'the token after an earlier occurrence' names two answers; the induction head "
                   "splits its weight between them and ties go to the lower id. %lld of them correct; accuracy on "
                   "the %lld unambiguous positions %.6f\n",
                   (long long)amb.ambiguous, (long long)amb.scored, (long long)amb.correct_ambiguous,
                   (long long)(amb.scored - amb.ambiguous), amb.clear_acc());
  }
  if (!a.save.empty()) {
    save_model(a.save, *im.model);
    j["saved"] = a.save;
    if (human) std::fprintf(human, "checkpoint written to %s (run it with gpt-generate --ckpt %s --prompt-tokens ...)\n",
                            a.save.c_str(), a.save.c_str());
  }
  if (a.explain) {
    std::vector<int32_t> first(ex.xs(0), ex.xs(0) + ex.seq_len);
    const AttentionMaps m = attention_maps(*im.model, first);
    if (human) print_heatmap(human, m, a.explain_len);
    if (!a.explain_csv.empty()) {
      write_file_atomic(a.explain_csv, attention_csv(m));
      j["explain_csv"] = a.explain_csv;
    }
    json layers = json::array();
    for (int l = 0; l < m.layers; ++l) {
      if (!m.conv_taps[size_t(l)].empty()) {
        layers.push_back({{"layer", l + 1}, {"mixer", "conv"}, {"taps", m.conv_taps[size_t(l)]}});
        continue;
      }
      std::vector<int> argmax;
      for (int i = 0; i < m.T; ++i) {
        int best = 0;
        for (int k = 1; k <= i; ++k)
          if (m.at(l, 0, i, k) > m.at(l, 0, i, best)) best = k;
        argmax.push_back(best);
      }
      layers.push_back({{"layer", l + 1}, {"argmax_key", argmax}});
    }
    j["explain"] = {{"tokens", first}, {"layers", layers}};
  }
  return j;
}

json run_train(const TrainArgs& a, std::FILE* human) {
  TrainPreset tp = train_preset(a.preset);
  check(!a.out.empty(), "--out is required (the run directory)");
  json cfg = a.config.empty() ? tp.config : parse_json_file(a.config);
  const std::string data = a.data.empty() ? (fs::path(a.out) / "data").string() : a.data;
  if (a.data.empty() || !fs::exists(fs::path(data) / "train.bin")) {
    if (human) std::fprintf(human, "writing %s data to %s\n", task_line(tp.data).c_str(), data.c_str());
    write_task_data(data, tp.data, tp.n_train, tp.n_test, tp.data_seed);
  }
  cfg["data"] = {{"dir", data}, {"train", "train.bin"}, {"val", "val.bin"}};
  cfg["out_dir"] = a.out;
  if (!a.device.empty()) cfg["device"] = a.device;
  for (const auto& o : a.sets) apply_override(cfg, o);
  RunConfig rc = RunConfig::from_json(cfg);
  TrainOptions opts;
  opts.progress = a.progress;
  TrainResult r = train(rc, opts);
  const fs::path metrics = fs::path(a.out) / "metrics.jsonl";
  json rec = {{"kind", "test"}, {"step", r.end_step}, {"accuracy", r.last_val_acc}, {"val_loss", r.last_val_loss},
              {"elapsed_s", r.elapsed_s}, {"task", describe(tp.data, tp.n_train, tp.n_test, tp.data_seed)}};
  {
    std::ofstream f(metrics, std::ios::app);
    f << rec.dump() << "\n";
    check(bool(f), "cannot append to {}", metrics.string());
  }
  if (human)
    std::fprintf(human, "test accuracy on the recalled token: %.4f after %d steps (%.1f s); checkpoint %s\n",
                 r.last_val_acc, r.end_step, r.elapsed_s, r.checkpoint.c_str());
  return {{"out_dir", r.out_dir}, {"checkpoint", r.checkpoint}, {"steps", r.end_step}, {"test_accuracy", r.last_val_acc},
          {"val_loss", r.last_val_loss}, {"elapsed_s", r.elapsed_s}, {"interrupted", r.interrupted},
          {"reached_target", r.reached_target}};
}

}  // namespace gpt::recall
