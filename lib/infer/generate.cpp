#include "infer/generate.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/timer.h"
#include "infer/cached_context.h"
#include "model/kv_decoder.h"

namespace gpt {
namespace {

void check_batch(const std::vector<std::vector<int32_t>>& seqs, const std::vector<Rng>& rngs) {
  check(!seqs.empty(), "nothing to generate: no sequences");
  check(rngs.size() == seqs.size(), "generate: {} sequences but {} random generators", seqs.size(), rngs.size());
  check(!seqs[0].empty(), "the prompt is empty; give at least one token");
  for (const auto& s : seqs)
    check(s.size() == seqs[0].size(), "generate: sequences of a batch must have the same length");
}

void sample_rows(const float* logits, int V, std::vector<std::vector<int32_t>>& seqs,
                 const SamplingParams& sp, std::vector<Rng>& rngs, std::vector<int32_t>& picked,
                 std::vector<float>& probs) {
  picked.resize(seqs.size());
  for (size_t s = 0; s < seqs.size(); ++s) {
    float u = sp.temperature == 0.0f ? 0.0f : rngs[s].uniformf();
    picked[s] = sample_token(logits + int64_t(s) * V, V, sp, u, probs);
    seqs[s].push_back(picked[s]);
  }
}

}  // namespace

GenerateStats generate(const GPT& model, std::vector<std::vector<int32_t>>& seqs,
                       const GenerateOptions& opt, std::vector<Rng>& rngs) {
  check_batch(seqs, rngs);
  opt.sampling.validate();
  check(opt.max_new >= 0, "max-new-tokens must be >= 0 (got {})", opt.max_new);
  GenerateStats st;
  if (opt.max_new == 0) return st;
  const int V = model.config().vocab_size, bs = model.config().block_size, B = int(seqs.size());
  const int len0 = int(seqs[0].size());
  // The longest window ever encoded: the last token sampled is never fed back.
  CachedContext ctx(model, B, std::min(bs, len0 + opt.max_new - 1), opt.kv_cache, opt.gpu);
  if (opt.kv_cache) st.kv_cache_bytes = ctx.cache_bytes();
  std::vector<int32_t> picked;
  std::vector<float> probs;
  for (int step = 0; step < opt.max_new; ++step) {
    const double t0 = now_s();
    const float* logits = ctx.logits(seqs);
    if (opt.on_logits) opt.on_logits(logits);
    sample_rows(logits, V, seqs, opt.sampling, rngs, picked, probs);
    (step == 0 ? st.prefill_ms : st.decode_ms) += 1e3 * (now_s() - t0);
    if (opt.on_step) opt.on_step(picked);
  }
  st.forwards = ctx.forwards();
  st.rebuilds = ctx.rebuilds();
  return st;
}

void generate_naive(GPT& model, std::vector<std::vector<int32_t>>& seqs, int max_new,
                    const SamplingParams& sp, std::vector<Rng>& rngs) {
  check_batch(seqs, rngs);
  const int V = model.config().vocab_size, bs = model.config().block_size;
  std::vector<float> probs;
  for (size_t s = 0; s < seqs.size(); ++s) {
    auto& seq = seqs[s];
    for (int i = 0; i < max_new; ++i) {
      const int T = std::min<int>(int(seq.size()), bs);
      model.forward(seq.data() + seq.size() - size_t(T), nullptr, 1, T);
      const float* last = model.logits() + int64_t(T - 1) * V;
      float u = sp.temperature == 0.0f ? 0.0f : rngs[s].uniformf();
      seq.push_back(sample_token(last, V, sp, u, probs));
    }
  }
}

ScoreResult score(const GPT& model, const std::vector<int32_t>& ids, const CudaGPT* gpu) {
  check(ids.size() >= 2, "scoring needs at least two tokens (the first has no context); got {}", ids.size());
  const int V = model.config().vocab_size, bs = model.config().block_size;
  const int n = int(ids.size());
  const int stride = std::max(1, bs / 2);
  Decoder dec(model, 1, std::min(bs, n - 1), gpu);
  ScoreResult r;
  r.nll.reserve(size_t(n - 1));
  int scored = 0;  // tokens 1..scored have their nll
  for (int ws = 0; scored < n - 1; ws += stride) {
    // The window feeds ids[ws, we) and predicts ids[ws + 1, we + 1).
    const int we = std::min(n - 1, ws + bs);
    dec.reset();
    const float* logits = dec.append(ids.data() + ws, we - ws, /*n_logits=*/we - ws);
    ++r.forwards;
    for (int t = scored + 1; t <= we; ++t) {
      const float* row = logits + int64_t(t - 1 - ws) * V;
      const double mx = *std::max_element(row, row + V);
      double sum = 0.0;
      for (int v = 0; v < V; ++v) sum += std::exp(double(row[v]) - mx);
      r.nll.push_back(mx + std::log(sum) - double(row[ids[size_t(t)]]));
    }
    scored = we;
  }
  double total = 0.0;
  for (double v : r.nll) total += v;
  r.mean_loss = total / double(r.nll.size());
  r.perplexity = std::exp(r.mean_loss);
  return r;
}

}  // namespace gpt
