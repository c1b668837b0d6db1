// The whole model on the GPU against the CPU engine: one training step (loss, every gradient,
// the weights after clipping and AdamW) and determinism. Skips without a GPU.
#include <doctest/doctest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "core/error.h"
#include "model/gpt.h"
#include "model/gpt_cuda.h"
#include "recall/tasks.h"
#include "recall/train_presets.h"
#include "test_util.h"
#include "train/optimizer.h"
#include "train/trainer.h"

#ifdef GPT_HAVE_CUDA
#include "../kernels/ops_cuda.h"
#endif

using namespace gpt;
using namespace gpt::test;

namespace {

#ifdef GPT_HAVE_CUDA
bool have_gpu() {
  std::string why;
  if (cuda::available(&why)) return true;
  MESSAGE("skipping CUDA model checks: " << why);
  return false;
}

GPTConfig small_config(bool bias, bool tied, float dropout, Activation act, int conv_layers = 0) {
  GPTConfig c;
  c.conv_layers = conv_layers;  // leading short-conv layers (width 3) on the conv1d kernels
  c.conv_width = conv_layers ? 3 : 4;
  c.vocab_size = 67;
  c.block_size = 24;
  c.n_layer = 2;
  c.n_head = 3;
  c.n_embd = 48;
  c.bias = bias;
  c.tie_embeddings = tied;
  c.dropout = dropout;
  c.activation = act;
  return c;
}

void batch(const GPTConfig& c, int B, int T, uint64_t seed, std::vector<int32_t>& x, std::vector<int32_t>& y) {
  Rng rng(seed);
  x.resize(size_t(B) * T);
  y.resize(size_t(B) * T);
  for (auto& v : x) v = int32_t(rng.below(uint64_t(c.vocab_size)));
  for (auto& v : y) v = int32_t(rng.below(uint64_t(c.vocab_size)));
  y[3] = -1;  // an ignored target
}

// One step of the training loop on both engines. chunk: the vocabulary-chunked loss on both.
// fused: the GPU's fused flash-style attention against the CPU's one attention.
void one_step(const GPTConfig& cfg, int B, int T, int chunk = 0, bool fused = false) {
  GPT cpu(cfg);
  cpu.init_weights(7);
  fill_random_weights(cpu, 11, 0.1);
  cpu.set_loss_chunk(chunk);
  CudaGPT gpu(cpu);  // takes the chunk from cpu
  gpu.set_fused_attention(fused);
  const ops::AdamWParams hp{1e-2f, 0.9f, 0.95f, 1e-8f, 0.1f};
  AdamW opt(cpu, hp);
  std::vector<int32_t> x, y;
  batch(cfg, B, T, 3, x, y);

  cpu.zero_grad();
  gpu.zero_grad();
  const float lc = cpu.forward(x.data(), y.data(), B, T, true, 99);
  const float lg = gpu.forward(x.data(), y.data(), B, T, true, 99);
  CHECK(std::abs(lc - lg) <= 1e-5 * std::abs(lc));
  // Logits before backward turns them into their gradient (chunked: only their argmax is kept).
  if (chunk == 0) {
    const size_t nl = size_t(B) * T * cfg.vocab_size;
    std::vector<float> lgt(gpu.logits_host(), gpu.logits_host() + nl), lct(cpu.logits(), cpu.logits() + nl);
    CHECK(scaled_err(lgt, lct) <= 1e-5);
  }
  std::vector<int32_t> ag(size_t(B) * T), ac(size_t(B) * T);
  gpu.argmax_host(ag.data());
  cpu.argmax(ac.data());
  CHECK(ag == ac);
  cpu.backward(0.5f);
  gpu.backward(0.5f);
  if (chunk == 0)  // the GPU's logits are now their gradient: refused, not returned
    CHECK_THROWS_WITH_AS(gpu.logits_host(), doctest::Contains("before backward"), Error);

  std::vector<float> g(cpu.num_params());
  gpu.download_grads(g.data());
  for (const auto& v : cpu.params()) {
    std::vector<float> a(g.begin() + long(v.offset), g.begin() + long(v.offset + v.numel));
    std::vector<float> b(cpu.grad_data() + v.offset, cpu.grad_data() + v.offset + v.numel);
    INFO("gradient of " << v.name);
    CHECK(scaled_err(a, b) <= 1e-5);
  }
  // AdamW's first step is lr * g / (|g| + eps): for a gradient near eps (the key bias, whose
  // exact gradient is zero; T = 1 attention) a rounding-level difference in g moves the weight
  // by a large fraction of lr. So the optimizer is checked from identical gradients: the CPU's.
  gpu.upload_grads(cpu.grad_data());
  const double nc = clip_grad_norm(cpu, 0.5), ng = gpu.clip_grad_norm(0.5);
  CHECK(std::abs(nc - ng) <= 1e-6 * nc);
  opt.step(cpu, 3e-3f);
  gpu.adamw_step(hp, 3e-3f);
  std::vector<float> w(cpu.num_params());
  gpu.download_params(w.data());
  for (const auto& v : cpu.params()) {
    std::vector<float> a(w.begin() + long(v.offset), w.begin() + long(v.offset + v.numel));
    std::vector<float> b(cpu.param_data() + v.offset, cpu.param_data() + v.offset + v.numel);
    INFO("weights after AdamW: " << v.name);
    CHECK(scaled_err(a, b) <= 1e-5);
  }
  std::vector<float> m(cpu.num_params()), vv(cpu.num_params());
  gpu.download_moments(m.data(), vv.data());
  CHECK(scaled_err(m, std::vector<float>(opt.m(), opt.m() + opt.size())) <= 1e-5);
  CHECK(scaled_err(vv, std::vector<float>(opt.v(), opt.v() + opt.size())) <= 1e-5);
}
#endif

}  // namespace

