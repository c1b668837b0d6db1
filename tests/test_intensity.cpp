// The cost model of gpt-intensity against counts derived by hand (below, next to each
// check), against published figures (GPT-2's parameter count, nanoGPT's sizing notebook,
// the CS229S lecture's ridge and matmul examples, Leviathan et al.'s formulas), and the
// spec-decode expectation against a seeded simulation.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "analysis/attention_cost.h"
#include "analysis/hardware.h"
#include "analysis/model_cost.h"
#include "analysis/model_presets.h"
#include "analysis/reports.h"
#include "analysis/spec_decode.h"
#include "core/error.h"
#include "model/gpt.h"
#include "test_util.h"

using namespace gpt;
using namespace gpt::analysis;
namespace fs = std::filesystem;

namespace {

const OpCost& find_op(const std::vector<OpCost>& ops, const std::string& name, Pass pass = Pass::Forward) {
  for (auto& op : ops)
    if (op.name == name && op.pass == pass) return op;
  FAIL("no op " << name);
  return ops.front();
}

MhaSpec small_mha(Phase phase, AttentionImpl impl) {
  MhaSpec m;  // B=2, T=4, d=8, h=2 (d_head 4), fp16: every count below is small enough to do by hand
  m.batch = 2;
  m.seq_len = 4;
  m.d_model = 8;
  m.heads = 2;
  m.dtype = DType::FP16;
  m.phase = phase;
  m.impl = impl;
  return m;
}

}  // namespace

TEST_CASE("intensity: GEMM counts") {
  // [2,4] x [4,3], fp32: 2*2*3*4 = 48 FLOPs; read 4*(2*4 + 4*3) = 80 B; write 4*2*3 = 24 B.
  Cost c = gemm(1, 2, 3, 4, 4);
  CHECK(c.flops == 48);
  CHECK(c.matmul_flops == 48);
  CHECK(c.bytes_read == 80);
  CHECK(c.bytes_written == 24);
  // With a bias: + M*N adds = 6 FLOPs, + N elements read = 12 B.
  Cost b = gemm(1, 2, 3, 4, 4, true);
  CHECK(b.flops == 54);
  CHECK(b.matmul_flops == 48);
  CHECK(b.bytes_read == 92);
  // Backward: two GEMMs, 4*M*N*K = 96; reads dY twice, X, W: 4*(2*6 + 12 + 8) = 128;
  // writes dX and dW: 4*(8 + 12) = 80.
  Cost d = gemm_backward(1, 2, 3, 4, 4);
  CHECK(d.flops == 96);
  CHECK(d.bytes_read == 128);
  CHECK(d.bytes_written == 80);
  // Batched: 3 independent products triple everything.
  CHECK(gemm(3, 2, 3, 4, 4) == c.times(3));

  // The lecture's examples, fp16. M=K=8192, N=128: 2*8192*128*8192 FLOPs over
  // 2*(8192^2 + 2*128*8192) bytes = AI 124.1 (memory-bound on an A100); square 8192: 8192/3.
  Cost skinny = gemm(1, 8192, 128, 8192, 2);
  CHECK(skinny.flops == 17179869184);
  CHECK(skinny.bytes() == 138412032);
  CHECK(skinny.intensity() == doctest::Approx(124.12).epsilon(1e-4));
  CHECK(gemm(1, 8192, 8192, 8192, 2).intensity() == doctest::Approx(8192.0 / 3));
}

