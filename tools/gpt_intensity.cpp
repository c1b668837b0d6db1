// gpt-intensity: FLOPs, bytes, arithmetic intensity and roofline of transformer operations,
// KV-cache memory and speculative-decoding math. Argument parsing only; lib/analysis does
// the work and decides what is printed.
#include <spdlog/spdlog.h>

#include <optional>

#include "analysis/measure.h"
#include "analysis/model_presets.h"
#include "analysis/reports.h"
#include "core/error.h"
#include "core/fsutil.h"
#include "core/tool.h"

using namespace gpt::analysis;

namespace {

constexpr const char* kConventions =
    "Counting conventions: a multiply-add is 2 FLOPs (a GEMM is 2*M*N*K); softmax is 5 FLOPs per\n"
    "element (max, subtract, exp, sum, divide), scale+mask 2, dropout 2, exp/tanh/erf count 1.\n"
    "Bytes are the minimum traffic: each input read from memory once, each output written once.\n"
    "Unfused attention writes every intermediate (scores, masked scores, probabilities) to memory;\n"
    "fused (FlashAttention-style) reads Q, K, V and writes O once. Score stages count the full\n"
    "Nq x Nk rectangle (no causal skipping). Time = max(FLOPs/peak, bytes/bandwidth) per op.\n"
    "Without --hardware the default is a100-80gb; `roofline --all` lists the built-in machines.";

struct Common {
  std::string hardware, dtype;
  bool json = false, csv = false;
  Format format() const { return json ? Format::Json : csv ? Format::Csv : Format::Text; }
};

struct ModelArgs {
  std::string preset, config;
  std::vector<std::string> sets;
};

void add_output(CLI::App* s, Common& c) {
  auto* j = s->add_flag("--json", c.json, "print one JSON object on stdout");
  auto* v = s->add_flag("--csv", c.csv, "print CSV on stdout (the main table)");
  j->excludes(v);
}

void add_target(CLI::App* s, Common& c, bool dtype = true) {
  s->add_option("--hardware", c.hardware,
                "built-in name (t4, a100-40gb, a100-80gb, a100-80gb-sxm, h100-sxm, h100-pcie, h200, rtx4090, "
                "cpu), cpu-local after `roofline --measure`, or a JSON file [default: a100-80gb]");
  if (dtype)
    s->add_option("--dtype", c.dtype, "fp32, tf32, fp16, bf16, fp8 or int8 [default: the hardware's default_dtype]");
}

void add_model(CLI::App* s, ModelArgs& m) {
  auto* p = s->add_option("--preset", m.preset, "gpt2, gpt2-medium, gpt2-large, gpt2-xl or shakespeare_char");
  auto* c = s->add_option("--config", m.config,
                          "run config (its \"model\" section), a checkpoint config.json, or a checkpoint directory");
  p->excludes(c);
  s->add_option("--set", m.sets, "override a model field, e.g. --set bias=false --set n_layer=6")->take_all();
}

Target target(const Common& c) {
  Target t = resolve_target(c.hardware, c.dtype);
  if (t.defaulted)
    spdlog::info("no --hardware given; using {} ({}), {}", t.hw.name, t.hw.description, dtype_name(t.dtype));
  return t;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"gpt-intensity: FLOPs, minimum bytes, arithmetic intensity and roofline bounds of transformer\n"
               "operations; KV-cache memory; speculative-decoding expectations."};
  gpt::init_tool(app);
  app.footer(kConventions);
  app.require_subcommand(1, 1);
  Common common;

  auto* matmul = app.add_subcommand("matmul", "one GEMM C[M,N] = A[M,K] @ B[K,N]");
  int64_t m = 0, n = 0, k = 0, mm_batch = 1;
  matmul->add_option("--m", m, "rows of A and C")->required();
  matmul->add_option("--n", n, "columns of B and C")->required();
  matmul->add_option("--k", k, "the shared (reduced) dimension")->required();
  matmul->add_option("--batch", mm_batch, "independent GEMMs of this shape");
  add_target(matmul, common);
  add_output(matmul, common);

  auto* mha = app.add_subcommand("mha", "multi-head attention, stage by stage");
  mha->footer(kConventions);
  MhaSpec ms;
  std::string mha_attn = "unfused", mha_phase = "prefill";
  bool no_dropout = false;
  mha->add_option("--batch", ms.batch, "sequences");
  mha->add_option("--seq-len", ms.seq_len, "tokens per sequence (the context in decode)");
  mha->add_option("--d-model", ms.d_model, "model width");
  mha->add_option("--heads", ms.heads, "attention heads (must divide d-model)");
  mha->add_option("--attention", mha_attn, "unfused (every intermediate through memory) or fused (FlashAttention-style)");
  mha->add_option("--phase", mha_phase, "train (forward+backward, with dropout), prefill (forward) or decode (1 new token)");
  mha->add_option("--kv-len", ms.kv_len, "decode: keys in the cache including the new token [default: --seq-len]");
  mha->add_flag("--no-dropout", no_dropout, "train without attention dropout");
  add_target(mha, common);
  add_output(mha, common);

  auto* model = app.add_subcommand("model", "a whole GPT: per-op table, parameters, FLOPs, memory, MFU");
  model->footer(kConventions);
  ModelArgs ma;
  ModelSpec mspec;
  std::string model_attn = "unfused", model_phase = "train";
  double step_time = 0;
  bool model_measure = false;
  add_model(model, ma);
  model->add_option("--batch", mspec.batch, "sequences per step");
  model->add_option("--seq-len", mspec.seq_len, "tokens per sequence; in decode the context [default: block_size]");
  model->add_option("--phase", model_phase, "train (forward, backward, AdamW), prefill or decode");
  model->add_option("--attention", model_attn, "unfused or fused");
  model->add_option("--step-time", step_time, "a measured training step time in seconds: prints MFU");
  model->add_flag("--measure", model_measure,
                  "time the library's CPU kernels for this shape and compare with the prediction "
                  "(on cpu-local, measured now if there is no cpu-local.json)");
  add_target(model, common);
  add_output(model, common);

