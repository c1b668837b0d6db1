#include "infer/speculative.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/timer.h"
#include "infer/cached_context.h"

namespace gpt {

SpecMethod parse_spec_method(const std::string& s) {
  if (s == "rejection") return SpecMethod::Rejection;
  if (s == "match") return SpecMethod::Match;
  fail("unknown speculative method '{}' (use rejection or match)", s);
}

double SpecStats::c_measured() const {
  if (!draft_calls || !target_calls || target_s <= 0) return 0.0;
  return (draft_s / draft_calls) / (target_s / target_calls);
}

double predicted_speedup(double alpha, int gamma, double c) {
  const double denom = gamma * c + 1.0;
  if (alpha >= 1.0 - 1e-12) return (gamma + 1) / denom;
  return (1.0 - std::pow(alpha, gamma + 1)) / ((1.0 - alpha) * denom);
}

bool accept_draft(const float* p, const float* q, int32_t x, float u) {
  // u < p/q, written without the division: q(x) > 0 because x was drawn from q.
  return double(u) * double(q[x]) < double(p[x]);
}

int32_t resample_residual(const float* p, const float* q, int V, float u) {
  double mass = 0.0;
  for (int v = 0; v < V; ++v) mass += std::max(0.0, double(p[v]) - double(q[v]));
  // A rejection needs p(x) < q(x), so p - q has positive mass; only rounding can leave none,
  // and then p itself is the right distribution to fall back on.
  const bool use_p = !(mass > 0.0);
  if (use_p) {
    mass = 0.0;
    for (int v = 0; v < V; ++v) mass += p[v];
  }
  const double target = double(u) * mass;
  double acc = 0.0;
  int32_t last = 0;
  for (int v = 0; v < V; ++v) {
    const double w = use_p ? double(p[v]) : std::max(0.0, double(p[v]) - double(q[v]));
    if (w <= 0.0) continue;
    acc += w;
    last = v;
    if (target < acc) return v;
  }
  return last;
}

Verdict accept_or_resample(const float* p, const float* q, int V, int32_t x, float u_accept, float u_resample) {
  check(x >= 0 && x < V, "draft token {} is outside the vocabulary [0, {})", x, V);
  if (accept_draft(p, q, x, u_accept)) return {true, x};
  return {false, resample_residual(p, q, V, u_resample)};
}

SpecStats speculative_generate(const GPT& target, const GPT& draft, std::vector<int32_t>& seq,
                               const SpecOptions& opt, Rng& rng) {
  const GPTConfig &tc = target.config(), &dc = draft.config();
  check(tc.vocab_size == dc.vocab_size,
        "the draft's vocabulary ({}) differs from the target's ({}): they must share a tokenizer", dc.vocab_size,
        tc.vocab_size);
  check(opt.gamma >= 1, "gamma must be >= 1 (got {})", opt.gamma);
  check(opt.max_new >= 0, "max-new-tokens must be >= 0 (got {})", opt.max_new);
  check(!seq.empty(), "the prompt is empty; give at least one token");
  opt.sampling.validate();
  SpecStats st;
  if (opt.max_new == 0) return st;
  const int V = tc.vocab_size;
  const bool greedy = opt.sampling.temperature == 0.0f;
  const int len0 = int(seq.size());
  const int longest = len0 + opt.max_new - 1;  // longest sequence ever fed to a model
  CachedContext tctx(target, 1, std::min(tc.block_size, longest), true, opt.target_gpu);
  CachedContext dctx(draft, 1, std::min(dc.block_size, longest), true, opt.draft_gpu);
  std::vector<std::vector<int32_t>> work(1);
  std::vector<std::vector<float>> q(size_t(opt.gamma));
  std::vector<int32_t> drafts;
  std::vector<float> p, scratch;
  SamplingParams draft_sp = opt.sampling;
  if (opt.method == SpecMethod::Match) draft_sp.temperature = 0.0f;  // the draft proposes greedily
  auto uniform = [&] { return greedy ? 0.0f : rng.uniformf(); };
  const double t_start = now_s();

  while (st.emitted < opt.max_new) {
    const int remaining = opt.max_new - int(st.emitted);
    // Never draft past what is left to emit, nor past the target's block_size (where each
    // verified position would need its own window).
    const int g = std::min({opt.gamma, remaining - 1, tc.block_size - int(seq.size())});
    work[0] = seq;
    if (g <= 0) {
      double t0 = now_s();
      const float* l = tctx.logits(work, 1);
      st.target_s += now_s() - t0;
      ++st.target_calls;
      ++st.plain_steps;
      seq.push_back(sample_token(l, V, opt.sampling, uniform(), scratch));
      ++st.emitted;
      continue;
    }
    // Draft g tokens, one forward each (the first also catches the draft's cache up).
    drafts.clear();
    for (int i = 0; i < g; ++i) {
      double t0 = now_s();
      const float* l = dctx.logits(work, 1);
      st.draft_s += now_s() - t0;
      ++st.draft_calls;
      const float u = draft_sp.temperature == 0.0f ? 0.0f : rng.uniformf();
      const int32_t d = sample_token(l, V, draft_sp, u, q[size_t(i)]);
      if (opt.method == SpecMethod::Match) sampling_distribution(l, V, opt.sampling, q[size_t(i)]);
      drafts.push_back(d);
      work[0].push_back(d);
    }
    // Verify: logits after seq's last token and after each draft, in one target forward.
    double t0 = now_s();
    const float* pl = tctx.logits(work, g + 1);
    st.target_s += now_s() - t0;
    ++st.target_calls;
    st.drafted += g;
    int i = 0;
    for (; i < g; ++i) {
      const float* li = pl + int64_t(i) * V;
      sampling_distribution(li, V, opt.sampling, p);
      double overlap = 0.0;
      for (int v = 0; v < V; ++v) overlap += std::min(p[size_t(v)], q[size_t(i)][size_t(v)]);
      st.alpha_sum += overlap;
      ++st.alpha_count;
      int32_t tok;
      bool ok;
      if (opt.method == SpecMethod::Match) {
        tok = sample_token(li, V, opt.sampling, uniform(), scratch);
        ok = tok == drafts[size_t(i)];
      } else {
        // The resampling draw is taken only on a rejection.
        tok = drafts[size_t(i)];
        ok = accept_draft(p.data(), q[size_t(i)].data(), tok, uniform());
        if (!ok) tok = resample_residual(p.data(), q[size_t(i)].data(), V, uniform());
      }
      seq.push_back(tok);
      ++st.emitted;
      if (!ok) break;
      ++st.accepted;
    }
    if (i == g) {  // every draft accepted: the bonus token comes from the last position
      seq.push_back(sample_token(pl + int64_t(g) * V, V, opt.sampling, uniform(), scratch));
      ++st.emitted;
    }
  }
  st.total_s = now_s() - t_start;
  return st;
}

}  // namespace gpt