TEST_CASE("intensity: unfused MHA stages, counted by hand") {
  auto ops = mha_ops(small_mha(Phase::Prefill, AttentionImpl::Unfused));
  // tokens = B*T = 8, d = 8, s = 2; B*h = 4 score tiles of 4x4 = 64 score elements.
  // qkv_proj: 2*8*24*8 = 3072 FLOPs; read 2*(8*8 + 8*24) = 512; write 2*8*24 = 384.
  CHECK(find_op(ops, "qkv_proj").cost == Cost{3072, 3072, 512, 384});
  // QK^T per tile 2*4*4*4 = 128, x4 = 512; read Q and K 2*4*(16 + 16) = 256; write S 2*64 = 128.
  CHECK(find_op(ops, "qk").cost == Cost{512, 512, 256, 128});
  // scale+mask 2/element, softmax 5/element; each reads and writes the 64-element S.
  CHECK(find_op(ops, "scale_mask").cost == Cost{128, 0, 128, 128});
  CHECK(find_op(ops, "softmax").cost == Cost{320, 0, 128, 128});
  // PV: 512 FLOPs; read P (128 B) and V (2*4*16 = 128); write O 2*4*4*4 = 128.
  CHECK(find_op(ops, "pv").cost == Cost{512, 512, 256, 128});
  // out_proj: 2*8*8*8 = 1024; read 2*(64 + 64) = 256; write 128.
  CHECK(find_op(ops, "out_proj").cost == Cost{1024, 1024, 256, 128});
  CHECK(ops.size() == 6);  // no dropout outside training
  Cost total = total_cost(ops);
  CHECK(total.flops == 5568);
  // The core matches the lecture's per-(batch, head) formula s*(4*N*d_h + 6*N^2) without
  // dropout: 2*(64 + 96) = 320 bytes per tile, 1280 for 4 tiles.
  Cost core;
  for (auto& op : ops)
    if (op.kernel == "attention") core += op.cost;
  CHECK(core.bytes() == 1280);
}

TEST_CASE("intensity: fused attention moves fewer bytes for the same FLOPs") {
  auto unfused = mha_ops(small_mha(Phase::Prefill, AttentionImpl::Unfused));
  auto fused = mha_ops(small_mha(Phase::Prefill, AttentionImpl::Fused));
  Cost core_u, core_f;
  for (auto& op : unfused)
    if (op.kernel == "attention") core_u += op.cost;
  for (auto& op : fused)
    if (op.kernel == "attention") core_f += op.cost;
  // Q, K, V read once and O written once: s * 4 * N * d_h per tile = 2*4*4*4 * 4 tiles = 512.
  CHECK(core_f.bytes() == 512);
  CHECK(core_f.flops == core_u.flops);
  CHECK(core_f.bytes() < core_u.bytes());
  CHECK(total_cost(fused).bytes() < total_cost(unfused).bytes());

  // At GPT-2 scale the gap is the N^2 traffic: d_head 64, fp16, N=1024.
  MhaSpec big;
  big.batch = 1;
  big.seq_len = 1024;
  big.d_model = 768;
  big.heads = 12;
  big.dtype = DType::FP16;
  big.phase = Phase::Train;
  big.impl = AttentionImpl::Unfused;
  Cost u;
  for (auto& op : mha_ops(big))
    if (op.kernel == "attention" && op.pass == Pass::Forward) u += op.cost;
  // Per head: FLOPs 4*N^2*64 + (2+5+2)*N^2; bytes 2*(4*N*64 + 8*N^2) (S, mask, softmax and
  // dropout each read and write N^2, plus P read by PV). AI -> 16.06, memory-bound anywhere.
  const double N = 1024;
  CHECK(u.flops == int64_t(12 * (4 * N * N * 64 + 9 * N * N)));
  CHECK(u.bytes() == int64_t(12 * 2 * (4 * N * 64 + 8 * N * N)));
  CHECK(u.intensity() == doctest::Approx(16.06).epsilon(1e-3));
  big.impl = AttentionImpl::Fused;
  big.phase = Phase::Prefill;
  Cost f;
  for (auto& op : mha_ops(big))
    if (op.kernel == "attention") f += op.cost;
  // Fused AI is about N/2 in fp16: (4*N^2*64 + 7*N^2) / (2*4*N*64) = 526.0.
  CHECK(f.intensity() == doctest::Approx((4 * N * N * 64 + 7 * N * N) / (2 * 4 * N * 64)));
  CHECK(f.intensity() > find_hardware("a100-80gb").ridge(DType::FP16));
}

