#pragma once
// Speculative decoding: a small draft model proposes gamma tokens, the target scores all of
// them in one forward (a multi-token append to its KV cache), and the longest acceptable
// prefix is kept. Notation (Leviathan et al.): p is the target's distribution, q the draft's,
// both after temperature, top-k and top-p.
//
//   rejection: draft tokens are sampled from q; token x is accepted with probability
//              min(1, p(x)/q(x)); at the first rejection the next token is drawn from
//              norm(max(0, p - q)); if all are accepted a bonus token is drawn from p.
//              The output is distributed exactly as the target's samples.
//   match:     the draft proposes greedily; the target samples every verified position with
//              the random stream gpt-generate would use and stops at the first mismatch, so the
//              output is token-identical to gpt-generate with the same seed and flags.
//
// Batch 1. Both models keep KV caches (CachedContext), rolled back after a rejection. While
// the sequence plus gamma drafts still fits the target's block_size the drafts are verified
// in one pass; beyond it, every target position sees a different window, so the target takes
// plain steps under the window rule, exactly as gpt-generate does.
#include <cstdint>
#include <string>
#include <vector>

#include "core/rng.h"
#include "infer/sampler.h"
#include "model/gpt.h"

namespace gpt {

class CudaGPT;

enum class SpecMethod { Rejection, Match };
SpecMethod parse_spec_method(const std::string& s);

struct SpecOptions {
  int max_new = 0;
  int gamma = 4;
  SpecMethod method = SpecMethod::Rejection;
  SamplingParams sampling;
  // Run the target and the draft on the GPU through these copies of their weights (null: CPU).
  const CudaGPT* target_gpu = nullptr;
  const CudaGPT* draft_gpu = nullptr;
};

struct SpecStats {
  int target_calls = 0, draft_calls = 0;
  int64_t drafted = 0, accepted = 0, emitted = 0;
  int plain_steps = 0;           // target calls without drafts (past block_size)
  double alpha_sum = 0;          // sum over verified positions of sum_x min(p(x), q(x))
  int64_t alpha_count = 0;
  double draft_s = 0, target_s = 0, total_s = 0;

  double acceptance() const { return drafted ? double(accepted) / double(drafted) : 0.0; }
  double alpha_hat() const { return alpha_count ? alpha_sum / double(alpha_count) : 0.0; }
  double tokens_per_target_call() const { return target_calls ? double(emitted) / target_calls : 0.0; }
  // Mean draft forward time over mean target forward time.
  double c_measured() const;
};

// (1 - a^(g+1)) / ((1 - a)(g c + 1)), with the a -> 1 limit (g + 1) / (g c + 1).
double predicted_speedup(double alpha, int gamma, double c);

// One accept/resample decision for draft token x ~ q: accepted with probability
// min(1, p(x)/q(x)) using u_accept; if rejected, the replacement is drawn from
// norm(max(0, p - q)) with u_resample (ids in increasing order).
struct Verdict {
  bool accepted;
  int32_t token;
};
Verdict accept_or_resample(const float* p, const float* q, int V, int32_t x, float u_accept, float u_resample);
bool accept_draft(const float* p, const float* q, int32_t x, float u);
int32_t resample_residual(const float* p, const float* q, int V, float u);

// Appends opt.max_new tokens to seq. rng is the sampling stream: for match, the stream of
// gpt-generate's sample 0 (one draw per emitted token unless greedy); for rejection, any
// seeded stream (draft samples, acceptance tests and resamples all draw from it).
SpecStats speculative_generate(const GPT& target, const GPT& draft, std::vector<int32_t>& seq,
                               const SpecOptions& opt, Rng& rng);

}  // namespace gpt
