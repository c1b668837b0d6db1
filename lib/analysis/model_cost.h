#pragma once
// Whole-model cost: parameters, per-op FLOPs and bytes for one layer plus embeddings, final
// layernorm and LM head, memory for training state, and the 6N + 12*L*T*d rule.
#include <vector>

#include "analysis/attention_cost.h"
#include "model/config.h"

namespace gpt::analysis {

struct ModelSpec {
  GPTConfig cfg;
  int64_t batch = 1;
  // train/prefill: tokens per sequence. decode: the context length, i.e. keys in the cache
  // including the one new token. 0 means the model's block_size.
  int64_t seq_len = 0;
  Phase phase = Phase::Train;
  DType dtype = DType::BF16;
  AttentionImpl impl = AttentionImpl::Unfused;
  // decode: tokens appended per sequence in this pass (1 for plain decoding; gamma+1 for a
  // speculative verify pass). They are the last new_tokens of the seq_len context.
  int64_t new_tokens = 1;
};
// Positive sizes and seq_len <= block_size (there are no position embeddings beyond it).
// Returns the effective seq_len.
int64_t validate(const ModelSpec& m);

struct ParamCounts {
  int64_t total = 0;
  int64_t wte = 0, wpe = 0;
  int64_t lm_head = 0;        // 0 when tied to wte
  int64_t per_layer = 0;
  int64_t final_norm = 0;
  int64_t bias = 0;           // how many of total are biases (linear and layernorm)
  int64_t with_bias = 0;      // the same shape with bias=true
  int64_t without_bias = 0;   // ... and with bias=false (nanoGPT's default)
  int64_t if_untied = 0;      // total with a separate lm_head
  int64_t non_embedding = 0;  // total - wpe: what nanoGPT prints
  int64_t flop_params = 0;    // N of the 6N rule: total - wpe (- wte when untied, as lookups cost no FLOPs)
};
ParamCounts count_params(const GPTConfig& c);

// Forward ops in execution order, then (train) backward in reverse and the AdamW step.
// Per-layer ops carry count = n_layer. The LM head runs on every position in training and
// on the last position only in prefill/decode (that is all generation needs).
std::vector<OpCost> model_ops(const ModelSpec& m);

// The PaLM/nanoGPT estimate per token: 6N + 12*L*T*d for training (forward + backward),
// 2N + 4*L*T*d for a forward pass; N = flop_params, T = seq_len (context in decode).
int64_t rule_flops_per_token(const GPTConfig& c, int64_t T, Phase phase);

struct MemoryEstimate {
  int64_t weights = 0;
  int64_t master_weights = 0;  // fp32 copy kept by mixed-precision training
  int64_t grads = 0;
  int64_t optimizer = 0;       // AdamW m and v, fp32
  int64_t activations = 0;     // train: all forward outputs kept for backward; else the largest intermediate plus the residual stream
  int64_t kv_cache = 0;        // prefill/decode
  int64_t total() const;
};
MemoryEstimate model_memory(const ModelSpec& m, const std::vector<OpCost>& ops);

}  // namespace gpt::analysis