TEST_CASE("intensity: training MHA adds dropout and backward; fused backward recomputes") {
  auto ops = mha_ops(small_mha(Phase::Train, AttentionImpl::Unfused));
  // Dropout: 2 FLOPs per score element, reads and writes the 64 elements.
  CHECK(find_op(ops, "dropout").cost == Cost{128, 0, 128, 128});
  // Backward of QK^T: dQ = dS K and dK = dS^T Q, 2 x 512 FLOPs; reads dS twice (2*128),
  // Q and K (2*64 each); writes dQ and dK (2*64 each).
  CHECK(find_op(ops, "qk", Pass::Backward).cost == Cost{1024, 1024, 512, 256});
  // Backward of softmax reads P and dP, writes dS: 4 FLOPs per element.
  CHECK(find_op(ops, "softmax", Pass::Backward).cost == Cost{256, 0, 256, 128});
  Cost fwd = total_cost(ops, Pass::Forward), bwd = total_cost(ops, Pass::Backward);
  CHECK(bwd.matmul_flops == 2 * fwd.matmul_flops);

  auto fused = mha_ops(small_mha(Phase::Train, AttentionImpl::Fused));
  const OpCost& fb = find_op(fused, "attention", Pass::Backward);
  // Five GEMMs of 2*B*h*N*N*d_h each (S recomputed, dV, dP, dQ, dK) = 10 * 4*4*4*4 = 2560.
  CHECK(fb.cost.matmul_flops == 2560);
  // The fused forward writes O and the fp32 log-sum-exp: 2*2*4*8 + 4*4*4 = 192.
  CHECK(find_op(fused, "attention").cost.bytes_written == 192);
}

TEST_CASE("intensity: decode attention reads the whole cache") {
  MhaSpec m = small_mha(Phase::Decode, AttentionImpl::Unfused);
  m.kv_len = 16;
  auto ops = mha_ops(m);
  // One query per sequence against 16 cached keys: Q^T K reads q (2*2*8 = 32 B) and
  // K (2*2*16*8 = 512 B); FLOPs 2*B*1*16*d = 512, so intensity ~1 whatever the batch.
  const Cost& qk = find_op(ops, "qk").cost;
  CHECK(qk.flops == 512);
  CHECK(qk.bytes_read == 544);
  CHECK(qk.intensity() < 1.0);
  m.seq_len = 4;
  m.phase = Phase::Prefill;
  CHECK_THROWS_AS(mha_ops(m), UsageError);  // --kv-len outside decode
}

TEST_CASE("intensity: GPT-2 parameter counts") {
  ParamCounts p = count_params(preset_config("gpt2"));
  // wte 50257*768 + wpe 1024*768 + 12 * 7,087,872 per layer + ln_f 1536.
  CHECK(p.total == 124439808);
  CHECK(p.with_bias == 124439808);
  CHECK(p.without_bias == 124337664);  // nanoGPT's bias=False variant
  CHECK(p.per_layer == 7087872);
  CHECK(p.non_embedding == 124439808 - 786432);
  CHECK(p.if_untied == 124439808 + 50257 * 768);
  CHECK(count_params(preset_config("gpt2-xl")).total == 1557611200);
  CHECK(count_params(preset_config("gpt2-medium")).total == 354823168);
  CHECK(count_params(preset_config("gpt2-large")).total == 774030080);

  // The closed form agrees with the model's real parameter buffer on odd shapes.
  for (bool bias : {true, false})
    for (bool tie : {true, false})
      for (bool mlp : {true, false})
        for (bool ln : {true, false}) {
          GPTConfig c;
          c.vocab_size = 23;
          c.block_size = 12;
          c.n_layer = 2;
          c.n_head = 3;
          c.n_embd = 15;
          c.bias = bias;
          c.tie_embeddings = tie;
          c.mlp = mlp;
          c.layernorm = ln;
          CAPTURE(bias);
          CAPTURE(tie);
          CAPTURE(mlp);
          CAPTURE(ln);
          CHECK(count_params(c).total == int64_t(GPT(c).num_params()));
        }
}

