// gpt-specdecode: speculative decoding with a draft model; exact (rejection) or token-identical
// to gpt-generate (match), with the statistics that predict its speedup.
#include <cstdio>
#include <memory>
#include <spdlog/spdlog.h>

#include "core/timer.h"
#include "core/tool.h"
#include "infer/generate.h"
#include "infer/prompt.h"
#include "infer/speculative.h"
#include "model/checkpoint.h"
#include "model/gpt_cuda.h"

int main(int argc, char** argv) {
  CLI::App app{
      "Speculative decoding: a small draft model proposes --gamma tokens, the target checks them\n"
      "in one forward pass and keeps the longest acceptable prefix.\n\n"
      "  --method rejection  accept x with probability min(1, p(x)/q(x)), else resample from\n"
      "                      norm(max(0, p - q)): the output is distributed exactly as the target's\n"
      "  --method match      greedy drafts; the target samples with gpt-generate's random stream,\n"
      "                      so the output equals `gpt-generate --ckpt TARGET` with the same flags\n\n"
      "Example:\n"
      "  gpt-specdecode --target runs/spec_target/ckpt --draft runs/spec_draft/ckpt --prompt 'ROMEO:' \\\n"
      "      --temperature 0 --gamma 4 --compare --json\n"
      "  gpt-specdecode --target gpt2-large --draft gpt2 --preset course-spec --prompts-jsonl humaneval.jsonl \\\n"
      "      --method match --compare   (the course's speculative run)",
      "gpt-specdecode"};
  gpt::init_tool(app);
  std::string target_dir, draft_dir, method = "rejection";
  gpt::PromptFlags pf;
  gpt::SamplingFlags sf;
  int gamma = 4;
  bool compare = false, json_out = false;
  std::string device = "cpu";
  app.add_option("--target", target_dir, "target checkpoint directory")->required()->check(CLI::ExistingDirectory);
  app.add_option("--draft", draft_dir, "draft checkpoint directory (same tokenizer)")->required()->check(CLI::ExistingDirectory);
  gpt::add_prompt_flags(app, pf);
  gpt::add_sampling_flags(app, sf);
  app.add_option("--gamma", gamma, "draft tokens per target call")->capture_default_str()->check(CLI::Range(1, 64));
  app.add_option("--method", method, "rejection or match")->capture_default_str()->check(CLI::IsMember({"rejection", "match"}));
  app.add_flag("--compare", compare, "also run plain target generation (KV cache, same flags): speedup and identity");
  app.add_option("--device", device, "cpu or cuda: where both models run")->check(CLI::IsMember({"cpu", "cuda"}));
  app.add_flag("--json", json_out, "print text, tokens and statistics as JSON on stdout");
  return gpt::run_tool(app, argc, argv, [&] {
    gpt::apply_preset(app, pf, sf, nullptr, &gamma);
    // The course's speculative decoding drafts greedily and samples the target: our match method.
    if (!pf.preset.empty() && app.get_option("--method")->count() == 0) method = "match";
    gpt::validate(sf);
    auto target = gpt::load_model(target_dir);
    auto draft = gpt::load_model(draft_dir);
    const int V = target->config().vocab_size;
    gpt::check(draft->config().vocab_size == V,
               "the draft's vocabulary ({}) differs from the target's ({}): train both on the same gpt-prepare output",
               draft->config().vocab_size, V);
    const auto tok = gpt::load_tokenizer(target_dir, V);
    const auto dtok = gpt::load_tokenizer(draft_dir, V);
    gpt::check(tok.has_value() == dtok.has_value() && (!tok || tok->same_as(*dtok)),
               "{} and {} have different tokenizers: the draft must share the target's tokenizer", target_dir,
               draft_dir);
    // Batch 1: with --prompts-jsonl, its first prompt longer than --prompt-length.
    const std::vector<int32_t> ids = pf.jsonl.empty()
                                         ? gpt::prompt_ids(pf, tok, V, target_dir)
                                         : gpt::jsonl_prompts(pf.jsonl, tok, V, target_dir, pf.prompt_length, 1)[0];

    gpt::SpecOptions opt{sf.max_new, gamma, gpt::parse_spec_method(method), sf.sampling};
    std::unique_ptr<gpt::CudaGPT> tgpu, dgpu;  // the weights alone, for inference
    if (device == "cuda") {
      tgpu = std::make_unique<gpt::CudaGPT>(*target, false);
      dgpu = std::make_unique<gpt::CudaGPT>(*draft, false);
    }
    opt.target_gpu = tgpu.get();
    opt.draft_gpu = dgpu.get();
    std::vector<int32_t> seq = ids;
    gpt::Rng rng(gpt::splitmix64(sf.seed));  // gpt-generate's stream for sample 0
    const gpt::SpecStats st = gpt::speculative_generate(*target, *draft, seq, opt, rng);
    const double pred = gpt::predicted_speedup(st.alpha_hat(), gamma, st.c_measured());
    const double tps = st.total_s > 0 ? double(st.emitted) / st.total_s : 0.0;
    const bool exact_mode = opt.method == gpt::SpecMethod::Match || sf.sampling.temperature == 0.0f;

    gpt::json out = {{"prompt_tokens", ids.size()}, {"new_tokens", st.emitted}, {"token_ids", seq},
                     {"method", method}, {"gamma", gamma}, {"target_calls", st.target_calls},
                     {"draft_calls", st.draft_calls}, {"drafted", st.drafted}, {"accepted", st.accepted},
                     {"acceptance", st.acceptance()}, {"alpha_hat", st.alpha_hat()},
                     {"tokens_per_target_call", st.tokens_per_target_call()}, {"c_measured", st.c_measured()},
                     {"predicted_speedup", pred}, {"measured_speedup", nullptr}, {"tokens_per_s", tps},
                     {"plain_target_steps", st.plain_steps}, {"seconds", st.total_s},
                     {"device", device}};
    if (tok) out["text"] = tok->decode(seq);
    if (compare) {
      std::vector<std::vector<int32_t>> plain(1, ids);
      std::vector<gpt::Rng> rngs{gpt::Rng(gpt::splitmix64(sf.seed))};
      gpt::GenerateOptions go;
      go.max_new = sf.max_new;
      go.sampling = sf.sampling;
      go.gpu = tgpu.get();
      const double t0 = gpt::now_s();
      gpt::generate(*target, plain, go, rngs);
      const double plain_s = gpt::now_s() - t0;
      out["plain_seconds"] = plain_s;
      out["plain_tokens_per_s"] = plain_s > 0 ? sf.max_new / plain_s : 0.0;
      out["measured_speedup"] = st.total_s > 0 ? plain_s / st.total_s : 0.0;
      if (exact_mode) out["identical"] = plain[0] == seq;
    }
    spdlog::info("{} tokens in {} target + {} draft calls: acceptance {:.3f}, alpha_hat {:.3f}, {:.2f} tokens/call, "
                 "c {:.3f}, predicted speedup {:.2f}x{}",
                 st.emitted, st.target_calls, st.draft_calls, st.acceptance(), st.alpha_hat(),
                 st.tokens_per_target_call(), st.c_measured(), pred,
                 compare ? fmt::format(", measured {:.2f}x", out["measured_speedup"].get<double>()) : "");
    if (compare && exact_mode)
      spdlog::info("output {} plain target generation", out["identical"].get<bool>() ? "is identical to" : "DIFFERS from");
    if (json_out) {
      std::printf("%s\n", gpt::json_line(out).c_str());
    } else if (tok) {
      std::printf("%s\n", tok->decode(seq).c_str());
    } else {
      for (int32_t t : seq) std::printf("%d ", t);
      std::printf("\n");
    }
    if (compare && exact_mode && !out["identical"].get<bool>()) return 1;
    return 0;
  });
}