TEST_CASE("cuda model: one training step equals the CPU engine's (loss, gradients, AdamW)") {
#ifdef GPT_HAVE_CUDA
  if (!have_gpu()) return;
  SUBCASE("bias, tied head, tanh GELU, dropout") { one_step(small_config(true, true, 0.1f, Activation::GeluTanh), 3, 24); }
  SUBCASE("no bias, untied head, exact GELU, no dropout") { one_step(small_config(false, false, 0.0f, Activation::Gelu), 2, 17); }
  SUBCASE("T = 1") { one_step(small_config(true, true, 0.0f, Activation::GeluTanh), 4, 1); }
  SUBCASE("short-conv first layer, bias, dropout") { one_step(small_config(true, true, 0.1f, Activation::GeluTanh, 1), 3, 24); }
  SUBCASE("short-conv first layer, no bias") { one_step(small_config(false, false, 0.0f, Activation::Gelu, 1), 2, 17); }
  SUBCASE("vocabulary-chunked loss, tied head") { one_step(small_config(true, true, 0.1f, Activation::GeluTanh), 3, 24, 16); }
  SUBCASE("vocabulary-chunked loss, untied head") { one_step(small_config(false, false, 0.0f, Activation::Gelu), 2, 17, 30); }
  SUBCASE("fused attention, dropout") { one_step(small_config(true, true, 0.1f, Activation::GeluTanh), 3, 24, 0, true); }
  SUBCASE("fused attention, T = 1") { one_step(small_config(false, false, 0.0f, Activation::Gelu), 4, 1, 0, true); }
  SUBCASE("fused attention after a short-conv layer, chunked loss") {
    one_step(small_config(true, false, 0.1f, Activation::GeluTanh, 1), 2, 17, 30, true);
  }
#else
  MESSAGE("skipping CUDA model checks: built without CUDA");
#endif
}

TEST_CASE("cuda model: fused attention switched on and off on one model: same loss, smaller activations") {
#ifdef GPT_HAVE_CUDA
  if (!have_gpu()) return;
  const GPTConfig cfg = small_config(true, true, 0.1f, Activation::GeluTanh);
  GPT cpu(cfg);
  cpu.init_weights(3);
  CudaGPT gpu(cpu);
  std::vector<int32_t> x, y;
  batch(cfg, 3, 24, 8, x, y);
  const float l0 = gpu.forward(x.data(), y.data(), 3, 24, true, 5);
  const size_t unfused = gpu.device_bytes();
  gpu.set_fused_attention(true);
  const float l1 = gpu.forward(x.data(), y.data(), 3, 24, true, 5);
  const size_t fused = gpu.device_bytes();
  // Per attention layer the [B,NH,T,T] probabilities become [B,NH,T] (and the workspace shrinks).
  CHECK(unfused - fused >= size_t(cfg.n_layer) * 3 * cfg.n_head * 24 * 23 * sizeof(float));
  CHECK(std::abs(l1 - l0) <= 1e-5 * std::abs(l0));
  gpu.set_fused_attention(false);
  CHECK(gpu.forward(x.data(), y.data(), 3, 24, true, 5) == l0);
  CHECK(gpu.device_bytes() == unfused);
#else
  MESSAGE("skipping CUDA model checks: built without CUDA");
#endif
}