TEST_CASE("intensity: GPT-2 FLOPs match nanoGPT's sizing notebook and the 6N + 12LTd rule") {
  ModelSpec m;
  m.cfg = preset_config("gpt2");
  m.cfg.bias = false;
  m.batch = 1;
  m.seq_len = 1024;
  m.dtype = DType::FP32;
  m.phase = Phase::Train;
  auto ops = model_ops(m);
  // Per layer: kqv 2*T*C*3C, scores and reduce 2*T*T*C each, proj 2*T*C*C, two MLP GEMMs
  // 2*T*C*4C; dense 2*T*C*V. Forward 291,648,307,200; training is 3x: 874.9 GFLOP.
  CHECK(total_cost(ops, Pass::Forward).matmul_flops == 291648307200);
  CHECK(total_cost(ops).matmul_flops == 874944921600);
  // 6N + 12*L*T*d with N = params - wpe = 123,551,232: 741,307,392 + 113,246,208 per token.
  const int64_t rule = rule_flops_per_token(m.cfg, 1024, Phase::Train);
  CHECK(rule == 854553600);
  const double matmul_per_token = double(total_cost(ops).matmul_flops) / 1024;
  CHECK(matmul_per_token / double(rule) == doctest::Approx(1.0).epsilon(2e-4));
  // Elementwise work (norms, softmax, GELU, loss, AdamW) adds well under 1%.
  const double all_per_token = double(total_cost(ops).flops) / 1024;
  CHECK(all_per_token > matmul_per_token);
  CHECK(all_per_token / double(rule) == doctest::Approx(1.0).epsilon(0.01));

  // Training memory in fp32: weights, grads 4 bytes each, AdamW m and v 8, no master copy.
  MemoryEstimate mem = model_memory(m, ops);
  const int64_t P = 124337664;
  CHECK(mem.weights == 4 * P);
  CHECK(mem.grads == 4 * P);
  CHECK(mem.optimizer == 8 * P);
  CHECK(mem.master_weights == 0);
  m.dtype = DType::BF16;
  mem = model_memory(m, model_ops(m));
  CHECK(mem.weights == 2 * P);
  CHECK(mem.master_weights == 4 * P);

  // Forward-only phases follow 2N + 4*L*T*d; decode at context T is one token's worth.
  m.phase = Phase::Decode;
  m.batch = 1;
  const double decode = double(total_cost(model_ops(m)).matmul_flops);
  CHECK(decode / double(rule_flops_per_token(m.cfg, 1024, Phase::Decode)) == doctest::Approx(1.0).epsilon(1e-3));
}

TEST_CASE("intensity: KV cache bytes, capacity and cache-or-recompute") {
  Target t = resolve_target("a100-80gb", "fp16");
  KvSpec k;
  k.cfg = preset_config("gpt2-large");
  k.batch = 32;
  k.seq_len = 256;
  Report r = kv_report(k, t);
  // 2 (K and V) * 36 layers * 1280 * 2 bytes; the course's KV run holds 32 x 256 of them.
  CHECK(r.data["kv_bytes_per_token"] == 184320);
  CHECK(r.data["kv_bytes_total"] == int64_t(184320) * 32 * 256);

  k.cfg = preset_config("gpt2");
  k.batch = 8;
  k.seq_len = 1024;
  k.memory_bytes = 1e9;
  r = kv_report(k, t);
  // 2 * 12 * 768 * 2 = 36,864 bytes per token. Free = 1e9 - 2 * 124,439,808 = 751,120,384
  // bytes = 20,375 tokens: 19 sequences of 1024, or 2,546 tokens each for 8 sequences.
  CHECK(r.data["kv_bytes_per_token"] == 36864);
  CHECK(r.data["max_tokens"] == 20375);
  CHECK(r.data["max_batch_at_seq_len"] == 19);
  CHECK(r.data["max_len_at_batch"] == 2546);
  CHECK(r.data["fits"] == true);  // 8 * 1024 * 36,864 = 302 MB
  // Recomputing the prefix costs about T times a cached step.
  CHECK(r.data["no_cache_over_cached"].get<double>() > 100);
  // Recompute K,V (4*L*d^2 FLOPs) against reading them (2*L*d*2 B): the time ratio is
  // (2d/s) / ridge = 768 / 161.2 on this A100.
  CHECK(r.data["recompute_over_read"].get<double>() == doctest::Approx(768.0 / (312e12 / 1.935e12)));

  k.memory_bytes = 1e8;  // less than the weights: nothing fits, and that is an answer, not an error
  r = kv_report(k, t);
  CHECK(r.data["max_tokens"] == 0);
  CHECK(r.data["fits"] == false);
}

