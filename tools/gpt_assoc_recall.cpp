// gpt-assoc-recall: associative-recall data, a hand-built two-layer induction transformer,
// and a trained baseline. Argument parsing only; lib/recall does the work.
#include <cstdio>

#include "recall/commands.h"
#include "core/tool.h"
#include "train/trainer.h"

namespace {

void add_task(CLI::App* s, gpt::recall::TaskArgs& t) {
  s->add_option("--preset", t.preset, "task preset: " + gpt::recall::preset_names())->capture_default_str();
  s->add_option("--vocab", t.vocab, "vocabulary size; 0 = the preset's (MQAR: keys from [1,V/2), values from [V/2,V))");
  s->add_option("--seq-len", t.seq_len, "MQAR sequence length L (even, >= 4n); 0 = the preset's");
  s->add_option("--pairs", t.pairs, "key/value pairs per sequence; 0 = the preset's");
  s->add_option("--filler", t.filler, "MQAR filler: zero (paper configs) or random (Zoology default)");
  s->add_option("--power-a", t.power_a, "MQAR query-position power law a; 0 = the preset's 0.01");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "Associative recall: task data, a hand-built two-layer transformer that solves it exactly, and a\n"
      "trained baseline.\n\nExamples:\n"
      "  gpt-assoc-recall data --preset course-ar --out data/assoc_q1\n"
      "  gpt-assoc-recall hardcode --preset toy --explain\n"
      "  gpt-assoc-recall hardcode --preset mqar-512 --examples 1000 --save runs/induction512\n"
      "  gpt-assoc-recall hardcode --preset mqar-128 --filler random\n"
      "  gpt-assoc-recall hardcode --preset mqar-64 --mixer conv --explain\n"
      "  gpt-assoc-recall train --preset q1 --out runs/assoc_q1\n\n"
      "See docs/assoc-recall.md for the construction, the choice of beta and the file formats.",
      "gpt-assoc-recall"};
  gpt::init_tool(app);
  app.require_subcommand(1, 1);
  bool json_out = false;

  gpt::recall::DataArgs da;
  auto* data = app.add_subcommand("data", "write AR example files (train.bin, val.bin, assoc.json) that gpt-train reads");
  add_task(data, da.task);
  data->add_option("--train", da.n_train, "training examples (default: course-ar 10000, others 1000)");
  data->add_option("--test", da.n_test, "test examples, written as val.bin (default 500)");
  data->add_option("--seed", da.seed, "generator seed")->capture_default_str();
  data->add_option("--out", da.out, "output directory")->required();
  data->add_flag("--json", json_out, "print a JSON summary on stdout");

  gpt::recall::HardcodeArgs ha;
  auto* hc = app.add_subcommand("hardcode", "build the hand-set induction transformer and score it through the generic forward");
  add_task(hc, ha.task);
  hc->add_option("--examples", ha.examples, "random examples to score")->capture_default_str();
  hc->add_option("--seed", ha.seed, "example seed")->capture_default_str();
  hc->add_option("--beta", ha.opts.beta, "score gap (sharpness) of both heads; 0 = ln L + 6");
  hc->add_option("--pos-code", ha.opts.pos_code, "position code: auto (onehot for L <= 128 with one-hot tokens), onehot or fourier")
      ->capture_default_str();
  hc->add_option("--tok-code", ha.opts.tok_code, "token code: auto (onehot for V <= 256), onehot or rs (Reed-Solomon)")
      ->capture_default_str();
  hc->add_option("--coherence", ha.opts.coherence, "largest dot product of two rs token codes")->capture_default_str();
  hc->add_option("--batch", ha.batch, "examples per forward")->capture_default_str()->check(CLI::PositiveNumber);
  hc->add_option("--save", ha.save, "write the model as a checkpoint directory (runs in gpt-generate)");
  hc->add_option("--mixer", ha.opts.mixer,
                 "layer 1: attention (a previous-token head) or conv (a width-2 causal depthwise conv with "
                 "filter [1, 0], exactly the shift; only layer 2 attends)")
      ->check(CLI::IsMember({"attention", "conv"}))
      ->capture_default_str();
  hc->add_flag("--explain", ha.explain, "print each layer's attention on the first example as a text heat map");
  hc->add_option("--explain-len", ha.explain_len, "positions shown in the heat map")->capture_default_str();
  hc->add_option("--explain-csv", ha.explain_csv, "also write the attention weights as CSV to this file");
  hc->add_flag("--json", json_out, "print the result as JSON on stdout (heat map, if any, on stderr)");

  gpt::recall::TrainArgs ta;
  bool quiet = false;
  auto* tr = app.add_subcommand("train", "train a GPT on AR data with the core trainer; test accuracy goes to metrics.jsonl");
  tr->add_option("--preset", ta.preset,
                 "q1 (the course's model on its AR data), or mqar (= mqar-64), mqar-128, mqar-256, mqar-512 "
                 "(a 2-layer attention-only model on that MQAR preset)")
      ->capture_default_str();
  tr->add_option("--config", ta.config, "run config replacing the preset's (data.dir and out_dir are set here)")
      ->check(CLI::ExistingFile);
  tr->add_option("--set", ta.sets, "override a config key, e.g. --set train.max_iters=100 (repeatable)")->take_all();
  tr->add_option("--out", ta.out, "run directory")->required();
  tr->add_option("--data", ta.data, "data directory (default <out>/data, generated when missing)");
  tr->add_option("--device", ta.device, "cpu or cuda (a CUDA build; overrides the config's device)")
      ->check(CLI::IsMember({"cpu", "cuda"}));
  tr->add_flag("-q,--quiet", quiet, "no progress on stderr");
  tr->add_flag("--json", json_out, "print a JSON summary on stdout");

  return gpt::run_tool(app, argc, argv, [&] {
    std::FILE* human = json_out ? stderr : stdout;
    gpt::json j;
    if (data->parsed()) {
      j = gpt::recall::run_data(da, human);
    } else if (hc->parsed()) {
      if (ha.explain_len < 1) throw gpt::UsageError("--explain-len must be at least 1");
      j = gpt::recall::run_hardcode(ha, json_out ? (ha.explain ? stderr : nullptr) : stdout);
    } else {
      ta.progress = !quiet;
      gpt::install_stop_signals();
      j = gpt::recall::run_train(ta, quiet && json_out ? nullptr : human);
    }
    if (json_out) std::printf("%s\n", j.dump().c_str());
    return 0;
  });
}