TEST_CASE("cuda training: a resumed run continues with the uninterrupted run's bits") {
#ifdef GPT_HAVE_CUDA
  if (!have_gpu()) return;
  namespace fs = std::filesystem;
  // 5: the chunked loss, whose eval reads the argmax from its stats; then the fused attention.
  for (auto [chunk, fused] : {std::pair{0, false}, std::pair{5, false}, std::pair{0, true}}) {
    CAPTURE(chunk);
    CAPTURE(fused);
    const fs::path d = scratch_dir("cuda", "resume" + std::to_string(chunk) + (fused ? "f" : ""));
    recall::write_task_data((d / "data").string(), recall::preset("toy"), 200, 40, 0);
    auto config = [&](int iters, const std::string& run) {
      return RunConfig::from_json(json{
          {"model", {{"block_size", 12}, {"n_layer", 2}, {"n_head", 2}, {"n_embd", 16}, {"dropout", 0.1}}},
          {"data", {{"dir", (d / "data").string()}}},
          {"train", {{"batch_size", 8}, {"max_iters", iters}, {"eval_interval", 3}, {"eval_iters", 2},
                     {"warmup_iters", 2}, {"lr_decay_iters", 6}, {"always_save", true}, {"log_interval", 1},
                     {"loss_chunk", chunk}}},
          {"out_dir", (d / run).string()},
          {"device", "cuda"},
          {"fused_attention", fused}});
    };
    TrainOptions o;
    o.progress = false;
    const TrainResult whole = train(config(6, "a"), o);
    CHECK(whole.end_step == 6);
    CHECK(whole.last_val_acc >= 0.0);
    train(config(3, "b"), o);
    o.resume = true;
    const TrainResult resumed = train(config(6, "b"), o);
    CHECK(resumed.start_step == 3);
    auto lines = [](const fs::path& p, const std::string& kind) {
      std::vector<std::string> out;
      std::ifstream f(p);
      for (std::string l; std::getline(f, l);) {
        json j = json::parse(l);
        if (j["kind"] != kind) continue;
        for (const char* k : {"elapsed_s", "tokens_per_s", "mfu", "eval_s"}) j.erase(k);
        out.push_back(j.dump());
      }
      return out;
    };
    CHECK(lines(d / "a" / "metrics.jsonl", "train") == lines(d / "b" / "metrics.jsonl", "train"));
    CHECK(lines(d / "a" / "metrics.jsonl", "eval") == lines(d / "b" / "metrics.jsonl", "eval"));
    auto bytes = [](const fs::path& p) {
      std::ifstream f(p, std::ios::binary);
      std::stringstream ss;
      ss << f.rdbuf();
      return ss.str();
    };
    CHECK(bytes(d / "a" / "ckpt" / "model.safetensors") == bytes(d / "b" / "ckpt" / "model.safetensors"));
    fs::remove_all(d);
  }
#else
  MESSAGE("skipping CUDA model checks: built without CUDA");
#endif
}

TEST_CASE("cuda model: two runs with the same seed give the same bits") {
#ifdef GPT_HAVE_CUDA
  if (!have_gpu()) return;
  // conv 1: the conv1d backward in its deterministic mode; fused: the fused attention kernels.
  for (auto [conv, fused] : {std::pair{0, false}, std::pair{1, false}, std::pair{0, true}}) {
  CAPTURE(conv);
  CAPTURE(fused);
  const GPTConfig cfg = small_config(true, true, 0.1f, Activation::GeluTanh, conv);
  std::vector<float> out[2];
  for (int run = 0; run < 2; ++run) {
    GPT cpu(cfg);
    cpu.init_weights(5);
    CudaGPT gpu(cpu);
    gpu.set_fused_attention(fused);
    const ops::AdamWParams hp{1e-3f, 0.9f, 0.95f, 1e-8f, 0.1f};
    std::vector<int32_t> x, y;
    for (int step = 0; step < 3; ++step) {
      batch(cfg, 4, 24, uint64_t(step), x, y);
      gpu.zero_grad();
      gpu.forward(x.data(), y.data(), 4, 24, true, uint64_t(100 + step));
      gpu.backward(1.0f);
      gpu.clip_grad_norm(1.0);
      gpu.adamw_step(hp, 1e-3f);
    }
    out[run].resize(cpu.num_params());
    gpu.download_params(out[run].data());
  }
  CHECK(std::memcmp(out[0].data(), out[1].data(), out[0].size() * sizeof(float)) == 0);
  }
#else
  MESSAGE("skipping CUDA model checks: built without CUDA");
#endif
}

