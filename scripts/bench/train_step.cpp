// One training step (forward + backward + clip + AdamW), timed, with MFU against the matmul
// rate measured in the same process (OpenBLAS sgemm on the CPU, cuBLAS on the GPU). Prints one
// JSON line on stdout.
//   bench-train-step --n-layer 4 --n-head 4 --n-embd 128 --block-size 64 --batch 12
//   bench-train-step ... --device cuda [--tf32]
//   bench-train-step ... --vocab 50257 --loss-chunk 8192   (the vocabulary-chunked loss)
#include <omp.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <nlohmann/json.hpp>
#include <vector>

#include "core/profile.h"
#include "core/rng.h"
#include "core/sgemm_peak.h"
#include "core/timer.h"
#include "core/tool.h"
#include "model/gpt.h"
#include "model/gpt_cuda.h"
#include "train/flops.h"
#include "train/optimizer.h"
#ifdef GPT_HAVE_CUDA
#include "../../kernels/ops_cuda.h"
#endif

namespace {
// The process's peak resident memory (VmHWM), in MB; 0 where /proc is missing.
double peak_rss_mb() {
  std::ifstream f("/proc/self/status");
  for (std::string line; std::getline(f, line);)
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  return 0.0;
}
}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Time the CPU training step and report tokens/s and MFU", "bench-train-step"};
  gpt::init_tool(app);
  gpt::GPTConfig c;
  c.vocab_size = 65;
  c.bias = false;
  c.activation = gpt::Activation::Gelu;  // nanoGPT's nn.GELU()
  int B = 12, steps = 20, warmup = 3, loss_chunk = 0;
  std::string act = "gelu", device = "cpu";
  bool tf32 = false;
  app.add_option("--n-layer", c.n_layer)->default_val(4);
  app.add_option("--n-head", c.n_head)->default_val(4);
  app.add_option("--n-embd", c.n_embd)->default_val(128);
  app.add_option("--block-size", c.block_size)->default_val(64);
  app.add_option("--vocab", c.vocab_size);
  app.add_option("--batch", B);
  app.add_option("--steps", steps);
  app.add_option("--warmup", warmup);
  app.add_option("--activation", act);
  app.add_flag("--bias", c.bias);
  app.add_option("--dropout", c.dropout);
  app.add_option("--loss-chunk", loss_chunk, "LM head + loss in vocabulary chunks of N columns (0: whole)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--device", device, "cpu or cuda")->check(CLI::IsMember({"cpu", "cuda"}));
  app.add_flag("--tf32", tf32, "cuda: TF32 tensor cores for fp32 matmuls");
  bool fused = false, bf16 = false;
  app.add_flag("--bf16", bf16, "cuda: bf16 matmuls with fp32 accumulation (precision bf16)");
  app.add_flag("--fused-attention", fused, "cuda: the fused flash-style attention kernels");
  return gpt::run_tool(app, argc, argv, [&] {
    c.activation = gpt::parse_activation(act);
    const int T = c.block_size;
    gpt::GPT model(c);
    model.init_weights(1);
    gpt::AdamW opt(model, {});
    model.set_loss_chunk(loss_chunk);
    const bool on_gpu = device == "cuda";
#ifdef GPT_HAVE_CUDA
    if (on_gpu) gpt::cuda::set_tf32(tf32);
    if (on_gpu) gpt::cuda::set_bf16_matmuls(bf16);
#endif
    std::unique_ptr<gpt::CudaGPT> gpu;
    if (on_gpu) gpu = std::make_unique<gpt::CudaGPT>(model);
    if (gpu) gpu->set_fused_attention(fused);
    gpt::check(!fused || gpu, "--fused-attention needs --device cuda");
    gpt::check(!bf16 || gpu, "--bf16 needs --device cuda");
    gpt::Rng rng(2);
    std::vector<int32_t> x(size_t(B) * T), y(size_t(B) * T);
    std::vector<double> times;
    bool breakdown = std::getenv("GPT_BENCH_BREAKDOWN") != nullptr;
    for (int s = 0; s < warmup + steps; ++s) {
      for (auto& t : x) t = int32_t(rng.below(uint64_t(c.vocab_size)));
      for (auto& t : y) t = int32_t(rng.below(uint64_t(c.vocab_size)));
      if (breakdown && s == warmup) gpt::prof::enable(true);
      double t0 = gpt::now_s();
      if (gpu) {
        gpu->zero_grad();
        gpu->forward(x.data(), y.data(), B, T, true, uint64_t(s));
        gpu->backward();
        gpu->clip_grad_norm(1.0);
        gpu->adamw_step(opt.hparams(), 6e-4f);
#ifdef GPT_HAVE_CUDA
        gpt::cuda::synchronize();
#endif
      } else {
        model.forward(x.data(), y.data(), B, T, true, uint64_t(s));
        model.zero_grad();
        model.backward();
        gpt::clip_grad_norm(model, 1.0);
        opt.step(model, 6e-4f);
      }
      double dt = gpt::now_s() - t0;
      if (s >= warmup) times.push_back(dt);
    }
    std::sort(times.begin(), times.end());
    double med = times[times.size() / 2];
    double peak = 0;
#ifdef GPT_HAVE_CUDA
    if (gpu) peak = gpt::cuda::measure_matmul_flops() / 1e9;
#endif
    if (!gpu) peak = gpt::measure_sgemm_gflops();
    nlohmann::json ops = nlohmann::json::object();
    for (const auto& [name, sec] : gpt::prof::totals()) ops[name] = sec / steps * 1e3;
    double flops = gpt::train_flops_per_token(c, int64_t(model.num_params()), T) * B * T;
    nlohmann::json j = {{"impl", "gptkit"}, {"device", device}, {"tf32", tf32},
                        {"threads", omp_get_max_threads()}, {"n_layer", c.n_layer},
                        {"n_head", c.n_head}, {"n_embd", c.n_embd}, {"block_size", T}, {"batch", B},
                        {"params", model.num_params()}, {"ms_per_step_median", med * 1e3},
                        {"ms_per_step_min", times.front() * 1e3}, {"tokens_per_s", B * T / med},
                        {"model_gflops_per_step", flops / 1e9}, {"achieved_gflops", flops / med / 1e9},
                        {"sgemm_peak_gflops", peak}, {"mfu_vs_sgemm", flops / med / 1e9 / peak},
                        {"vocab", c.vocab_size}, {"loss_chunk", loss_chunk}, {"fused_attention", fused}, {"bf16", bf16},
                        {"activation_mb", gpu ? 0.0 : double(model.activation_bytes()) / 1e6},
                        {"device_mb", gpu ? double(gpu->device_bytes()) / 1e6 : 0.0},
                        {"peak_rss_mb", peak_rss_mb()}};
    if (breakdown) j["ms_per_op"] = ops;
    std::printf("%s\n", j.dump().c_str());
    return 0;
  });
}