TEST_CASE("intensity: speculative-decoding formulas") {
  // alpha 0.8, gamma 4: (1 - 0.8^5) / 0.2 = 3.3616 tokens per call; c 0.05: 3.3616 / 1.2.
  CHECK(expected_tokens(0.8, 4) == doctest::Approx(3.3616));
  CHECK(expected_accepted(0.8, 4) == doctest::Approx(2.3616));
  CHECK(spec_speedup(0.8, 4, 0.05) == doctest::Approx(2.8013).epsilon(1e-4));
  CHECK(op_inflation(0.8, 4, 0.05) == doctest::Approx(0.2 * 5.2 / (1 - std::pow(0.8, 5))));
  CHECK(accept_rate(0.8, 4) == doctest::Approx(0.5904));
  CHECK(efficiency(0.8, 4) == doctest::Approx(0.67232));
  CHECK(spec_speedup(0.3, 4, 0.2) == doctest::Approx(0.7917).epsilon(1e-3));  // a slowdown
  // gamma 1 meets Corollary 3.9's bound (1 + alpha) / (1 + c) exactly.
  CHECK(spec_speedup(0.8, 1, 0.05) == doctest::Approx(1.8 / 1.05));
  // Limits: alpha = 1 gives gamma + 1 tokens, alpha = 0 gives the target's own token.
  CHECK(expected_tokens(1.0, 4) == 5.0);
  CHECK(expected_tokens(1.0 - 1e-12, 4) == doctest::Approx(5.0));
  CHECK(expected_tokens(0.0, 4) == 1.0);
  // Inverses recover alpha.
  CHECK(alpha_from_tokens_per_call(3.3616, 4) == doctest::Approx(0.8).epsilon(1e-9));
  CHECK(alpha_from_accept_rate(0.5904, 4) == doctest::Approx(0.8).epsilon(1e-9));
  CHECK(alpha_from_tokens_per_call(5.0, 4) == 1.0);
  CHECK_THROWS_AS(alpha_from_tokens_per_call(5.5, 4), UsageError);
  CHECK_THROWS_AS(alpha_from_accept_rate(-0.1, 4), UsageError);
}

TEST_CASE("intensity: best gamma search") {
  // Integer search over 1..32 (reference vectors computed from the speedup formula).
  CHECK(best_gamma(0.8, 0.05) == 8);
  CHECK(spec_speedup(0.8, 8, 0.05) == doctest::Approx(3.092).epsilon(1e-3));
  CHECK(best_gamma(0.6, 0.10) == 3);
  CHECK(best_gamma(0.9, 0.02) == 19);
  CHECK(best_gamma(0.5, 0.20) == 1);
  CHECK(best_gamma(1.0, 0.0) == 32);  // free, perfect drafts: draft as far as allowed
  // Brute force agrees for a grid of (alpha, c).
  for (double a : {0.1, 0.35, 0.7, 0.95})
    for (double c : {0.0, 0.01, 0.1, 0.5}) {
      int64_t g = best_gamma(a, c);
      for (int64_t k = 1; k <= 32; ++k) CHECK(spec_speedup(a, k, c) <= spec_speedup(a, g, c) * (1 + 1e-12));
    }
}

