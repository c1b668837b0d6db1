#include "analysis/measure.h"

#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <fstream>
#include <functional>

#include "core/buffer.h"
#include "core/error.h"
#include "core/rng.h"
#include "core/timer.h"
#include "ops/ops.h"

namespace gpt::analysis {
namespace {

void fill(Buffer& b, uint64_t seed, float scale = 1.0f) {
  Rng r(seed);
  for (size_t i = 0; i < b.size(); ++i) b[i] = (r.uniformf() * 2.0f - 1.0f) * scale;
}

// Median of several runs after a warm-up; the run count adapts so each op gets ~0.2 s.
double median_seconds(const std::function<void()>& f) {
  f();
  double t0 = now_s();
  f();
  std::vector<double> ts = {now_s() - t0};
  int reps = int(std::clamp(0.2 / std::max(ts[0], 1e-9), 2.0, 30.0));
  for (int i = 0; i < reps; ++i) {
    t0 = now_s();
    f();
    ts.push_back(now_s() - t0);
  }
  std::sort(ts.begin(), ts.end());
  return ts[ts.size() / 2];
}

double best_seconds(const std::function<void()>& f, int reps) {
  f();
  double best = 1e30;
  for (int i = 0; i < reps; ++i) {
    double t0 = now_s();
    f();
    best = std::min(best, now_s() - t0);
  }
  return best;
}

std::string cpu_model_name() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.starts_with("model name")) {
      auto p = line.find(':');
      if (p != std::string::npos) return line.substr(line.find_first_not_of(' ', p + 1));
    }
  return "unknown CPU";
}

double memory_total_bytes() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  double kb = 0;
  while (in >> key >> kb) {
    if (key == "MemTotal:") return kb * 1024;
    in.ignore(1 << 10, '\n');
  }
  return 0;
}

}  // namespace

MachineMeasurement measure_machine() {
  MachineMeasurement m;
  m.threads = omp_get_max_threads();
  m.cpu_model = cpu_model_name();
  m.memory_bytes = memory_total_bytes();

  const int n = 1536;  // large enough for OpenBLAS to reach its peak, small enough for ~1 s
  m.sgemm_n = n;
  Buffer A{size_t(n) * n}, B{size_t(n) * n}, C{size_t(n) * n};
  fill(A, 1);
  fill(B, 2);
  double t = best_seconds([&] {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, A.data(), n, B.data(), n,
                0.0f, C.data(), n);
  }, 5);
  m.sgemm_flops = 2.0 * n * n * n / t;

  // 128 MB per array: far beyond any last-level cache, so the copy streams from DRAM.
  const int64_t count = int64_t(32) << 20;
  m.copy_bytes = count * 4;
  Buffer src{size_t(count)}, dst{size_t(count)};
  fill(src, 3);
  const int64_t chunk = 1 << 16;
  t = best_seconds([&] {
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < count; i += chunk)
      std::memcpy(dst.data() + i, src.data() + i, size_t(std::min(chunk, count - i)) * 4);
  }, 5);
  m.copy_bandwidth = 2.0 * double(count) * 4 / t;
  return m;
}

Hardware hardware_from_measurement(const MachineMeasurement& m) {
  Hardware h;
  h.name = "cpu-local";
  char date[32];
  std::time_t now = std::time(nullptr);
  std::strftime(date, sizeof date, "%Y-%m-%d", std::gmtime(&now));
  h.description = fmt::format("{}, {} thread{} (measured {})", m.cpu_model, m.threads,
                              m.threads == 1 ? "" : "s", date);
  h.peak_flops[DType::FP32] = m.sgemm_flops;
  h.bandwidth = m.copy_bandwidth;
  h.memory_bytes = m.memory_bytes;
  h.default_dtype = DType::FP32;
  h.sources = {
      {"peak_tflops", fmt::format("gpt-intensity roofline --measure: best of 5 cblas_sgemm {0}x{0}x{0}, "
                                  "{1} OpenMP threads", m.sgemm_n, m.threads)},
      {"memory_bandwidth_gb_s", fmt::format("gpt-intensity roofline --measure: best of 5 parallel copies of "
                                            "{} MB, counting bytes read + written (STREAM copy convention)",
                                            m.copy_bytes / 1000000)},
      {"memory_gb", "MemTotal from /proc/meminfo"}};
  h.origin = "measured";
  return h;
}

