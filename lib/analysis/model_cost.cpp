#include "analysis/model_cost.h"

#include <algorithm>

#include "core/error.h"

namespace gpt::analysis {

int64_t validate(const ModelSpec& m) {
  if (m.batch <= 0) throw UsageError(fmt::format("batch must be positive, got {}", m.batch));
  if (m.seq_len < 0) throw UsageError(fmt::format("sequence length must be positive, got {}", m.seq_len));
  try {
    m.cfg.validate();
  } catch (const UsageError&) {
    throw;
  } catch (const Error& e) {
    throw UsageError(e.what());
  }
  int64_t T = m.seq_len ? m.seq_len : m.cfg.block_size;
  if (T > m.cfg.block_size)
    throw UsageError(fmt::format("sequence length {} exceeds the model's block_size {}", T, m.cfg.block_size));
  if (m.new_tokens < 1 || m.new_tokens > T)
    throw UsageError(fmt::format("new tokens per decode pass must be in [1, {}], got {}", T, m.new_tokens));
  return T;
}

ParamCounts count_params(const GPTConfig& c) {
  auto count = [](const GPTConfig& c, ParamCounts& p) {
    const int64_t C = c.n_embd, V = c.vocab_size, L = c.n_layer;
    const int64_t b = c.bias ? 1 : 0;
    const int64_t ln = c.layernorm ? 1 : 0;
    p.wte = V * C;
    p.wpe = int64_t(c.block_size) * C;
    p.lm_head = c.tie_embeddings ? 0 : V * C;
    int64_t layer = ln * C * (1 + b) + 3 * C * C + b * 3 * C + C * C + b * C;
    int64_t layer_bias = ln * C * b + b * 3 * C + b * C;
    if (c.mlp) {
      layer += ln * C * (1 + b) + 4 * C * C + b * 4 * C + 4 * C * C + b * C;
      layer_bias += ln * C * b + b * 4 * C + b * C;
    }
    p.per_layer = layer;
    p.final_norm = ln * C * (1 + b);
    p.bias = L * layer_bias + ln * C * b;
    p.total = p.wte + p.wpe + p.lm_head + L * layer + p.final_norm;
    p.non_embedding = p.total - p.wpe;
    p.flop_params = p.total - p.wpe - (c.tie_embeddings ? 0 : p.wte);
  };
  ParamCounts p;
  count(c, p);
  GPTConfig alt = c;
  ParamCounts q;
  alt.bias = true;
  count(alt, q);
  p.with_bias = q.total;
  alt.bias = false;
  count(alt, q);
  p.without_bias = q.total;
  alt = c;
  alt.tie_embeddings = false;
  count(alt, q);
  p.if_untied = q.total;
  return p;
}

namespace {

int activation_flops(Activation a, bool backward) {
  // Forward: the operations of the formula (gelu_tanh: x^2, x^3, *0.044715, +x, *sqrt(2/pi),
  // tanh, +1, *x, *0.5). Backward: a straightforward derivative times dy.
  switch (a) {
    case Activation::GeluTanh: return backward ? 20 : 9;
    case Activation::Gelu: return backward ? 11 : 5;
    case Activation::Tanh: return backward ? 3 : 1;
    case Activation::Relu: return 1;
  }
  return 1;
}

const char* activation_op(Activation a) {
  switch (a) {
    case Activation::GeluTanh:
    case Activation::Gelu: return "mlp.gelu";
    case Activation::Tanh: return "mlp.tanh";
    case Activation::Relu: return "mlp.relu";
  }
  return "mlp.act";
}

}  // namespace

std::vector<OpCost> model_ops(const ModelSpec& m) {
  const int64_t T = validate(m);
  const GPTConfig& c = m.cfg;
  const int s = dtype_bytes(m.dtype);
  const bool train = m.phase == Phase::Train;
  const int64_t B = m.batch, C = c.n_embd, V = c.vocab_size, L = c.n_layer;
  const int64_t Tq = m.phase == Phase::Decode ? m.new_tokens : T;
  const int64_t N = mul(B, Tq);  // tokens in flight
  // Rows that need logits: all in training and in a verify pass, the last one otherwise.
  const int64_t Nhead = train || m.phase == Phase::Decode ? N : B;
  const bool bias = c.bias;

  AttentionShape a;
  a.batch = B;
  a.q_len = Tq;
  a.kv_len = T;
  a.d_model = C;
  a.heads = c.n_head;
  a.bytes = s;
  a.impl = m.impl;
  a.dropout = train && c.dropout > 0;
  a.backward = train;

  auto ln = [&](Pass p) {
    int64_t per = p == Pass::Forward ? flops_per::kLayerNorm - (bias ? 0 : 1)
                                     : flops_per::kLayerNormBwd - (bias ? 0 : 1);
    // forward reads x, writes y; backward reads x and dy, writes dx; plus w (and b) and their grads.
    Cost k = elementwise(mul(N, C), per, p == Pass::Forward ? 1 : 2, 1, s);
    int64_t wb = mul(C, bias ? 2 : 1, s);
    if (p == Pass::Forward) k.bytes_read = add(k.bytes_read, wb);
    else { k.bytes_read = add(k.bytes_read, mul(C, s)); k.bytes_written = add(k.bytes_written, wb); }
    return k;
  };
  auto residual = [&]() { return elementwise(mul(N, C), flops_per::kResidual, 2, 1, s); };
  const int64_t H4 = mul(4, C);

  std::vector<OpCost> ops;
  auto push = [&](const std::string& name, Pass p, int64_t count, const Cost& k, const char* kernel) {
    ops.push_back({name, p, count, k, kernel});
  };

  // Forward.
  {
    Cost e;  // gather wte rows and the wpe rows of these positions, add
    e.flops = mul(N, C);
    e.bytes_read = add(mul(s, add(mul(N, C), mul(Tq, C))), mul(4, N));
    e.bytes_written = mul(s, N, C);
    push("embedding", Pass::Forward, 1, e, "embedding");
  }
  if (c.layernorm) push("ln_1", Pass::Forward, L, ln(Pass::Forward), "layernorm");
  push("attn.c_attn", Pass::Forward, L, gemm(1, N, mul(3, C), C, s, bias), "linear");
  for (auto& op : attention_core_forward(a, "attn.")) push(op.name, op.pass, L, op.cost, "attention");
  push("attn.c_proj", Pass::Forward, L, gemm(1, N, C, C, s, bias), "linear");
  push("residual_1", Pass::Forward, L, residual(), "add");
  if (c.mlp) {
    if (c.layernorm) push("ln_2", Pass::Forward, L, ln(Pass::Forward), "layernorm");
    push("mlp.c_fc", Pass::Forward, L, gemm(1, N, H4, C, s, bias), "linear");
    push(activation_op(c.activation), Pass::Forward, L,
         elementwise(mul(N, H4), activation_flops(c.activation, false), 1, 1, s), "activation");
    push("mlp.c_proj", Pass::Forward, L, gemm(1, N, C, H4, s, bias), "linear");
    push("residual_2", Pass::Forward, L, residual(), "add");
  }
  if (c.layernorm) push("ln_f", Pass::Forward, 1, ln(Pass::Forward), "layernorm");
  push("lm_head", Pass::Forward, 1, gemm(1, Nhead, V, C, s, false), "linear");
  if (train) {
    Cost x = elementwise(mul(N, V), flops_per::kCrossEntropy, 1, 0, s);
    x.bytes_read = add(x.bytes_read, mul(4, N));     // int32 targets
    x.bytes_written = add(x.bytes_written, mul(4, N));  // fp32 per-row losses
    push("loss", Pass::Forward, 1, x, "softmax_xent");
  }
  if (!train) return ops;

  // Backward, in execution order.
  {
    Cost x = elementwise(mul(N, V), flops_per::kCrossEntropyBwd, 1, 1, s);
    x.bytes_read = add(x.bytes_read, mul(4, N));
    push("loss", Pass::Backward, 1, x, "softmax_xent");
  }
  push("lm_head", Pass::Backward, 1, gemm_backward(1, N, V, C, s, false), "linear");
  if (c.layernorm) push("ln_f", Pass::Backward, 1, ln(Pass::Backward), "layernorm");
  if (c.mlp) {
    // The residual stream's gradient meets the branch's gradient: one add per block.
    push("residual_2", Pass::Backward, L, residual(), "add");
    push("mlp.c_proj", Pass::Backward, L, gemm_backward(1, N, C, H4, s, bias), "linear");
    push(activation_op(c.activation), Pass::Backward, L,
         elementwise(mul(N, H4), activation_flops(c.activation, true), 2, 1, s), "activation");
    push("mlp.c_fc", Pass::Backward, L, gemm_backward(1, N, H4, C, s, bias), "linear");
    if (c.layernorm) push("ln_2", Pass::Backward, L, ln(Pass::Backward), "layernorm");
  }
  push("residual_1", Pass::Backward, L, residual(), "add");
  push("attn.c_proj", Pass::Backward, L, gemm_backward(1, N, C, C, s, bias), "linear");
  for (auto& op : attention_core_backward(a, "attn.")) push(op.name, op.pass, L, op.cost, "attention");
  push("attn.c_attn", Pass::Backward, L, gemm_backward(1, N, mul(3, C), C, s, bias), "linear");
  if (c.layernorm) push("ln_1", Pass::Backward, L, ln(Pass::Backward), "layernorm");
  {
    Cost e;  // scatter-add dy into the used wte rows, sum over the batch into wpe
    e.flops = mul(2, N, C);
    e.bytes_read = add(mul(s, N, C), mul(4, N));
    e.bytes_written = mul(s, add(mul(std::min<int64_t>(N, V), C), mul(Tq, C)));
    push("embedding", Pass::Backward, 1, e, "embedding");
  }
  {
    const int64_t P = count_params(c).total;
    Cost o;
    o.flops = mul(P, flops_per::kAdamW);
    if (s >= 4) {  // read p, g, m, v; write p, m, v
      o.bytes_read = mul(P, 16);
      o.bytes_written = mul(P, 12);
    } else {  // read g, fp32 master, m, v; write master, m, v and the low-precision copy
      o.bytes_read = mul(P, 12 + s);
      o.bytes_written = mul(P, 12 + s);
    }
    push("adamw", Pass::Optimizer, 1, o, "adamw");
  }
  return ops;
}

int64_t rule_flops_per_token(const GPTConfig& c, int64_t T, Phase phase) {
  const int64_t N = count_params(c).flop_params;
  const int64_t attn = mul(int64_t(c.n_layer), T, int64_t(c.n_embd));
  return phase == Phase::Train ? add(mul(6, N), mul(12, attn)) : add(mul(2, N), mul(4, attn));
}

int64_t MemoryEstimate::total() const {
  return add(add(add(weights, master_weights), add(grads, optimizer)), add(activations, kv_cache));
}

MemoryEstimate model_memory(const ModelSpec& m, const std::vector<OpCost>& ops) {
  const int64_t T = validate(m);
  const int s = dtype_bytes(m.dtype);
  const int64_t P = count_params(m.cfg).total;
  const bool train = m.phase == Phase::Train;
  MemoryEstimate e;
  e.weights = mul(P, s);
  if (train) {
    e.master_weights = s < 4 ? mul(P, 4) : 0;
    e.grads = mul(P, s);
    e.optimizer = mul(P, 8);
    for (auto& op : ops)
      if (op.pass == Pass::Forward) e.activations = add(e.activations, mul(op.cost.bytes_written, op.count));
  } else {
    const int64_t Tq = m.phase == Phase::Decode ? m.new_tokens : T;
    int64_t largest = 0;
    for (auto& op : ops)
      if (op.pass == Pass::Forward) largest = std::max(largest, op.cost.bytes_written);
    e.activations = add(largest, mul(m.batch, Tq, int64_t(m.cfg.n_embd), s));
    e.kv_cache = mul(2, int64_t(m.cfg.n_layer), m.batch, T, int64_t(m.cfg.n_embd), s);
  }
  return e;
}

}  // namespace gpt::analysis