TEST_CASE("cuda model: without CUDA or a GPU, CudaGPT says so") {
#ifdef GPT_HAVE_CUDA
  std::string why;
  if (cuda::available(&why)) return;
#endif
  GPT cpu(GPTConfig{});
  CHECK_THROWS_WITH_AS(CudaGPT{cpu}, doctest::Contains("--device cpu"), Error);
}

#ifdef GPT_HAVE_CUDA
#include "infer/generate.h"
#include "model/kv_decoder.h"
#endif

TEST_CASE("cuda decode: KV-cached logits on the GPU equal the CPU decoder's (prefill, steps, rollback)") {
#ifdef GPT_HAVE_CUDA
  if (!have_gpu()) return;
  for (int conv : {0, 1}) {  // 1: a short-conv first layer, its input history in the cache
  CAPTURE(conv);
  const GPTConfig cfg = small_config(true, false, 0.0f, Activation::GeluTanh, conv);
  GPT m(cfg);
  fill_random_weights(m, 21, 0.3);
  CudaGPT g(m, /*training=*/false);
  const int B = 2, cap = cfg.block_size;
  Decoder dc(m, B, cap), dg(m, B, cap, &g);
  CHECK(dg.on_gpu());
  Rng rng(4);
  auto toks = [&](int n) {
    std::vector<int32_t> t(size_t(B) * n);
    for (auto& v : t) v = int32_t(rng.below(uint64_t(cfg.vocab_size)));
    return t;
  };
  auto same = [&](const float* a, const float* b, int rows) {
    const size_t n = size_t(rows) * cfg.vocab_size;
    return scaled_err(std::vector<float>(a, a + n), std::vector<float>(b, b + n));
  };
  auto t = toks(7);  // prefill 7, logits of the last 3
  CHECK(same(dg.append(t.data(), 7, 3), dc.append(t.data(), 7, 3), B * 3) <= 1e-5);
  for (int i = 0; i < 5; ++i) {
    t = toks(1);
    CHECK(same(dg.append(t.data(), 1), dc.append(t.data(), 1), B) <= 1e-5);
  }
  dc.truncate(9);
  dg.truncate(9);
  t = toks(4);
  CHECK(same(dg.append(t.data(), 4, 4), dc.append(t.data(), 4, 4), B * 4) <= 1e-5);
  CHECK(dg.length() == 13);
  }
#else
  MESSAGE("skipping CUDA decode checks: built without CUDA");
#endif
}

TEST_CASE("cuda decode: greedy generation on the GPU equals the CPU's token for token") {
#ifdef GPT_HAVE_CUDA
  if (!have_gpu()) return;
  const GPTConfig cfg = small_config(false, true, 0.0f, Activation::Gelu);
  GPT m(cfg);
  fill_random_weights(m, 33, 0.3);
  CudaGPT g(m, false);
  for (bool cache : {true, false}) {
    std::vector<std::vector<int32_t>> a{{1, 2, 3, 4, 5}, {9, 8, 7, 6, 5}}, b = a;
    std::vector<Rng> ra{Rng(1), Rng(2)}, rb = ra;
    GenerateOptions opt;
    opt.max_new = 40;  // past block_size (24): the window moves and the cache is rebuilt
    opt.sampling.temperature = 0.0f;
    opt.kv_cache = cache;
    generate(m, a, opt, ra);
    opt.gpu = &g;
    generate(m, b, opt, rb);
    INFO("kv cache " << cache);
    CHECK(a == b);
  }
#else
  MESSAGE("skipping CUDA decode checks: built without CUDA");
#endif
}