  auto* kv = app.add_subcommand("kv", "KV-cache memory, capacity and cache-vs-recompute");
  ModelArgs ka;
  KvSpec kspec;
  double memory_gb = 0;
  add_model(kv, ka);
  kv->add_option("--batch", kspec.batch, "sequences");
  kv->add_option("--seq-len", kspec.seq_len, "tokens per sequence [default: block_size]");
  kv->add_option("--memory-gb", memory_gb, "device memory in GB (1e9 bytes) [default: the hardware's]");
  add_target(kv, common);
  add_output(kv, common);

  auto* spec = app.add_subcommand("specdecode", "speculative-decoding expectations, best gamma, unit conversions");
  SpecInputs si;
  double alpha = -1, accept = -1, tokens = -1, c = -1, c_hat = -1, verify = -1;
  std::string stats, target_model, draft_model;
  auto* o_alpha = spec->add_option("--alpha", alpha, "per-token acceptance probability, in [0, 1]");
  auto* o_acc = spec->add_option("--accept-rate", accept, "or: accepted/drafted as llama.cpp prints it");
  auto* o_tok = spec->add_option("--tokens-per-call", tokens, "or: mean tokens per target call (vLLM's mean acceptance length)");
  auto* o_gamma = spec->add_option("--gamma", si.gamma, "draft tokens per target call");
  auto* o_c = spec->add_option("--c", c, "draft step time / target step time");
  auto* o_chat = spec->add_option("--c-hat", c_hat, "draft FLOPs / target FLOPs per token, for the op inflation [default: c]");
  auto* o_v = spec->add_option("--verify-cost", verify, "target's (gamma+1)-token pass / its 1-token step [default: 1]");
  spec->add_option("--max-gamma", si.max_gamma, "search the best gamma in 1..this");
  spec->add_option("--from-stats", stats, "compare with measurements: a `gpt-specdecode --json` output file");
  auto* o_tm = spec->add_option("--target", target_model, "target model (preset or config): derive c, c_hat, v from the roofline");
  auto* o_dm = spec->add_option("--draft", draft_model, "draft model (preset or config)");
  spec->add_option("--context", si.context, "with --target/--draft: tokens in the cache [default: the smaller block_size]");
  add_target(spec, common);
  add_output(spec, common);

  auto* roof = app.add_subcommand("roofline", "peak FLOP/s per dtype, bandwidth and ridge points of a machine");
  bool all = false, measure = false;
  std::string out_path = "cpu-local.json";
  roof->add_flag("--all", all, "list every built-in machine");
  roof->add_flag("--measure", measure, "measure this CPU (sgemm peak, copy bandwidth) and write cpu-local.json");
  roof->add_option("--out", out_path, "where --measure writes");
  add_target(roof, common, false);
  add_output(roof, common);

  return gpt::run_tool(app, argc, argv, [&] {
    Report r;
    if (*matmul) {
      r = matmul_report(m, n, k, mm_batch, target(common));
    } else if (*mha) {
      ms.impl = parse_attention(mha_attn);
      ms.phase = parse_phase(mha_phase);
      ms.dropout = !no_dropout;
      r = mha_report(ms, target(common));
    } else if (*model) {
      mspec.cfg = resolve_model(ma.preset, ma.config, ma.sets);
      mspec.impl = parse_attention(model_attn);
      mspec.phase = parse_phase(model_phase);
      if (model_measure) {
        Target t = measured_cpu_target(common.hardware, common.dtype);
        spdlog::info("timing the CPU ops; this takes a few seconds per op");
        r = model_measure_report(mspec, t);
      } else {
        r = model_report(mspec, target(common), step_time);
      }
    } else if (*kv) {
      kspec.cfg = resolve_model(ka.preset, ka.config, ka.sets);
      kspec.memory_bytes = memory_gb * 1e9;
      r = kv_report(kspec, target(common));
    } else if (*spec) {
      if (*o_alpha) si.alpha = alpha;
      if (*o_acc) si.accept_rate = accept;
      if (*o_tok) si.tokens_per_call = tokens;
      if (*o_c) si.c = c;
      if (*o_chat) si.c_hat = c_hat;
      if (*o_v) si.verify_cost = verify;
      if (!stats.empty()) {
        r = specdecode_stats_report(stats, si, bool(*o_gamma));
      } else {
        std::optional<Target> t;
        if (*o_tm || *o_dm) {
          if (!*o_tm || !*o_dm) throw gpt::UsageError("give both --target and --draft");
          si.target_model = preset_or_config(target_model);
          si.draft_model = preset_or_config(draft_model);
          t = target(common);
        } else if (!common.hardware.empty() || !common.dtype.empty()) {
          spdlog::warn("--hardware and --dtype matter only with --target and --draft; ignored");
        }
        r = specdecode_report(si, t ? &*t : nullptr);
      }
    } else if (*roof) {
      if (measure) {
        if (all || !common.hardware.empty()) throw gpt::UsageError("--measure cannot be combined with --all or --hardware");
        spdlog::info("measuring sgemm peak and copy bandwidth (a few seconds)");
        Hardware hw = hardware_from_measurement(measure_machine());
        gpt::write_file_atomic(out_path, hw.to_json().dump(2) + "\n");
        r = measure_report(hw, out_path);
      } else if (all) {
        r = roofline_all_report();
      } else {
        r = roofline_report(target(common));
      }
    }
    print_report(r, common.format());
    return 0;
  });
}
