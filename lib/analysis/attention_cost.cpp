#include "analysis/attention_cost.h"

#include "core/error.h"
#include "core/json_util.h"

namespace gpt::analysis {

const char* phase_name(Phase p) {
  switch (p) {
    case Phase::Train: return "train";
    case Phase::Prefill: return "prefill";
    case Phase::Decode: return "decode";
  }
  return "?";
}

Phase parse_phase(const std::string& s) {
  if (s == "train") return Phase::Train;
  if (s == "prefill") return Phase::Prefill;
  if (s == "decode") return Phase::Decode;
  throw UsageError("unknown phase '" + s + "'" + did_you_mean(s, {"train", "prefill", "decode"}) +
                   "; use train, prefill or decode");
}

const char* attention_name(AttentionImpl a) { return a == AttentionImpl::Fused ? "fused" : "unfused"; }

AttentionImpl parse_attention(const std::string& s) {
  if (s == "unfused") return AttentionImpl::Unfused;
  if (s == "fused" || s == "flash") return AttentionImpl::Fused;
  throw UsageError("unknown attention '" + s + "'" + did_you_mean(s, {"unfused", "fused"}) +
                   "; use unfused or fused");
}

void validate(const AttentionShape& a) {
  auto pos = [](int64_t v, const char* what) {
    if (v <= 0) throw UsageError(fmt::format("{} must be positive, got {}", what, v));
  };
  pos(a.batch, "batch");
  pos(a.q_len, "sequence length");
  pos(a.kv_len, "kv length");
  pos(a.d_model, "d_model");
  pos(a.heads, "heads");
  if (a.d_model % a.heads)
    throw UsageError(fmt::format("heads ({}) must divide d_model ({})", a.heads, a.d_model));
  if (a.q_len > a.kv_len)
    throw UsageError(fmt::format("kv length ({}) must be at least the query length ({})", a.kv_len, a.q_len));
}

std::vector<OpCost> attention_core_forward(const AttentionShape& a, const std::string& prefix) {
  validate(a);
  const int s = a.bytes;
  const int64_t B = a.batch, h = a.heads, dh = a.d_model / a.heads, Nq = a.q_len, Nk = a.kv_len;
  const int64_t bh = mul(B, h);
  const int64_t scores = mul(bh, Nq, Nk);
  const std::string k = "attention";
  if (a.impl == AttentionImpl::Fused) {
    Cost c = gemm(bh, Nq, Nk, dh, s);  // QK^T
    c += gemm(bh, Nq, dh, Nk, s);       // PV
    int64_t per = flops_per::kScaleMask + flops_per::kSoftmax + (a.dropout ? flops_per::kDropout : 0);
    c.flops = add(c.flops, mul(scores, per));
    // Only Q, K, V in and O out touch memory (plus the log-sum-exp backward needs).
    c.bytes_read = mul(s, B, add(mul(Nq, a.d_model), mul(2, Nk, a.d_model)));
    c.bytes_written = mul(s, B, Nq, a.d_model);
    if (a.backward) c.bytes_written = add(c.bytes_written, mul(4, bh, Nq));
    return {{prefix + "attention", Pass::Forward, 1, c, k}};
  }
  std::vector<OpCost> ops;
  ops.push_back({prefix + "qk", Pass::Forward, 1, gemm(bh, Nq, Nk, dh, s), k});
  ops.push_back({prefix + "scale_mask", Pass::Forward, 1, elementwise(scores, flops_per::kScaleMask, 1, 1, s), k});
  ops.push_back({prefix + "softmax", Pass::Forward, 1, elementwise(scores, flops_per::kSoftmax, 1, 1, s), k});
  if (a.dropout)
    ops.push_back({prefix + "dropout", Pass::Forward, 1, elementwise(scores, flops_per::kDropout, 1, 1, s), k});
  ops.push_back({prefix + "pv", Pass::Forward, 1, gemm(bh, Nq, dh, Nk, s), k});
  return ops;
}

std::vector<OpCost> attention_core_backward(const AttentionShape& a, const std::string& prefix) {
  validate(a);
  const int s = a.bytes;
  const int64_t B = a.batch, h = a.heads, dh = a.d_model / a.heads, Nq = a.q_len, Nk = a.kv_len;
  const int64_t bh = mul(B, h), d = a.d_model;
  const int64_t scores = mul(bh, Nq, Nk);
  const std::string k = "attention";
  if (a.impl == AttentionImpl::Fused) {
    // FlashAttention-2 backward: recompute S and P from Q, K and the log-sum-exp, then
    // dV = P^T dO, dP = dO V^T, dS = P (dP - D), dQ = dS K, dK = dS^T Q: five GEMMs.
    Cost c;
    c.matmul_flops = mul(10, bh, Nq, Nk, dh);
    int64_t per = flops_per::kScaleMask + 2 /*subtract lse, exp*/ + flops_per::kSoftmaxBwd +
                  (a.dropout ? 2 * flops_per::kDropout : 0);
    c.flops = add(c.matmul_flops, add(mul(scores, per), mul(2, B, Nq, d) /*D = rowsum(dO*O)*/));
    c.bytes_read = add(mul(s, B, add(mul(3, Nq, d), mul(2, Nk, d))), mul(4, bh, Nq));  // Q,O,dO,K,V,lse
    c.bytes_written = mul(s, B, add(mul(Nq, d), mul(2, Nk, d)));                         // dQ,dK,dV
    return {{prefix + "attention", Pass::Backward, 1, c, k}};
  }
  std::vector<OpCost> ops;
  // PV: X = P [Nq,Nk], W = V [Nk,dh]; dP = dO V^T, dV = P^T dO.
  ops.push_back({prefix + "pv", Pass::Backward, 1, gemm_backward(bh, Nq, dh, Nk, s), k});
  if (a.dropout)
    ops.push_back({prefix + "dropout", Pass::Backward, 1, elementwise(scores, flops_per::kDropout, 1, 1, s), k});
  ops.push_back({prefix + "softmax", Pass::Backward, 1, elementwise(scores, flops_per::kSoftmaxBwd, 2, 1, s), k});
  ops.push_back({prefix + "scale_mask", Pass::Backward, 1, elementwise(scores, flops_per::kScaleMask, 1, 1, s), k});
  // QK^T: X = Q [Nq,dh], W = K^T [dh,Nk]; dQ = dS K, dK = dS^T Q.
  ops.push_back({prefix + "qk", Pass::Backward, 1, gemm_backward(bh, Nq, Nk, dh, s), k});
  return ops;
}

AttentionShape attention_shape(const MhaSpec& m) {
  AttentionShape a;
  a.batch = m.batch;
  a.d_model = m.d_model;
  a.heads = m.heads;
  a.bytes = dtype_bytes(m.dtype);
  a.impl = m.impl;
  if (m.phase != Phase::Decode && m.kv_len != 0 && m.kv_len != m.seq_len)
    throw UsageError("--kv-len applies to --phase decode only (train and prefill attend over --seq-len)");
  a.q_len = m.phase == Phase::Decode ? 1 : m.seq_len;
  a.kv_len = m.phase == Phase::Decode && m.kv_len ? m.kv_len : m.seq_len;
  if (m.seq_len <= 0) throw UsageError(fmt::format("sequence length must be positive, got {}", m.seq_len));
  if (m.kv_len < 0) throw UsageError(fmt::format("kv length must be positive, got {}", m.kv_len));
  a.dropout = m.phase == Phase::Train && m.dropout;
  a.backward = m.phase == Phase::Train;
  validate(a);
  return a;
}

std::vector<OpCost> mha_ops(const MhaSpec& m) {
  AttentionShape a = attention_shape(m);
  const int s = a.bytes;
  const int64_t tokens = mul(a.batch, a.q_len), d = a.d_model;
  std::vector<OpCost> ops;
  ops.push_back({"qkv_proj", Pass::Forward, 1, gemm(1, tokens, mul(3, d), d, s), "linear"});
  for (auto& op : attention_core_forward(a)) ops.push_back(op);
  ops.push_back({"out_proj", Pass::Forward, 1, gemm(1, tokens, d, d, s), "linear"});
  if (a.backward) {
    ops.push_back({"out_proj", Pass::Backward, 1, gemm_backward(1, tokens, d, d, s), "linear"});
    for (auto& op : attention_core_backward(a)) ops.push_back(op);
    ops.push_back({"qkv_proj", Pass::Backward, 1, gemm_backward(1, tokens, mul(3, d), d, s), "linear"});
  }
  return ops;
}

}  // namespace gpt::analysis
