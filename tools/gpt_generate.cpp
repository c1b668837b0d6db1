// gpt-generate: sample text from a checkpoint (KV cache, batched samples, streaming), or score
// a text under it.
#include <sys/resource.h>

#include <cmath>
#include <cstdio>
#include <memory>
#include <spdlog/spdlog.h>

#include "core/timer.h"
#include "core/tool.h"
#include "infer/generate.h"
#include "infer/prompt.h"
#include "model/checkpoint.h"
#include "model/gpt_cuda.h"

namespace {

double peak_rss_bytes() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return double(u.ru_maxrss) * 1024.0;  // Linux reports KiB
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "Sample text from a gptkit checkpoint, or score a text under it.\n\n"
      "Samples are decoded together as one batch, with a KV cache unless --no-kv-cache.\n"
      "Sampling order: temperature, then top-k, then top-p; one uniform draw per token (none\n"
      "when greedy), so a seed reproduces a run exactly.\n\nExamples:\n"
      "  gpt-generate --ckpt runs/shakespeare_char_cpu/ckpt --prompt 'ROMEO:' --max-new-tokens 200\n"
      "  gpt-generate --ckpt CKPT --prompt-file - --num-samples 4 --temperature 0 --json < prompt.txt\n"
      "  gpt-generate --ckpt CKPT --score --prompt-file play.txt --json\n"
      "  gpt-generate --ckpt CKPT --prompt 'ROMEO:' --device cuda   (a GPU build; see docs/cuda.md)\n"
      "  gpt-generate --ckpt gpt2-large --preset course-kv --prompts-jsonl humaneval.jsonl --json",
      "gpt-generate"};
  gpt::init_tool(app);
  std::string ckpt;
  gpt::PromptFlags pf;
  gpt::SamplingFlags sf;
  int num_samples = 1;
  bool json_out = false, stream = false, kv_cache = true, score_mode = false;
  std::string device = "cpu";
  app.add_option("--ckpt", ckpt,
                 "checkpoint directory: model.safetensors + config.json, and tokenizer.json (gpt-train) or "
                 "vocab.json + merges.txt (a Hugging Face GPT-2)")
      ->required()
      ->check(CLI::ExistingDirectory);
  gpt::add_prompt_flags(app, pf);
  gpt::add_sampling_flags(app, sf);
  app.add_option("--num-samples", num_samples, "samples, decoded together as one batch (with --prompts-jsonl: the "
                 "number of prompts, one sample each)")->check(CLI::PositiveNumber);
  app.add_flag("--stream", stream, "print tokens as they are produced (one sample; to stderr with --json)");
  app.add_flag("--kv-cache,!--no-kv-cache", kv_cache,
               "reuse cached keys/values (default); --no-kv-cache recomputes the whole context each step");
  app.add_flag("--score", score_mode,
               "instead of generating, print the per-token negative log-likelihood, mean loss and perplexity of the prompt text");
  app.add_option("--device", device, "cpu or cuda: where the forward passes run")->check(CLI::IsMember({"cpu", "cuda"}));
  app.add_flag("--json", json_out, "print results as JSON on stdout");
  return gpt::run_tool(app, argc, argv, [&] {
    gpt::apply_preset(app, pf, sf, &num_samples, nullptr);
    gpt::validate(sf);
    if (score_mode && !pf.jsonl.empty())
      throw gpt::UsageError("--score takes one text (--prompt, --prompt-file or --prompt-tokens), not --prompts-jsonl");
    if (stream && num_samples > 1)
      throw gpt::UsageError("--stream prints one sample as it is produced; drop --stream or use --num-samples 1");
    auto model = gpt::load_model(ckpt);
    const gpt::GPTConfig& cfg = model->config();
    const auto tok = gpt::load_tokenizer(ckpt, cfg.vocab_size);
    // Every sequence of a batch starts from the same prompt, unless --prompts-jsonl gives one each.
    std::vector<std::vector<int32_t>> seqs =
        pf.jsonl.empty() ? std::vector<std::vector<int32_t>>(size_t(num_samples), gpt::prompt_ids(pf, tok, cfg.vocab_size, ckpt))
                         : gpt::jsonl_prompts(pf.jsonl, tok, cfg.vocab_size, ckpt, pf.prompt_length, num_samples);
    const std::vector<int32_t> ids = seqs[0];
    const int max_new = sf.max_new;
    const uint64_t seed = sf.seed;
    const gpt::SamplingParams& sp = sf.sampling;
    auto decode = [&](const std::vector<int32_t>& s) { return tok ? tok->decode(s) : std::string(); };
    // The weights alone on the GPU (no gradients or optimizer state).
    std::unique_ptr<gpt::CudaGPT> gpu;
    if (device == "cuda") gpu = std::make_unique<gpt::CudaGPT>(*model, /*training=*/false);

    if (score_mode) {
      double t0 = gpt::now_s();
      gpt::ScoreResult r = gpt::score(*model, ids, gpu.get());
      double ms = 1e3 * (gpt::now_s() - t0);
      if (json_out) {
        gpt::json out = {{"tokens", ids.size()}, {"scored_tokens", r.nll.size()}, {"nll", r.nll},
                         {"mean_loss", r.mean_loss}, {"perplexity", r.perplexity}, {"forwards", r.forwards},
                         {"ms", ms}};
        std::printf("%s\n", gpt::json_line(out).c_str());
      } else {
        std::printf("mean loss %.4f  perplexity %.3f  (%zu tokens scored, %d forward pass%s)\n", r.mean_loss,
                    r.perplexity, r.nll.size(), r.forwards, r.forwards == 1 ? "" : "es");
      }
      return 0;
    }

    std::vector<gpt::Rng> rngs;
    for (int s = 0; s < num_samples; ++s) rngs.emplace_back(gpt::splitmix64(seed + uint64_t(s)));
    gpt::GenerateOptions opt;
    opt.max_new = max_new;
    opt.sampling = sp;
    opt.kv_cache = kv_cache;
    opt.gpu = gpu.get();
    FILE* sout = json_out ? stderr : stdout;
    if (stream) {
      std::fputs(tok ? decode(ids).c_str() : "", sout);
      std::fflush(sout);
      opt.on_step = [&](const std::vector<int32_t>& t) {
        if (tok) std::fputs(tok->decode(t).c_str(), sout);
        else std::fprintf(sout, "%d ", t[0]);
        std::fflush(sout);
      };
    }
    gpt::GenerateStats st = gpt::generate(*model, seqs, opt, rngs);
    if (stream) std::fputs("\n", sout);
    const double decode_tokens = double(num_samples) * std::max(0, max_new - 1);
    const double tps = st.decode_ms > 0 ? decode_tokens / (st.decode_ms / 1e3) : 0.0;
    spdlog::info("{} sample(s) x {} new tokens: prefill {:.1f} ms, decode {:.1f} tokens/s, {} ({} rebuilds past block_size)",
                 num_samples, max_new, st.prefill_ms, tps,
                 kv_cache ? fmt::format("KV cache {:.2f} MiB", double(st.kv_cache_bytes) / (1 << 20)) : "no KV cache",
                 st.rebuilds);
    if (json_out) {
      gpt::json out = {{"prompt_tokens", ids.size()}, {"new_tokens", max_new}, {"num_samples", num_samples},
                       {"token_ids", seqs}, {"prefill_ms", st.prefill_ms}, {"decode_ms", st.decode_ms},
                       {"decode_tokens_per_s", tps}, {"kv_cache", kv_cache}, {"kv_cache_bytes", st.kv_cache_bytes},
                       {"forwards", st.forwards}, {"rebuilds", st.rebuilds},
                       {"weights_bytes", model->num_params() * sizeof(float)}, {"peak_rss_bytes", peak_rss_bytes()},
                       {"device", device}, {"seed", seed}, {"temperature", sp.temperature}, {"top_k", sp.top_k}, {"top_p", sp.top_p}};
      if (tok) {
        out["texts"] = gpt::json::array();
        for (auto& s : seqs) out["texts"].push_back(decode(s));
      }
      std::printf("%s\n", gpt::json_line(out).c_str());
    } else if (!stream) {
      for (size_t i = 0; i < seqs.size(); ++i) {
        if (i) std::printf("---\n");
        if (tok) {
          std::printf("%s\n", decode(seqs[i]).c_str());
        } else {
          for (int32_t t : seqs[i]) std::printf("%d ", t);
          std::printf("\n");
        }
      }
    }
    return 0;
  });
}