TEST_CASE("intensity: spec-decode expectation matches a seeded Monte Carlo") {
  for (double a : {0.0, 0.3, 0.8, 0.95, 1.0})
    for (int64_t g : {1, 4, 7}) {
      // Exact mean and variance of the capped geometric: P(k) = a^(k-1)(1-a) for k <= g,
      // P(g+1) = a^g. The mean must equal the closed form; the simulation must land within
      // 5 standard errors of it.
      double mean = 0, sq = 0;
      for (int64_t k = 1; k <= g; ++k) {
        double pk = std::pow(a, double(k - 1)) * (1 - a);
        mean += double(k) * pk;
        sq += double(k * k) * pk;
      }
      mean += double(g + 1) * std::pow(a, double(g));
      sq += double((g + 1) * (g + 1)) * std::pow(a, double(g));
      CAPTURE(a);
      CAPTURE(g);
      CHECK(expected_tokens(a, g) == doctest::Approx(mean).epsilon(1e-12));
      const int64_t n = 200000;
      double se = std::sqrt(std::max(sq - mean * mean, 0.0) / double(n));
      double sim = simulate_tokens_per_call(a, g, n, 1234 + uint64_t(g));
      CHECK(std::abs(sim - mean) <= 5 * se + 1e-12);
    }
  // The simulation is deterministic for a seed.
  CHECK(simulate_tokens_per_call(0.7, 5, 1000, 9) == simulate_tokens_per_call(0.7, 5, 1000, 9));
}

TEST_CASE("intensity: hardware table and ridge points") {
  Hardware a100 = find_hardware("a100-80gb");
  // 312 TFLOP/s bf16 over 1.935 TB/s.
  CHECK(a100.ridge(DType::BF16) == doctest::Approx(161.24).epsilon(1e-3));
  CHECK(find_hardware("t4").ridge(DType::FP16) == doctest::Approx(65e12 / 320e9));
  CHECK(find_hardware("h100-sxm").ridge(DType::BF16) == doctest::Approx(989.4e12 / 3.35e12));
  CHECK_THROWS_AS(find_hardware("t4").peak(DType::BF16), UsageError);  // Turing has no bf16
  for (const char* name : {"t4", "a100-40gb", "a100-80gb", "a100-80gb-sxm", "h100-sxm", "h100-pcie", "h200", "rtx4090", "cpu"}) {
    CAPTURE(name);
    Hardware h = find_hardware(name);
    CHECK(h.bandwidth > 0);
    CHECK(h.has(h.default_dtype));
    CHECK(h.sources.is_object());
    CHECK(h.sources.size() >= 1);
  }
  // The compiled-in entries are exactly the shipped files.
  int files = 0;
  for (auto& e : fs::directory_iterator(test::source_dir() / "configs/hardware")) {
    if (e.path().extension() != ".json" || e.path().stem() == "cpu-local") continue;
    ++files;
    std::string name = e.path().stem().string();
    CAPTURE(name);
    REQUIRE(builtin_hardware_json().count(name) == 1);
    CHECK(json::parse(builtin_hardware_json().at(name)) == parse_json_file(e.path().string()));
  }
  CHECK(files == int(builtin_hardware_json().size()));
  // A file path works too, and round-trips through to_json.
  fs::path tmp = fs::temp_directory_path() / "gptkit_test_hw.json";
  {
    std::ofstream(tmp) << a100.to_json().dump();
  }
  Hardware back = find_hardware(tmp.string());
  CHECK(back.ridge(DType::BF16) == doctest::Approx(a100.ridge(DType::BF16)));
  {
    std::ofstream(tmp) << R"({"name": "x", "memory_bandwidth_gb_s": 10, "peak_tflops": {"bf61": 1}})";
  }
  CHECK_THROWS_WITH_AS(find_hardware(tmp.string()), doctest::Contains("bf16"), Error);
  fs::remove(tmp);
}

