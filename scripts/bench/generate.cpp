// Decode throughput with and without the KV cache, against the memory roofline measured in the
// same process. Prints one JSON line per (batch, path) on stdout.
//   bench-generate --ckpt runs/shakespeare_char_cpu/ckpt --prompt 128 --new 256 --batch 1
//   bench-generate --gpt2-124m --batch 32          (random GPT-2-124M-shaped weights)
//   bench-generate --gpt2-124m --save DIR          (write that model as a checkpoint, then exit)
//   bench-generate --gpt2-124m --device cuda --batch 1,32   (on the GPU; roofline: D2D copy)
//
// Cached runs are the real gpt::generate. An uncached run recomputes the whole window every
// step, so its step time grows with the context; with --uncached-samples K > 0 it times K
// evenly spaced steps and integrates (trapezoid) over all of them instead of running each one,
// which keeps the 124M batch-32 case to minutes.
#include <omp.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <vector>

#include "core/rng.h"
#include "core/sgemm_peak.h"
#include "core/timer.h"
#include "core/tool.h"
#include "model/kv_decoder.h"
#include "infer/generate.h"
#include "model/checkpoint.h"
#include "model/gpt_cuda.h"
#ifdef GPT_HAVE_CUDA
#include "../../kernels/ops_cuda.h"
#endif

