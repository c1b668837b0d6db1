#pragma once
// FLOPs and minimum bytes of multi-head attention, stage by stage.
//
// Unfused: every stage is its own kernel, so each intermediate (the scores S, the masked
// scores, the probabilities P, the dropped-out P) goes to main memory and comes back.
// Fused (FlashAttention-style): one kernel reads Q, K and V once and writes O once; the
// B*h*Nq*Nk score matrix lives only in on-chip memory. Training additionally writes the
// per-row log-sum-exp (fp32) so that backward can recompute P instead of storing it.
// All score-matrix stages count the full Nq x Nk rectangle, as the lecture and nanoGPT's
// sizing notebook do; a causal kernel that skips masked tiles does about half of that work.
#include <string>
#include <vector>

#include "analysis/roofline.h"

namespace gpt::analysis {

enum class Phase { Train, Prefill, Decode };
const char* phase_name(Phase p);
Phase parse_phase(const std::string& s);  // gpt::UsageError on anything else

enum class AttentionImpl { Unfused, Fused };
const char* attention_name(AttentionImpl a);
AttentionImpl parse_attention(const std::string& s);

struct AttentionShape {
  int64_t batch = 1;
  int64_t q_len = 1;    // query tokens per sequence in this pass (1 when decoding)
  int64_t kv_len = 1;   // keys each query attends over (cached + new)
  int64_t d_model = 768;
  int64_t heads = 12;
  int bytes = 2;        // per element of Q, K, V, S, P, O
  AttentionImpl impl = AttentionImpl::Unfused;
  bool dropout = false;   // attention dropout (training)
  bool backward = false;  // training: keep what backward needs and count backward too
};
// Positive sizes, heads dividing d_model, q_len <= kv_len: else gpt::UsageError.
void validate(const AttentionShape& a);

// Scores through weighted values (QK^T, scale+mask, softmax, dropout, PV), forward.
// Each op's name is prefix + stage ("qk", "scale_mask", "softmax", "dropout", "pv"), or
// prefix + "attention" for the fused kernel.
std::vector<OpCost> attention_core_forward(const AttentionShape& a, const std::string& prefix = "");
// Their backward, in execution order (reverse of forward).
std::vector<OpCost> attention_core_backward(const AttentionShape& a, const std::string& prefix = "");

// The mha subcommand: QKV projection, the core, output projection; forward, then backward
// when training. Projections have no bias, as in the lecture's formulas.
struct MhaSpec {
  int64_t batch = 1;
  int64_t seq_len = 1024;
  int64_t kv_len = 0;  // decode only: keys in the cache including the new token (0: seq_len)
  int64_t d_model = 768;
  int64_t heads = 12;
  DType dtype = DType::BF16;
  AttentionImpl impl = AttentionImpl::Unfused;
  Phase phase = Phase::Prefill;
  bool dropout = true;  // applies in the train phase only
};
AttentionShape attention_shape(const MhaSpec& m);
std::vector<OpCost> mha_ops(const MhaSpec& m);

}  // namespace gpt::analysis