TEST_CASE("intensity: bad input is rejected with a clear message") {
  CHECK_THROWS_WITH_AS(preset_config("gpt2-medum"), doctest::Contains("did you mean 'gpt2-medium'"), UsageError);
  CHECK_THROWS_WITH_AS(find_hardware("a100"), doctest::Contains("unknown hardware"), UsageError);
  CHECK_THROWS_AS(parse_dtype("fp17"), UsageError);
  CHECK_THROWS_AS(parse_phase("inference"), UsageError);

  MhaSpec m = small_mha(Phase::Prefill, AttentionImpl::Unfused);
  m.heads = 3;  // does not divide 8
  CHECK_THROWS_WITH_AS(mha_ops(m), doctest::Contains("must divide d_model"), UsageError);
  m = small_mha(Phase::Prefill, AttentionImpl::Unfused);
  m.batch = 0;
  CHECK_THROWS_WITH_AS(mha_ops(m), doctest::Contains("batch must be positive"), UsageError);
  m.batch = -3;
  CHECK_THROWS_AS(mha_ops(m), UsageError);
  m = small_mha(Phase::Prefill, AttentionImpl::Unfused);
  m.seq_len = 0;
  CHECK_THROWS_AS(mha_ops(m), UsageError);
  Target t = resolve_target("a100-80gb", "");
  CHECK_THROWS_AS(matmul_report(-1, 2, 3, 1, t), UsageError);
  CHECK_THROWS_AS(matmul_report(1, 2, 0, 1, t), UsageError);
  // Sizes whose counts overflow 64 bits are refused, not wrapped.
  CHECK_THROWS_WITH_AS(gemm(1, int64_t(1) << 30, int64_t(1) << 30, int64_t(1) << 30, 2),
                       doctest::Contains("overflows"), UsageError);

  ModelSpec ms;
  ms.cfg = preset_config("gpt2");
  ms.seq_len = 2048;  // beyond the 1024 positions
  CHECK_THROWS_WITH_AS(model_ops(ms), doctest::Contains("block_size"), UsageError);
  ms.seq_len = 16;
  ms.batch = 0;
  CHECK_THROWS_AS(model_ops(ms), UsageError);
  CHECK_THROWS_WITH_AS(resolve_model("gpt2", "", {"n_head=5"}), doctest::Contains("divisible"), UsageError);
  CHECK_THROWS_AS(resolve_model("", "", {}), UsageError);

  for (double a : {-0.1, 1.01, std::nan("")}) CHECK_THROWS_WITH_AS(validate_spec(a, 4, 0.1), doctest::Contains("alpha"), UsageError);
  CHECK_NOTHROW(validate_spec(1.0, 4, 0.1));  // the limit is allowed
  CHECK_THROWS_AS(validate_spec(0.5, 0, 0.1), UsageError);
  CHECK_THROWS_AS(validate_spec(0.5, 4, -1), UsageError);
  SpecInputs in;
  in.alpha = 0.8;
  CHECK_THROWS_WITH_AS(specdecode_report(in), doctest::Contains("--c"), UsageError);
  in.c = 0.1;
  in.accept_rate = 0.5;
  CHECK_THROWS_WITH_AS(specdecode_report(in), doctest::Contains("only one"), UsageError);
}

TEST_CASE("intensity: model sources: presets, --set overrides, config files") {
  GPTConfig nb = resolve_model("gpt2", "", {"bias=false"});
  CHECK(count_params(nb).total == 124337664);
  CHECK(resolve_model("gpt2", "", {"model.n_layer=6"}).n_layer == 6);
  // A run config with a "model" section (the PyTorch fixture) and a checkpoint config.json.
  GPTConfig fx = load_model_config((test::source_dir() / "tests/fixtures/gpt2_like/config.json").string());
  CHECK(fx.n_embd == 32);
  CHECK(fx.vocab_size == 53);
  fs::path tmp = fs::temp_directory_path() / "gptkit_test_intensity_ckpt";
  fs::create_directories(tmp);
  {
    std::ofstream(tmp / "config.json") << preset_config("gpt2-medium").to_hf_json().dump();
  }
  CHECK(load_model_config(tmp.string()).n_layer == 24);  // a checkpoint directory
  fs::remove_all(tmp);
  CHECK_THROWS_AS(load_model_config("/nonexistent/config.json"), UsageError);
}