namespace {

// Bytes one decode step must read at least: every weight once (the tied embedding once, as
// the LM head) plus the keys and values of the whole context, for each cached position.
double step_bytes(const gpt::GPT& m, int B, double mean_ctx, bool cached) {
  const auto& c = m.config();
  double w = double(m.num_params()) * 4.0;
  double kv = cached ? 2.0 * c.n_layer * B * mean_ctx * c.n_embd * 4.0 : 0.0;
  return w + kv;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Time KV-cached and uncached decoding; report tokens/s and % of the memory roofline",
               "bench-generate"};
  gpt::init_tool(app);
  std::string ckpt, save;
  bool gpt2 = false;
  int prompt = 128, max_new = 256, uncached_samples = 0;
  std::vector<int> batches{1};
  bool skip_cached = false, skip_uncached = false;
  app.add_option("--ckpt", ckpt, "checkpoint directory");
  app.add_flag("--gpt2-124m", gpt2, "random GPT-2-124M-shaped model (12/12/768, vocab 50257)");
  app.add_option("--save", save, "with --gpt2-124m: write the model to this checkpoint directory and exit");
  app.add_option("--prompt", prompt, "prompt tokens");
  app.add_option("--new", max_new, "new tokens");
  app.add_option("--batch", batches, "batch sizes")->delimiter(',');
  app.add_flag("--skip-cached", skip_cached, "only the uncached path");
  app.add_flag("--skip-uncached", skip_uncached, "only the cached path");
  std::string device = "cpu";
  app.add_option("--device", device, "cpu or cuda")->check(CLI::IsMember({"cpu", "cuda"}));
  std::vector<int> append_sizes;
  app.add_option("--append-cost", append_sizes,
                 "instead: ms per cached append of n tokens (batch 1, after a 32-token prefix), e.g. 1,5")
      ->delimiter(',');
  app.add_option("--uncached-samples", uncached_samples, "time this many uncached steps and integrate (0 = run all)");
  return gpt::run_tool(app, argc, argv, [&] {
    std::unique_ptr<gpt::GPT> model;
    std::string name;
    if (gpt2) {
      model = std::make_unique<gpt::GPT>(gpt::GPTConfig{});
      model->init_weights(1);
      name = "gpt2-124m (random)";
      if (!save.empty()) {
        gpt::save_model(save, *model);
        return 0;
      }
    } else {
      gpt::check(!ckpt.empty(), "give --ckpt DIR or --gpt2-124m");
      model = gpt::load_model(ckpt);
      name = ckpt;
    }
    const auto& cfg = model->config();
    std::unique_ptr<gpt::CudaGPT> gpu;
    if (device == "cuda") gpu = std::make_unique<gpt::CudaGPT>(*model, false);
    if (!append_sizes.empty()) {
      // What speculative verification costs against a decode step: one append of n tokens.
      gpt::Decoder dec(*model, 1, cfg.block_size, gpu.get());
      gpt::Rng r(3);
      std::vector<int32_t> toks(static_cast<size_t>(cfg.block_size));
      for (auto& t : toks) t = int32_t(r.below(uint64_t(cfg.vocab_size)));
      for (int n : append_sizes) {
        gpt::check(n >= 1 && 32 + n <= cfg.block_size, "--append-cost: n must be in [1, block_size - 32]");
        std::vector<double> t;
        for (int rep = 0; rep < 50; ++rep) {
          dec.reset();
          dec.append(toks.data(), 32);
          const double t0 = gpt::now_s();
          dec.append(toks.data() + 32, n, n);
          t.push_back(gpt::now_s() - t0);
        }
        std::sort(t.begin(), t.end());
        std::printf("%s\n", nlohmann::json({{"append_tokens", n}, {"ms_median", 1e3 * t[t.size() / 2]},
                                            {"ms_min", 1e3 * t[0]}, {"threads", omp_get_max_threads()}}).dump().c_str());
      }
      return 0;
    }
    const int threads = omp_get_max_threads();
    double copy_gbps = 0;
#ifdef GPT_HAVE_CUDA
    if (gpu) copy_gbps = gpt::cuda::measure_copy_gbps();
#endif
    if (!gpu) copy_gbps = gpt::measure_copy_gbps();
    gpt::Rng rng(7);
    std::vector<int32_t> p(static_cast<size_t>(prompt));
    for (auto& t : p) t = int32_t(rng.below(uint64_t(cfg.vocab_size)));
    for (int B : batches) {
      for (bool cached : {true, false}) {
        if (cached ? skip_cached : skip_uncached) continue;
        std::vector<std::vector<int32_t>> seqs(size_t(B), p);
        std::vector<gpt::Rng> rngs;
        for (int b = 0; b < B; ++b) rngs.emplace_back(uint64_t(b + 1));
        gpt::GenerateOptions opt;
        opt.max_new = max_new;
        opt.sampling.temperature = 0.8f;
        opt.sampling.top_k = 200;
        opt.kv_cache = cached;
        opt.gpu = gpu.get();
        double decode_s = 0;
        int rebuilds = 0;
        size_t kv_bytes = 0;
        std::string method = "measured";
        if (cached || uncached_samples <= 0) {
          gpt::GenerateStats st = gpt::generate(*model, seqs, opt, rngs);
          decode_s = st.decode_ms / 1e3;
          rebuilds = st.rebuilds;
          kv_bytes = st.kv_cache_bytes;
        } else {
          // Uncached step s >= 1 encodes the last min(prompt + s, block_size) tokens.
          method = "sampled " + std::to_string(uncached_samples) + " steps, trapezoid";
          const int bs = cfg.block_size;
          gpt::Decoder dec(*model, B, std::min(bs, prompt + max_new - 1), gpu.get());
          std::vector<int> steps;
          for (int k = 0; k < uncached_samples; ++k)
            steps.push_back(1 + int((int64_t(max_new - 2) * k) / std::max(1, uncached_samples - 1)));
          std::vector<double> t(steps.size());
          std::vector<int32_t> toks;
          std::vector<float> probs;
          for (size_t k = 0; k < steps.size(); ++k) {
            const int n = std::min(bs, prompt + steps[k]);
            toks.resize(size_t(B) * size_t(n));
            for (auto& x : toks) x = int32_t(rng.below(uint64_t(cfg.vocab_size)));
            double t0 = gpt::now_s();
            dec.reset();
            const float* logits = dec.append(toks.data(), n);
            for (int b = 0; b < B; ++b)
              gpt::sample_token(logits + int64_t(b) * cfg.vocab_size, cfg.vocab_size, opt.sampling, 0.5f, probs);
            t[k] = gpt::now_s() - t0;
          }
          for (size_t k = 0; k + 1 < steps.size(); ++k)
            decode_s += 0.5 * (t[k] + t[k + 1]) * (steps[k + 1] - steps[k]);
          // sum_{s=a..b} f(s) = integral_a^b f + (f(a) + f(b)) / 2 for piecewise-linear f
          decode_s += 0.5 * (t.front() + t.back());
          rebuilds = max_new - 1;
        }
        const int decode_tokens = B * (max_new - 1);
        const double tps = decode_tokens / decode_s;
        // Mean cached context over the decode steps (the window is capped at block_size).
        double ctx = 0;
        for (int s = 1; s < max_new; ++s) ctx += std::min(cfg.block_size, prompt + s);
        ctx /= std::max(1, max_new - 1);
        const double bytes = step_bytes(*model, B, ctx, cached);
        const double roofline_tps = B * copy_gbps * 1e9 / bytes;
        nlohmann::json j = {{"model", name}, {"params", model->num_params()}, {"batch", B},
                            {"prompt", prompt}, {"new_tokens", max_new}, {"kv_cache", cached},
                            {"method", method}, {"decode_s", decode_s}, {"decode_tokens_per_s", tps},
                            {"rebuilds", rebuilds}, {"kv_cache_bytes", kv_bytes},
                            {"bytes_per_step", bytes}, {"copy_gbps", copy_gbps},
                            {"roofline_tokens_per_s", roofline_tps}, {"roofline_frac", tps / roofline_tps},
                            {"threads", threads}, {"device", device}};
        std::printf("%s\n", j.dump().c_str());
        std::fflush(stdout);
      }
    }
    return 0;
  });
}