std::vector<MeasuredOp> measure_model_ops(const ModelSpec& spec) {
  const int64_t T64 = validate(spec);
  if (spec.phase == Phase::Decode)
    throw UsageError("--measure supports --phase train and prefill (the CPU library has no cached-attention kernel to time)");
  if (spec.dtype != DType::FP32)
    throw UsageError("--measure times the fp32 CPU kernels; use --dtype fp32");
  if (spec.impl != AttentionImpl::Unfused)
    throw UsageError("--measure times the CPU attention, which is unfused; use --attention unfused");
  const GPTConfig& c = spec.cfg;
  const bool train = spec.phase == Phase::Train;
  const int Bi = int(spec.batch), T = int(T64), C = c.n_embd, V = c.vocab_size, NH = c.n_head;
  const int64_t N = int64_t(Bi) * T, Nhead = train ? N : Bi;
  const float eps = c.layer_norm_epsilon;
  const float p_drop = train ? c.dropout : 0.0f;
  {
    // Refuse shapes that would not fit, rather than be killed by the OOM killer mid-run:
    // Buffer zero-fills, so every byte asked for is touched.
    const double floats = double(V) * C * (train ? 2 : 1) + double(c.block_size) * C * 2 +
                          12.0 * C * C * (train ? 2 : 1) + double(N) * C * (train ? 32 : 20) +
                          double(Bi) * NH * T * T + double(ops::attention_scratch_floats(T)) +
                          double(Nhead) * V * (train ? 2 : 1) + (train ? 4.0 * (1 << 24) : 0.0);
    const double need = floats * 4, have = memory_total_bytes();
    if (have > 0 && need > 0.6 * have)
      throw UsageError(fmt::format("--measure needs about {:.1f} GB for this shape and the machine has {:.1f} GB; "
                                   "try a smaller --batch or --seq-len", need / 1e9, have / 1e9));
  }
  auto buf = [](int64_t n, uint64_t seed, float scale = 0.5f) {
    Buffer b{size_t(n)};
    fill(b, seed, scale);
    return b;
  };
  uint64_t seed = 100;
  // One layer's weights (every layer has the same shapes) plus embeddings and final norm.
  Buffer wte = buf(int64_t(V) * C, ++seed, 0.02f), wpe = buf(int64_t(c.block_size) * C, ++seed, 0.02f);
  Buffer lnw = buf(C, ++seed), lnb = buf(C, ++seed);
  Buffer qkvw = buf(int64_t(C) * 3 * C, ++seed, 0.02f), qkvb = buf(3 * C, ++seed);
  Buffer projw = buf(int64_t(C) * C, ++seed, 0.02f), projb = buf(C, ++seed);
  Buffer fcw = buf(int64_t(C) * 4 * C, ++seed, 0.02f), fcb = buf(4 * C, ++seed);
  Buffer fcpw = buf(int64_t(4) * C * C, ++seed, 0.02f);
  const float* bq = c.bias ? qkvb.data() : nullptr;
  const float* bp = c.bias ? projb.data() : nullptr;
  const float* bf = c.bias ? fcb.data() : nullptr;
  const float* bln = c.bias ? lnb.data() : nullptr;
  // Activations.
  Buffer x = buf(N * C, ++seed), y = buf(N * C, ++seed), mean{size_t(N)}, rstd{size_t(N)};
  Buffer qkv = buf(N * 3 * C, ++seed), att{size_t(int64_t(Bi) * NH * T * T)}, atty = buf(N * C, ++seed);
  Buffer fch = buf(N * 4 * C, ++seed), fca = buf(N * 4 * C, ++seed);
  Buffer headin = buf(Nhead * C, ++seed), logits = buf(Nhead * V, ++seed), losses{size_t(N)};
  Buffer scratch{size_t(ops::attention_scratch_floats(T))};
  std::vector<int32_t> idx(static_cast<size_t>(N)), targets(static_cast<size_t>(N));
  {
    Rng r(7);
    for (auto& t : idx) t = int32_t(r.below(uint64_t(V)));
    for (auto& t : targets) t = int32_t(r.below(uint64_t(V)));
  }
  ops::layernorm_forward(y.data(), mean.data(), rstd.data(), x.data(), lnw.data(), bln, N, C, eps);

  std::vector<MeasuredOp> out;
  auto time = [&](const std::string& name, Pass pass, const std::function<void()>& f) {
    out.push_back({name, pass, 1, median_seconds(f), {}});
  };
  const Activation act = c.activation;
  const std::string act_name = act == Activation::Tanh ? "mlp.tanh" : act == Activation::Relu ? "mlp.relu" : "mlp.gelu";

  time("embedding", Pass::Forward, [&] { ops::embedding_forward(x.data(), idx.data(), wte.data(), wpe.data(), Bi, T, C); });
  if (c.layernorm)
    time("ln_1", Pass::Forward, [&] { ops::layernorm_forward(y.data(), mean.data(), rstd.data(), x.data(), lnw.data(), bln, N, C, eps); });
  time("attn.c_attn", Pass::Forward, [&] { ops::linear_forward(qkv.data(), y.data(), qkvw.data(), bq, N, C, 3 * C); });
  // Softmax rows of random Q, K stay finite; the values themselves do not matter for speed.
  time("attn.attention", Pass::Forward, [&] {
    ops::attention_forward(atty.data(), att.data(), qkv.data(), Bi, T, C, NH, p_drop, 1, scratch.data());
  });
  time("attn.c_proj", Pass::Forward, [&] { ops::linear_forward(y.data(), atty.data(), projw.data(), bp, N, C, C); });
  time("residual_1", Pass::Forward, [&] { ops::add(x.data(), x.data(), y.data(), N * C); });
  if (c.mlp) {
    if (c.layernorm)
      time("ln_2", Pass::Forward, [&] { ops::layernorm_forward(y.data(), mean.data(), rstd.data(), x.data(), lnw.data(), bln, N, C, eps); });
    time("mlp.c_fc", Pass::Forward, [&] { ops::linear_forward(fch.data(), y.data(), fcw.data(), bf, N, C, 4 * C); });
    time(act_name, Pass::Forward, [&] { ops::activation_forward(fca.data(), fch.data(), N * 4 * C, act); });
    time("mlp.c_proj", Pass::Forward, [&] { ops::linear_forward(y.data(), fca.data(), fcpw.data(), bp, N, 4 * C, C); });
    time("residual_2", Pass::Forward, [&] { ops::add(x.data(), x.data(), y.data(), N * C); });
  }
  if (c.layernorm)
    time("ln_f", Pass::Forward, [&] { ops::layernorm_forward(y.data(), mean.data(), rstd.data(), x.data(), lnw.data(), bln, N, C, eps); });
  time("lm_head", Pass::Forward, [&] { ops::linear_forward(logits.data(), headin.data(), wte.data(), nullptr, Nhead, C, V, true); });
  if (train) {
    time("loss", Pass::Forward, [&] { ops::softmax_xent_forward(losses.data(), logits.data(), targets.data(), N, V); });

    Buffer dlogits{size_t(N) * V}, dx{size_t(N * C)}, dy = buf(N * C, ++seed), dqkv{size_t(N * 3 * C)};
    Buffer dfch{size_t(N * 4 * C)}, dfca = buf(N * 4 * C, ++seed);
    Buffer dwte(wte.size()), dwpe(wpe.size()), dlnw{size_t(C)}, dlnb{size_t(C)};
    Buffer dqkvw(qkvw.size()), dqkvb(qkvb.size()), dprojw(projw.size()), dprojb(projb.size());
    Buffer dfcw(fcw.size()), dfcb(fcb.size()), dfcpw(fcpw.size());
    float* dbln = c.bias ? dlnb.data() : nullptr;
    time("loss", Pass::Backward, [&] { ops::softmax_xent_backward(dlogits.data(), logits.data(), targets.data(), N, V, 1.0f / float(N)); });
    time("lm_head", Pass::Backward, [&] {
      ops::linear_backward(dx.data(), dwte.data(), nullptr, dlogits.data(), headin.data(), wte.data(), N, C, V, true);
    });
    if (c.layernorm)
      time("ln_f", Pass::Backward, [&] {
        ops::layernorm_backward(dx.data(), dlnw.data(), dbln, dy.data(), x.data(), lnw.data(), mean.data(), rstd.data(), N, C);
      });
    if (c.mlp) {
      time("residual_2", Pass::Backward, [&] { ops::add(dx.data(), dx.data(), dy.data(), N * C); });
      time("mlp.c_proj", Pass::Backward, [&] {
        ops::linear_backward(dfca.data(), dfcpw.data(), c.bias ? dprojb.data() : nullptr, dy.data(), fca.data(), fcpw.data(), N, 4 * C, C);
      });
      time(act_name, Pass::Backward, [&] { ops::activation_backward(dfch.data(), dfca.data(), fch.data(), N * 4 * C, act); });
      time("mlp.c_fc", Pass::Backward, [&] {
        ops::linear_backward(dx.data(), dfcw.data(), c.bias ? dfcb.data() : nullptr, dfch.data(), y.data(), fcw.data(), N, C, 4 * C);
      });
      if (c.layernorm)
        time("ln_2", Pass::Backward, [&] {
          ops::layernorm_backward(dx.data(), dlnw.data(), dbln, dy.data(), x.data(), lnw.data(), mean.data(), rstd.data(), N, C);
        });
    }
    time("residual_1", Pass::Backward, [&] { ops::add(dx.data(), dx.data(), dy.data(), N * C); });
    time("attn.c_proj", Pass::Backward, [&] {
      ops::linear_backward(dx.data(), dprojw.data(), c.bias ? dprojb.data() : nullptr, dy.data(), atty.data(), projw.data(), N, C, C);
    });
    time("attn.attention", Pass::Backward, [&] {
      ops::attention_backward(dqkv.data(), dy.data(), qkv.data(), att.data(), Bi, T, C, NH, p_drop, 1, scratch.data());
    });
    time("attn.c_attn", Pass::Backward, [&] {
      ops::linear_backward(dx.data(), dqkvw.data(), c.bias ? dqkvb.data() : nullptr, dqkv.data(), y.data(), qkvw.data(), N, C, 3 * C);
    });
    if (c.layernorm)
      time("ln_1", Pass::Backward, [&] {
        ops::layernorm_backward(dx.data(), dlnw.data(), dbln, dy.data(), x.data(), lnw.data(), mean.data(), rstd.data(), N, C);
      });
    time("embedding", Pass::Backward, [&] { ops::embedding_backward(dwte.data(), dwpe.data(), dy.data(), idx.data(), Bi, T, C); });
    {
      // AdamW is linear in the parameter count: time a slice and scale, rather than holding
      // four more copies of a large model.
      const int64_t P = count_params(c).total, slice = std::min<int64_t>(P, int64_t(1) << 24);
      Buffer p = buf(slice, ++seed), g = buf(slice, ++seed), m1{size_t(slice)}, v1{size_t(slice)};
      ops::AdamWParams h;
      int64_t step = 0;
      double t = median_seconds([&] { ops::adamw_step(p.data(), g.data(), m1.data(), v1.data(), slice, h, ++step, true); });
      out.push_back({"adamw", Pass::Optimizer, 1, t * double(P) / double(slice), {}});
    }
  }

  // Attach the model's predicted cost to each timed op (the attention stages collapse into
  // the one CPU call that runs them all).
  ModelSpec fp32 = spec;
  fp32.dtype = DType::FP32;
  for (auto& op : model_ops(fp32)) {
    std::string key = op.kernel == "attention" ? "attn.attention" : op.name;
    for (auto& m : out)
      if (m.name == key && m.pass == op.pass) {
        m.predicted += op.cost;
        m.count = op.count;
      }
  }
  return out;
}

}  // namespace gpt::analysis