TEST_CASE("intensity: reports carry the same numbers in every rendering") {
  Target t = resolve_target("", "");
  CHECK(t.defaulted);
  CHECK(t.hw.name == kDefaultHardware);
  MhaSpec m;
  m.batch = 2;
  m.seq_len = 128;
  m.phase = Phase::Train;
  Report r = mha_report(m, t);
  CHECK(r.data["hardware"]["defaulted"] == true);
  CHECK(r.text.find("[default; choose with --hardware]") != std::string::npos);
  double share = 0;
  for (auto& op : r.data["ops"]) share += op["share"].get<double>();
  CHECK(share == doctest::Approx(1.0));
  // CSV: header + one row per op + the total row.
  CHECK(r.csv.rows.size() == r.data["ops"].size() + 1);
  CHECK(r.csv.header[3] == "flops");
  CHECK(std::stoll(r.csv.rows.back()[3]) == r.data["totals"]["all"]["flops"].get<int64_t>());

  Table tab;
  tab.header = {"a", "b"};
  tab.rows = {{"x,y", "say \"hi\""}};
  CHECK(tab.csv() == "a,b\n\"x,y\",\"say \"\"hi\"\"\"\n");

  ModelSpec ms;
  ms.cfg = preset_config("shakespeare_char");
  ms.batch = 64;
  Report mr = model_report(ms, t, 0.1);
  CHECK(mr.data["seq_len"] == 256);
  CHECK(mr.data["mfu"]["mfu"].get<double>() > 0);
  ms.phase = Phase::Prefill;
  CHECK_THROWS_AS(model_report(ms, t, 0.1), UsageError);  // MFU needs a training step
}

TEST_CASE("intensity: specdecode compares with gpt-specdecode stats") {
  fs::path tmp = fs::temp_directory_path() / "gptkit_test_specstats.json";
  {
    std::ofstream(tmp) << R"({"gamma": 4, "target_calls": 100, "drafted": 400, "accepted": 236,
      "acceptance": 0.59, "alpha_hat": 0.8, "tokens_per_target_call": 3.36, "c_measured": 0.05,
      "predicted_speedup": 2.8, "measured_speedup": 2.5, "tokens_per_s": 100})";
  }
  SpecInputs in;
  Report r = specdecode_stats_report(tmp.string(), in, false);
  CHECK(r.data["gamma"] == 4);
  CHECK(r.data["tokens_per_target_call"]["predicted"].get<double>() == doctest::Approx(3.3616));
  CHECK(r.data["speedup"]["predicted"].get<double>() == doctest::Approx(2.8013).epsilon(1e-4));
  CHECK(r.data["speedup"]["measured"].get<double>() == 2.5);
  CHECK(r.data["alpha_check"]["measured"].get<double>() == doctest::Approx(0.8).epsilon(1e-3));
  {
    std::ofstream(tmp) << R"({"gamma": 4, "tokens_per_target_call": 7.0})";
  }
  CHECK_THROWS_WITH_AS(specdecode_stats_report(tmp.string(), in, false), doctest::Contains("outside"), Error);
  {
    std::ofstream(tmp) << R"({"tokens_per_target_call": 2.0})";
  }
  CHECK_THROWS_WITH_AS(specdecode_stats_report(tmp.string(), in, false), doctest::Contains("--gamma"), UsageError);
  fs::remove(tmp);

  // Costs from two model shapes: a memory-bound decode step is roughly the bytes ratio.
  SpecInputs mi;
  mi.alpha = 0.8;
  mi.target_model = preset_config("gpt2-large");
  mi.draft_model = preset_config("gpt2");
  mi.context = 256;
  Target t = resolve_target("t4", "fp16");
  Report mr = specdecode_report(mi, &t);
  double c = mr.data["c"].get<double>();
  CHECK(c > 0.1);
  CHECK(c < 0.25);
  CHECK(mr.data["verify_cost"].get<double>() >= 1.0);
}
